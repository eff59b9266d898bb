using System.Diagnostics;
using Confide.Enclave;

namespace Confide.Integration.Tests;

/// <summary>
/// The sample as a user builds it: 'dotnet publish' from two separate copies of the source must
/// give the same MRENCLAVE, and the published folder must be a package 'confide sign' and
/// 'confide run' accept.
/// </summary>
public sealed class SamplePublishTests(EnclaveFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Publishing_the_sample_from_two_source_copies_gives_the_same_mrenclave_and_a_runnable_package()
    {
        string repository = FindRepositoryRoot();
        List<string> copies = [];
        try
        {
            // Both at once: two independent builds, and the slowest test of the suite otherwise.
            copies.Add(CopyRepository(repository));
            copies.Add(CopyRepository(repository));
            string[] published = await Task.WhenAll(copies.Select(PublishAsync));
            (string first, string second) = (published[0], published[1]);

            Assert.Equal(EnclavePackage.ComputeMrEnclave(first), EnclavePackage.ComputeMrEnclave(second));

            EnclavePackageIdentity identity = EnclavePackage.Sign(first, fixture.SigningKey);
            (int exit, string output) = await RunAsync("dotnet", Path.Combine(EnclaveFixture.CliDirectory, "confide.dll"), "run", first, "--", "--self-test");
            Assert.True(exit == 0, output);
            Assert.Contains($"mrenclave {identity.MrEnclaveHex}", output, StringComparison.Ordinal);
            Assert.Contains("sealed and unsealed: True", output, StringComparison.Ordinal);
        }
        finally
        {
            // Each copy holds the sources and a Release build: tens of MiB per run.
            foreach (string copy in copies)
            {
                Directory.Delete(copy, recursive: true);
            }
        }
    }

    /// <summary>Copies what the sample's build needs to a fresh directory.</summary>
    private static string CopyRepository(string repository)
    {
        string copy = Directory.CreateTempSubdirectory("confide-src-").FullName;
        foreach (string file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig" })
        {
            File.Copy(Path.Combine(repository, file), Path.Combine(copy, file));
        }

        CopySources(Path.Combine(repository, "src"), Path.Combine(copy, "src"));
        CopySources(Path.Combine(repository, "samples"), Path.Combine(copy, "samples"));
        CopySources(Path.Combine(repository, "build"), Path.Combine(copy, "build"));
        return copy;
    }

    /// <summary>Publishes the sample in a copy made by <see cref="CopyRepository"/>.</summary>
    private static async Task<string> PublishAsync(string copy)
    {
        string output = Path.Combine(copy, "out");
        (int exit, string log) = await RunAsync("dotnet", "publish", Path.Combine(copy, "samples", "HelloEnclave", "HelloEnclave.Enclave"), "-c", "Release", "-o", output, "--nologo");
        Assert.True(exit == 0, log);
        return output;
    }

    private static void CopySources(string source, string destination)
    {
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(source, file);
            string[] segments = relative.Split(Path.DirectorySeparatorChar);
            if (segments.Contains("bin") || segments.Contains("obj"))
            {
                continue;
            }

            string target = Path.Combine(destination, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Confide.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Confide.slnx) was not found above the test binaries.");
    }

    private static async Task<(int Exit, string Output)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["CONFIDE_SIMULATION_DIR"] = Path.Combine(Path.GetTempPath(), "confide-publish-test-" + Environment.ProcessId);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(Ct);
        Task<string> error = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        return (process.ExitCode, await output + await error);
    }
}
