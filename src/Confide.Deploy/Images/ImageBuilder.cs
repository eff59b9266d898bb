using System.Diagnostics;
using System.Security;
using System.Text;
using Confide.Enclave;

namespace Confide.Deploy.Images;

/// <summary>How an image archive is built (<c>dotnet publish -t:PublishContainer</c> with <c>ContainerArchiveOutputPath</c>).</summary>
public sealed class ImageBuildOptions
{
    /// <summary>The base image, pulled from its registry (plain http is accepted for localhost).</summary>
    public required string BaseImage { get; init; }

    /// <summary>The OCI image-layout tar to write (uncompressed, whatever its extension).</summary>
    public required string ArchivePath { get; init; }

    public string Repository { get; init; } = "confide";

    public string Tag { get; init; } = "latest";

    /// <summary>The user the image runs as; numeric so that Kubernetes can check runAsNonRoot.</summary>
    public string User { get; init; } = "1654";

    public IDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public string RuntimeIdentifier { get; init; } = "linux-x64";

    /// <summary>Where the generated project and publish output go; default a new temporary folder, deleted afterwards.</summary>
    public string? WorkDirectory { get; init; }

    public string DotnetPath { get; init; } = "dotnet";

    /// <summary>Extra environment for the dotnet process (e.g. DOTNET_CONTAINER_INSECURE_REGISTRIES).</summary>
    public IDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>An image archive that was written, and the enclave identity it carries (if any).</summary>
public sealed record ImageBuildResult(string ArchivePath, EnclavePackageIdentity? Identity);

/// <summary>A failed <c>dotnet publish</c>; the message ends with its last output lines.</summary>
public sealed class ImageBuildException(string message) : Exception(message);

/// <summary>
/// Builds OCI image archives with the .NET SDK's container support, without a container daemon:
/// the Confide CLI (which hosts every service), and a signed enclave package on top of a CLI image
/// with the entrypoint <c>dotnet /app/confide.dll run /enclave</c>. Images run as a numeric
/// non-root user, have nothing to write under their root file system, and carry the package's
/// MRENCLAVE and MRSIGNER as labels.
/// </summary>
public static class ImageBuilder
{
    public const string MrEnclaveLabel = "dev.confide.enclave.mrenclave";
    public const string MrSignerLabel = "dev.confide.enclave.mrsigner";
    public const string ProductIdLabel = "dev.confide.enclave.product-id";
    public const string SecurityVersionLabel = "dev.confide.enclave.security-version";
    public const string DebugLabel = "dev.confide.enclave.debug";
    public const string ContentLabel = "dev.confide.content";

    /// <summary>Where a package image puts the package; also its working directory.</summary>
    public const string PackagePath = "/enclave";

    /// <summary>The entrypoint of a package image: the CLI of the base image verifies and runs the package.</summary>
    public static readonly IReadOnlyList<string> PackageEntrypoint = ["dotnet", "/app/confide.dll", "run", PackagePath];

