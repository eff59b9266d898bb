using System.CommandLine;
using System.Net;
using Confide.Deploy.Gramine;
using Confide.Deploy.Images;
using Confide.Deploy.Ledger;
using Confide.Deploy.Manifests;
using Confide.Deploy.Values;
using Confide.Enclave;
using Confide.Enclave.Manifest;

namespace Confide.Deploy;

/// <summary>
/// <c>confide deploy</c>: <c>manifests</c> (Kubernetes YAML from a values file), <c>image</c> (an OCI
/// image archive of a signed enclave package), <c>cli-image</c> (the Confide CLI image),
/// <c>gramine-manifest</c> (the Gramine manifest template that runs either image on real SGX), and
/// the two helpers the generated pods run: <c>ledger-node</c> and <c>install-file</c>.
/// </summary>
public static class DeployCommand
{
    public static Command Create()
    {
        var command = new Command("deploy", "Container images and Kubernetes manifests for SGX nodes (AKS confcom, Intel's device plugin) or simulation.");
        command.Subcommands.Add(Manifests());
        command.Subcommands.Add(PackageImage());
        command.Subcommands.Add(CliImage());
        command.Subcommands.Add(GramineManifest());
        command.Subcommands.Add(LedgerNode());
        command.Subcommands.Add(InstallFile());
        return command;
    }

    private static Command Manifests()
    {
        var valuesFile = new Option<FileInfo>("--values", "-f") { Description = "The values file (YAML; schema in docs/deploy-aks.md).", Required = true };
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "Folder for the manifests: one YAML file per component (NN-component.yaml).", Required = true };
        var command = new Command("manifests", "Generate Deployments/StatefulSet, Services, ConfigMaps, PersistentVolumeClaims, PodDisruptionBudgets, NetworkPolicies and ServiceAccounts from a values file.") { valuesFile, output };
        command.SetAction((result, _) => Run(() =>
        {
            FileInfo file = result.GetValue(valuesFile)!;
            if (!file.Exists)
            {
                throw new FileNotFoundException($"The values file '{file.FullName}' does not exist.");
            }

            DeployValues values = ValuesReader.Load(file.FullName);
            IReadOnlyList<ComponentManifests> components = ManifestGenerator.Generate(values);
            foreach (string path in ManifestWriter.Write(components, values, result.GetValue(output)!.FullName))
            {
                Console.WriteLine($"wrote {path}");
            }

            foreach (GramineImage image in ManifestGenerator.GramineTemplates(values))
            {
                foreach (OperatorFolder folder in image.OperatorFolders)
                {
                    // Measured, so not mounted: a Secret or ConfigMap the host could swap would decide whom the service trusts.
                    Console.WriteLine($"gramine: before signing the {image.Component} image, copy {string.Join(", ", folder.Files)} from {folder.Source} into gramine/{image.Component}.rootfs{folder.Path}/ (it is measured, not mounted)");
                }
            }

            if (values.Simulation)
            {
                Console.WriteLine("warning: simulation: true: the pods run the simulation TEE on ordinary nodes and are labelled not confidential.");
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    private static Command PackageImage()
    {
        var package = new Argument<DirectoryInfo>("package-dir") { Description = "A signed enclave package folder (enclave.json, enclave.sig, enclave.files)." };
        var common = new ImageOptions(defaultRepository: null);
        var command = new Command("image", $"Build an OCI image archive whose layer is the signed package at {ImageBuilder.PackagePath}, over a Confide CLI image, with the entrypoint 'confide run {ImageBuilder.PackagePath}' and the package's MRENCLAVE/MRSIGNER as labels.") { package };
        common.AddTo(command);
        command.SetAction((result, cancellationToken) => Run(async () =>
        {
            DirectoryInfo directory = result.GetValue(package)!;
            ImageBuildOptions options = common.Read(result, defaultRepository: directory.Name.ToLowerInvariant());
            ImageBuildResult built = await ImageBuilder.BuildPackageImageAsync(directory.FullName, options, common.Log(result), cancellationToken);
            Console.WriteLine($"image archive: {built.ArchivePath}");
            Console.WriteLine($"mrenclave {built.Identity!.MrEnclaveHex}");
            Console.WriteLine($"mrsigner  {built.Identity.MrSignerHex}");
            Summarize(built.ArchivePath);
            return 0;
        }));
        return command;
    }

    private static Command CliImage()
    {
        var project = new Option<FileInfo>("--project") { Description = "The Confide CLI project.", DefaultValueFactory = _ => new FileInfo(Path.Combine("src", "Confide.Cli", "Confide.Cli.csproj")) };
        var common = new ImageOptions(defaultRepository: "confide");
        var command = new Command("cli-image", "Build an OCI image archive of the Confide CLI (every service: attestation, keys, inference, ledger), framework-dependent on an ASP.NET Core runtime base image.") { project };
        common.AddTo(command);
        command.SetAction((result, cancellationToken) => Run(async () =>
        {
            ImageBuildOptions options = common.Read(result, defaultRepository: "confide");
            ImageBuildResult built = await ImageBuilder.BuildCliImageAsync(result.GetValue(project)!.FullName, options, common.Log(result), cancellationToken);
            Console.WriteLine($"image archive: {built.ArchivePath}");
            Summarize(built.ArchivePath);
            return 0;
        }));
        return command;
    }

    private static Command GramineManifest()
    {
        var package = new Option<DirectoryInfo?>("--package") { Description = $"A signed enclave package folder, as 'confide deploy image' puts it at {ImageBuilder.PackagePath}: the manifest runs 'confide run {ImageBuilder.PackagePath} --tee sgx-gramine'." };
        var service = new Option<string?>("--service") { Description = $"A service of the CLI image instead: {string.Join(", ", GramineManifestGenerator.ServiceCommands.Keys)}." };
        var output = new Option<FileInfo>("--output", "-o") { Description = "The template to write (e.g. confide.manifest.template).", Required = true };
        var dotnetRoot = new Option<string>("--dotnet-root") { Description = "Where the base image keeps dotnet.", DefaultValueFactory = _ => new GramineManifestOptions().DotnetRoot };
        var dataDirectory = new Option<string>("--data-dir") { Description = "The data folder volume: the only writable place besides /tmp.", DefaultValueFactory = _ => new GramineManifestOptions().DataDirectory };
        var dataMount = new Option<GramineDataMount?>("--data-mount") { Description = "How the data folder is mounted: encrypted (Gramine's encrypted files keyed to the enclave's signer; the default) or plain (passed through; the default for the ledger, whose files are made for an untrusted host)." };
        var enclaveSize = new Option<string?>("--enclave-size") { Description = "sgx.enclave_size, a power of two (4G, 512M); default: computed from the heap." };
        var maxThreads = new Option<int>("--max-threads") { Description = "sgx.max_threads.", DefaultValueFactory = _ => new GramineManifestOptions().MaxThreads };
        var heapSize = new Option<int?>("--heap-size") { Description = "The GC heap limit in MiB (services only; a package's is its heapSizeMiB)." };
        var debug = new Option<bool>("--debug") { Description = "A debuggable enclave (services only; a package's comes from its enclave.json)." };
        var productId = new Option<ushort?>("--product-id") { Description = "sgx.isvprodid (services only)." };
        var securityVersion = new Option<ushort?>("--security-version") { Description = "sgx.isvsvn (services only)." };
        var edmm = new Option<bool>("--edmm") { Description = "sgx.edmm_enable: add enclave memory on demand (SGX2, Linux 6.0 or later)." };
        var trusted = new Option<string[]>("--trusted") { Description = "A file, or a folder with a trailing slash, to measure as well (it must be in the image when it is signed). Repeatable." };
        var passthrough = new Option<string[]>("--passthrough") { Description = "A file, or a folder with a trailing slash, passed through unauthenticated (the host can change it). Repeatable." };
        var arguments = new Argument<string[]>("args") { Description = "After --: the enclave's arguments (--package) or the service's container args (--service).", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("gramine-manifest", "Write the Gramine manifest template (gramine-manifest, gramine-sgx-sign, gramine-sgx) that runs a package image or a service of the CLI image inside an SGX enclave, as the sgx-gramine TEE needs.")
        {
            package, service, output, dotnetRoot, dataDirectory, dataMount, enclaveSize, maxThreads, heapSize, debug, productId, securityVersion, edmm, trusted, passthrough, arguments,
        };
        command.SetAction((result, cancellationToken) => Run(async () =>
        {
            var options = new GramineManifestOptions
            {
                PackageDirectory = result.GetValue(package)?.FullName,
                Service = result.GetValue(service),
                Arguments = result.GetValue(arguments) ?? [],
                DotnetRoot = result.GetValue(dotnetRoot)!,
                DataDirectory = result.GetValue(dataDirectory)!,
                DataMount = result.GetValue(dataMount),
                EnclaveSize = result.GetValue(enclaveSize),
                MaxThreads = result.GetValue(maxThreads),
                HeapSizeMiB = result.GetValue(heapSize),
                // Only an explicit --debug is a choice; a package refuses any.
                Debug = result.GetResult(debug) is { Implicit: false } ? result.GetValue(debug) : null,
                ProductId = result.GetValue(productId),
                SecurityVersion = result.GetValue(securityVersion),
                EnableEdmm = result.GetValue(edmm),
                TrustedPaths = result.GetValue(trusted) ?? [],
                PassthroughPaths = result.GetValue(passthrough) ?? [],
            };
            GramineManifest manifest = GramineManifestGenerator.Generate(options);
            FileInfo file = result.GetValue(output)!;
            file.Directory?.Create();
            await File.WriteAllTextAsync(file.FullName, manifest.Template, cancellationToken);

            Console.WriteLine($"wrote {file.FullName}");
            Console.WriteLine($"argv {string.Join(' ', manifest.Argv)}");
            Console.WriteLine($"sgx.enclave_size {manifest.EnclaveSize} per process, {manifest.Processes} process{(manifest.Processes > 1 ? "es ('confide run' and the enclave it starts)" : "")}; GC heap limit {manifest.HeapSizeMiB} MiB");
            if (manifest.Package is { } identity)
            {
                Console.WriteLine($"package mrenclave {identity.MrEnclaveHex} (checked by Confide's host; quotes carry Gramine's MRENCLAVE, which gramine-sgx-sign prints)");
            }

            Console.WriteLine("next: gramine-manifest -Darch_libdir=/lib/x86_64-linux-gnu <template> confide.manifest; gramine-sgx-sign --manifest confide.manifest --output confide.manifest.sgx --key <key>; put the printed MRENCLAVE/MRSIGNER in the values (enclave:)");
            return 0;
        }));
        return command;
    }

    private static Command LedgerNode()
    {
        var config = new Option<FileInfo>("--config") { Description = "launcher.json from the ledger StatefulSet's ConfigMap.", Required = true };
        var command = new Command("ledger-node", "Run this StatefulSet pod as its ledger node: ordinal 0 'ledger start', the others 'ledger join' through node 0, every node addressed by its pod's stable DNS name (used by the generated manifests; needs POD_NAME).") { config };
        command.SetAction((result, cancellationToken) => Run(async () =>
        {
            LedgerLauncherSettings settings = LedgerLauncherSettings.FromJson(await File.ReadAllTextAsync(result.GetValue(config)!.FullName, cancellationToken));
            string podName = Environment.GetEnvironmentVariable("POD_NAME") ?? Dns.GetHostName();
            int ordinal = LedgerLauncher.Ordinal(podName, settings.StatefulSet);
            if (ordinal > 0)
            {
                await LedgerLauncher.WaitForFileAsync(settings.ServiceCertificate, TimeSpan.FromSeconds(5), Console.Out, cancellationToken);
            }

            IEnumerable<string> members = settings.MemberCertificateDirectory is { } folder && Directory.Exists(folder)
                ? Directory.GetFiles(folder, "*.pem").Order(StringComparer.Ordinal)
                : [];
            IReadOnlyList<string> args = LedgerLauncher.Arguments(settings, ordinal, members);
            Console.WriteLine($"ledger node {ordinal}: confide {string.Join(' ', args)}");
            Console.Out.Flush();

            // The ledger commands are siblings in this process's own command tree: run them in process.
            Command root = result.RootCommandResult.Command;
            return await root.Parse([.. args]).InvokeAsync(cancellationToken: cancellationToken);
        }));
        return command;
    }

    private static Command InstallFile()
    {
        var from = new Option<FileInfo>("--from") { Description = "The file to copy (e.g. from a Secret volume).", Required = true };
        var to = new Option<FileInfo>("--to") { Description = "Where to put it: its folder is created owner-only (0700), the file is written owner-read/write (0600).", Required = true };
        var command = new Command("install-file", "Copy a file into an owner-only folder (used by the generated init containers to install a shared simulated platform).") { from, to };
        command.SetAction((result, _) => Run(() =>
        {
            FileInfo source = result.GetValue(from)!;
            FileInfo target = result.GetValue(to)!;
            const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            Directory.CreateDirectory(target.DirectoryName!, OwnerOnly);
            File.SetUnixFileMode(target.DirectoryName!, OwnerOnly);
            byte[] content = File.ReadAllBytes(source.FullName);
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
            using (var stream = new FileStream(target.FullName, options))
            {
                stream.Write(content);
            }

            File.SetUnixFileMode(target.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Console.WriteLine($"installed {target.FullName} ({content.Length} bytes)");
            return Task.FromResult(0);
        }));
        return command;
    }

    private static void Summarize(string archivePath)
    {
        OciArchive archive = OciArchive.Open(archivePath);
        Console.WriteLine($"manifest {archive.ManifestDigest}; tags {string.Join(", ", archive.RefNames)}");
        Console.WriteLine($"entrypoint {string.Join(' ', archive.Entrypoint)}; user {archive.User}; workdir {archive.WorkingDirectory}");
        foreach ((string key, string value) in archive.Labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"label {key}={value}");
        }
    }

    private static async Task<int> Run(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is DeployValuesException or ImageBuildException or GramineManifestException or EnclavePackageException or EnclaveManifestException or IOException or UnauthorizedAccessException
            or ArgumentException or InvalidDataException or FormatException or TimeoutException or System.Text.Json.JsonException or System.Security.Cryptography.CryptographicException)
        {
            Console.Error.WriteLine($"confide: {ex.Message}");
            return 1;
        }
    }

    /// <summary>The options both image commands share.</summary>
    private sealed class ImageOptions(string? defaultRepository)
    {
        private readonly Option<string> _baseImage = new("--base-image") { Description = "The base image (registry/repository:tag). For 'image': a Confide CLI image; for 'cli-image': an ASP.NET Core 10 runtime image.", Required = true };
        private readonly Option<FileInfo> _output = new("--output", "-o") { Description = "The OCI image archive to write (an uncompressed tar in OCI image-layout form).", Required = true };
        private readonly Option<string?> _repository = new("--repository") { Description = "The image's repository name" + (defaultRepository is null ? " (default: the package folder's name)." : $" (default: {defaultRepository}).") };
        private readonly Option<string> _tag = new("--tag") { Description = "The image's tag.", DefaultValueFactory = _ => "latest" };
        private readonly Option<string> _user = new("--user") { Description = "The numeric user the image runs as (non-root).", DefaultValueFactory = _ => "1654" };
        private readonly Option<string[]> _labels = new("--label") { Description = "An extra label key=value (repeatable).", AllowMultipleArgumentsPerToken = false };
        private readonly Option<bool> _quiet = new("--quiet", "-q") { Description = "Do not echo dotnet publish's output." };

        public void AddTo(Command command)
        {
            command.Options.Add(_baseImage);
            command.Options.Add(_output);
            command.Options.Add(_repository);
            command.Options.Add(_tag);
            command.Options.Add(_user);
            command.Options.Add(_labels);
            command.Options.Add(_quiet);
        }

        public TextWriter Log(ParseResult result) => result.GetValue(_quiet) ? TextWriter.Null : Console.Out;

        public ImageBuildOptions Read(ParseResult result, string defaultRepository)
        {
            string user = result.GetValue(_user)!;
            if (!uint.TryParse(user, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out uint uid) || uid == 0)
            {
                throw new ArgumentException($"--user '{user}' must be a numeric user id other than 0 (Kubernetes checks runAsNonRoot against a number).");
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string label in result.GetValue(_labels) ?? [])
            {
                int equals = label.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw new ArgumentException($"--label '{label}' must be key=value.");
                }

                labels[label[..equals]] = label[(equals + 1)..];
            }

            return new ImageBuildOptions
            {
                BaseImage = result.GetValue(_baseImage)!,
                ArchivePath = result.GetValue(_output)!.FullName,
                Repository = result.GetValue(_repository) ?? defaultRepository,
                Tag = result.GetValue(_tag)!,
                User = user,
                Labels = labels,
            };
        }
    }
}