    /// <summary>
    /// Builds an image whose only layer over <see cref="ImageBuildOptions.BaseImage"/> (a Confide CLI
    /// image) is the signed package at <see cref="PackagePath"/>. The package is verified first
    /// (signature, measurement, exact file set): an image of a package that would not launch is refused.
    /// </summary>
    public static async Task<ImageBuildResult> BuildPackageImageAsync(string packageDirectory, ImageBuildOptions options, TextWriter log, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        string package = Path.GetFullPath(packageDirectory);
        EnclavePackageIdentity identity = EnclavePackage.Open(package).Identity;
        var labels = new Dictionary<string, string>(options.Labels, StringComparer.Ordinal)
        {
            [ContentLabel] = "enclave-package",
            [MrEnclaveLabel] = identity.MrEnclaveHex,
            [MrSignerLabel] = identity.MrSignerHex,
            [ProductIdLabel] = identity.ProductId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [SecurityVersionLabel] = identity.SecurityVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [DebugLabel] = identity.Debug ? "true" : "false",
        };

        string work = options.WorkDirectory ?? Directory.CreateTempSubdirectory("confide-image-").FullName;
        try
        {
            Directory.CreateDirectory(work);
            string project = Path.Combine(work, "EnclavePackageImage.csproj");
            await File.WriteAllTextAsync(project, PackageProject(package, labels), cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(work, "Placeholder.cs"), "internal static class Placeholder { }\n", cancellationToken);
            // The project lives outside any repository: keep a parent's Directory.Build.* and NuGet settings out.
            await File.WriteAllTextAsync(Path.Combine(work, "Directory.Build.props"), "<Project />\n", cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(work, "Directory.Build.targets"), "<Project />\n", cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(work, "Directory.Packages.props"), "<Project />\n", cancellationToken);
            await PublishAsync(project, Path.Combine(work, "publish"), options, extraProperties: [], log, cancellationToken);
            return new ImageBuildResult(Path.GetFullPath(options.ArchivePath), identity);
        }
        finally
        {
            if (options.WorkDirectory is null)
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    /// <summary>
    /// Builds the Confide CLI image from <paramref name="cliProject"/> (src/Confide.Cli): framework-dependent
    /// (enclave packages run under the image's <c>dotnet</c>), so the base image must hold the ASP.NET
    /// Core runtime of the same major version (mcr.microsoft.com/dotnet/aspnet:10.0 or a copy of it).
    /// </summary>
    public static async Task<ImageBuildResult> BuildCliImageAsync(string cliProject, ImageBuildOptions options, TextWriter log, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        string work = options.WorkDirectory ?? Directory.CreateTempSubdirectory("confide-image-").FullName;
        try
        {
            Directory.CreateDirectory(work);
            var labels = new Dictionary<string, string>(options.Labels, StringComparer.Ordinal) { [ContentLabel] = "confide-cli" };
            string targets = Path.Combine(work, "confide-image.targets");
            await File.WriteAllTextAsync(targets, CliTargets(labels), cancellationToken);
            await PublishAsync(Path.GetFullPath(cliProject), Path.Combine(work, "publish"), options, [$"CustomAfterMicrosoftCommonTargets={targets}", "SelfContained=false"], log, cancellationToken);
            return new ImageBuildResult(Path.GetFullPath(options.ArchivePath), null);
        }
        finally
        {
            if (options.WorkDirectory is null)
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    /// <summary>The <c>dotnet publish</c> arguments for <paramref name="project"/> (also what the commands print with --dry-run).</summary>
    public static IReadOnlyList<string> PublishArguments(string project, string publishDirectory, ImageBuildOptions options, IEnumerable<string> extraProperties)
    {
        ArgumentNullException.ThrowIfNull(options);
        var args = new List<string>
        {
            "publish", project, "-c", "Release", "-r", options.RuntimeIdentifier, "-t:PublishContainer", "-nologo",
            $"-p:PublishDir={WithSlash(publishDirectory)}",
            $"-p:ContainerBaseImage={options.BaseImage}",
            $"-p:ContainerArchiveOutputPath={Path.GetFullPath(options.ArchivePath)}",
            $"-p:ContainerRepository={options.Repository}",
            $"-p:ContainerImageTag={options.Tag}",
            $"-p:ContainerUser={options.User}",
            "-p:ContainerImageFormat=OCI",
            "-p:EnableSdkContainerSupport=true",
        };
        args.AddRange(extraProperties.Select(p => $"-p:{p}"));
        return args;
    }

    private static async Task PublishAsync(string project, string publishDirectory, ImageBuildOptions options, IEnumerable<string> extraProperties, TextWriter log, CancellationToken cancellationToken)
    {
        string? archiveDirectory = Path.GetDirectoryName(Path.GetFullPath(options.ArchivePath));
        if (archiveDirectory is not null)
        {
            Directory.CreateDirectory(archiveDirectory);
        }

        var start = new ProcessStartInfo(options.DotnetPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in PublishArguments(project, publishDirectory, options, extraProperties))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach ((string name, string value) in options.Environment)
        {
            start.Environment[name] = value;
        }

        var tail = new Queue<string>();
        void Line(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (tail)
            {
                log.WriteLine(line);
                tail.Enqueue(line);
                if (tail.Count > 30)
                {
                    tail.Dequeue();
                }
            }
        }

        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        if (process.ExitCode != 0 || !File.Exists(options.ArchivePath))
        {
            string lines;
            lock (tail)
            {
                lines = string.Join(System.Environment.NewLine, tail);
            }

            throw new ImageBuildException($"dotnet publish -t:PublishContainer failed (exit code {process.ExitCode}){(File.Exists(options.ArchivePath) ? "" : ", no archive written")}:{System.Environment.NewLine}{lines}");
        }
    }

    private static string PackageProject(string packageDirectory, IDictionary<string, string> labels)
    {
        var text = new StringBuilder();
        text.AppendLine("""<Project Sdk="Microsoft.NET.Sdk">""");
        text.AppendLine("  <!-- Generated by 'confide deploy image': an image whose layer is exactly the signed enclave package. -->");
        text.AppendLine("  <PropertyGroup>");
        text.AppendLine("    <TargetFramework>net10.0</TargetFramework>");
        text.AppendLine("    <OutputType>Library</OutputType>");
        text.AppendLine("    <IsPublishable>true</IsPublishable>");
        text.AppendLine("    <EnableDefaultItems>false</EnableDefaultItems>");
        text.AppendLine("    <CopyBuildOutputToPublishDirectory>false</CopyBuildOutputToPublishDirectory>");
        text.AppendLine("    <CopyOutputSymbolsToPublishDirectory>false</CopyOutputSymbolsToPublishDirectory>");
        text.AppendLine("    <GenerateDependencyFile>false</GenerateDependencyFile>");
        text.AppendLine("    <GenerateRuntimeConfigurationFiles>false</GenerateRuntimeConfigurationFiles>");
        text.AppendLine("    <SelfContained>false</SelfContained>");
        text.AppendLine($"    <ContainerWorkingDirectory>{PackagePath}/</ContainerWorkingDirectory>");
        text.AppendLine("    <ContainerAppCommandInstruction>Entrypoint</ContainerAppCommandInstruction>");
        text.AppendLine($"    <EnclavePackageDirectory>{Escape(WithSlash(packageDirectory))}</EnclavePackageDirectory>");
        text.AppendLine("  </PropertyGroup>");
        text.AppendLine("  <ItemGroup>");
        text.AppendLine("    <Compile Include=\"Placeholder.cs\" />");
        foreach (string part in PackageEntrypoint)
        {
            text.AppendLine($"    <ContainerAppCommand Include=\"{Escape(part)}\" />");
        }

        text.AppendLine("  </ItemGroup>");
        AppendLabels(text, labels, "true");
        text.AppendLine("  <!-- The published folder is the package, file for file: nothing of this project's own build output. -->");
        text.AppendLine("  <Target Name=\"_UseEnclavePackageAsPublishOutput\" AfterTargets=\"ComputeResolvedFilesToPublishList\">");
        text.AppendLine("    <ItemGroup>");
        text.AppendLine("      <ResolvedFileToPublish Remove=\"@(ResolvedFileToPublish)\" />");
        text.AppendLine("      <_EnclavePackageFile Include=\"$(EnclavePackageDirectory)**\" />");
        text.AppendLine("      <ResolvedFileToPublish Include=\"@(_EnclavePackageFile)\" RelativePath=\"%(_EnclavePackageFile.RecursiveDir)%(_EnclavePackageFile.Filename)%(_EnclavePackageFile.Extension)\" CopyToPublishDirectory=\"Always\" />");
        text.AppendLine("    </ItemGroup>");
        text.AppendLine("  </Target>");
        text.AppendLine("</Project>");
        return text.ToString();
    }

    private static string CliTargets(IDictionary<string, string> labels)
    {
        var text = new StringBuilder();
        text.AppendLine("<Project>");
        text.AppendLine("  <!-- Generated by 'confide deploy cli-image': labels of the Confide CLI image. -->");
        AppendLabels(text, labels, "'$(MSBuildProjectName)' == 'Confide.Cli'");
        text.AppendLine("</Project>");
        return text.ToString();
    }

    /// <summary>
    /// The labels, added after the SDK computes its own (ComputeContainerConfig), so that a label given
    /// here replaces a generated one of the same key (org.opencontainers.image.version, say).
    /// </summary>
    private static void AppendLabels(StringBuilder text, IDictionary<string, string> labels, string condition)
    {
        text.AppendLine($"  <Target Name=\"_ConfideContainerLabels\" AfterTargets=\"ComputeContainerConfig\" Condition=\"{SecurityElement.Escape(condition)}\">");
        text.AppendLine("    <ItemGroup>");
        foreach ((string key, string value) in labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            text.AppendLine($"      <ContainerLabel Remove=\"{Escape(key)}\" />");
            text.AppendLine($"      <ContainerLabel Include=\"{Escape(key)}\" Value=\"{Escape(value)}\" />");
        }

        text.AppendLine("    </ItemGroup>");
        text.AppendLine("  </Target>");
    }

    private static string WithSlash(string directory) => Path.EndsInDirectorySeparator(directory) ? directory : directory + Path.DirectorySeparatorChar;

    /// <summary>XML-escaped, and MSBuild's special characters (% $ @ ; ' *  ?) escaped so that values are taken literally.</summary>
    private static string Escape(string value)
    {
        var builder = new StringBuilder();
        foreach (char c in value)
        {
            builder.Append(c is '%' or '$' or '@' or ';' or '\'' or '*' or '?' ? $"%{(int)c:X2}" : c.ToString());
        }

        return SecurityElement.Escape(builder.ToString());
    }
}
