using Confide.Enclave;
using Confide.Enclave.Hosting;

namespace Confide.Integration.Tests;

/// <summary>What the host refuses to launch, and how launch failures are reported.</summary>
public sealed class EnclaveLaunchTests(EnclaveFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_launch_removes_the_private_directories_of_hosts_that_were_killed_and_nothing_else()
    {
        const int DeadPid = 4_194_303; // above any pid this machine hands out (pid_max), so never running
        string temp = Path.GetTempPath();
        string Make(string name, UnixFileMode mode)
        {
            string path = Path.Combine(temp, name);
            Directory.CreateDirectory(Path.Combine(path, "package"));
            File.WriteAllText(Path.Combine(path, "package", "App.dll"), "copy");
            File.SetUnixFileMode(path, mode);
            return path;
        }

        string suffix = Guid.NewGuid().ToString("N")[..8];
        string abandoned = Make($"confide-host-{DeadPid}-{suffix}", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string live = Make($"confide-host-{Environment.ProcessId}-{suffix}", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string shared = Make($"confide-host-{DeadPid}-x{suffix}", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        string other = Make($"confide-hostile-{DeadPid}-{suffix}", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            await using (EnclaveHost<ITestEnclave> enclave = await fixture.LaunchAsync())
            {
                Assert.False(Directory.Exists(abandoned), "the directory of a host that no longer runs is left");
            }

            Assert.True(Directory.Exists(live), "a running host's directory was removed");
            Assert.True(Directory.Exists(shared), "a directory readable by others is not one a host made");
            Assert.True(Directory.Exists(other), "a directory of another name was removed");
        }
        finally
        {
            foreach (string path in new[] { abandoned, live, shared, other }.Where(Directory.Exists))
            {
                Directory.Delete(path, recursive: true);
            }
        }
    }

    [Fact]
    public async Task A_changed_trusted_file_is_refused_before_launch_and_named()
    {
        string package = fixture.CreatePackage();
        await File.AppendAllTextAsync(Path.Combine(package, "Confide.Tee.dll"), "x", Ct);

        var error = await Assert.ThrowsAsync<EnclavePackageException>(() => fixture.LaunchAsync(package));
        Assert.Equal(PackageProblemKind.ChangedFile, error.Kind);
        Assert.Equal("Confide.Tee.dll", error.Path);
    }

    [Fact]
    public async Task A_missing_trusted_file_is_refused_and_named()
    {
        string package = fixture.CreatePackage();
        File.Delete(Path.Combine(package, "Confide.Enclave.Calls.dll"));

        var error = await Assert.ThrowsAsync<EnclavePackageException>(() => fixture.LaunchAsync(package));
        Assert.Equal(PackageProblemKind.MissingFile, error.Kind);
        Assert.Equal("Confide.Enclave.Calls.dll", error.Path);
    }

    [Fact]
    public async Task An_extra_assembly_in_the_package_is_refused_and_named()
    {
        string package = fixture.CreatePackage();
        File.Copy(Path.Combine(package, "Confide.Tee.dll"), Path.Combine(package, "Evil.dll"));

        var error = await Assert.ThrowsAsync<EnclavePackageException>(() => fixture.LaunchAsync(package));
        Assert.Equal(PackageProblemKind.ExtraFile, error.Kind);
        Assert.Equal("Evil.dll", error.Path);
    }

    [Fact]
    public async Task An_edited_manifest_no_longer_matches_the_signature()
    {
        string package = fixture.CreatePackage();
        string manifest = Path.Combine(package, "enclave.json");
        await File.WriteAllTextAsync(manifest, (await File.ReadAllTextAsync(manifest, Ct)).Replace("\"debug\": false", "\"debug\": true", StringComparison.Ordinal), Ct);

        var error = await Assert.ThrowsAsync<EnclavePackageException>(() => fixture.LaunchAsync(package));
        Assert.Equal(PackageProblemKind.MeasurementMismatch, error.Kind);
    }

    [Fact]
    public async Task A_host_with_another_contract_is_refused_by_the_handshake()
    {
        string package = fixture.CreatePackage();
        var error = await Assert.ThrowsAsync<EnclaveLaunchException>(() =>
            EnclaveHost.LaunchAsync<IOtherEnclave>(package, fixture.Options(), Ct));
        Assert.Equal(EnclaveLaunchError.ContractMismatch, error.Error);

        EnclaveHostOptions noOcalls = fixture.Options();
        var noOcallsOptions = new EnclaveHostOptions { SimulationStateDirectory = fixture.StateDirectory, StandardError = TextWriter.Null, StandardOutput = TextWriter.Null };
        var missing = await Assert.ThrowsAsync<EnclaveLaunchException>(() =>
            EnclaveHost.LaunchAsync<ITestEnclave>(package, noOcallsOptions, Ct));
        Assert.Equal(EnclaveLaunchError.ContractMismatch, missing.Error);
        Assert.Contains("ocalls", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_enclave_that_exits_during_startup_is_reported_with_its_exit_code_and_error_output()
    {
        var error = await Assert.ThrowsAsync<EnclaveLaunchException>(() =>
            fixture.LaunchAsync(options: fixture.Options(null, "--exit-immediately", "5")));
        Assert.Equal(EnclaveLaunchError.ExitedDuringStartup, error.Error);
        Assert.Contains("code 5", error.Message, StringComparison.Ordinal);
        Assert.Contains("exiting before connecting", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_enclave_that_never_connects_times_out_and_is_killed()
    {
        EnclaveHostOptions options = fixture.Options(null, "--hang");
        options.StartTimeout = TimeSpan.FromSeconds(3);
        var error = await Assert.ThrowsAsync<EnclaveLaunchException>(() => fixture.LaunchAsync(options: options));
        Assert.Equal(EnclaveLaunchError.Timeout, error.Error);
    }

    [Fact]
    public async Task An_application_enclave_runs_to_completion_and_its_exit_code_is_returned()
    {
        await using EnclaveHost enclave = await EnclaveHost.LaunchAsync(fixture.CreatePackage(), fixture.Options(null, "--app", "7"), Ct);
        Assert.Equal(7, await enclave.WaitForExitAsync(Ct));
    }

    [Fact]
    public async Task The_enclave_runs_from_a_private_verified_copy_of_its_package()
    {
        string package = fixture.CreatePackage();
        await using EnclaveHost<ITestEnclave> enclave = await fixture.LaunchAsync(package);

        Assert.NotEqual(Path.GetFullPath(package), enclave.Package.Directory);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(enclave.Package.Directory)!));
        // Changing the original now cannot reach the running enclave's files.
        await File.AppendAllTextAsync(Path.Combine(package, "Confide.Tee.dll"), "x", Ct);
        Assert.Equal(5, await enclave.Calls.AddAsync(2, 3));
        EnclavePackage.Open(enclave.Package.Directory);
    }

    [Fact]
    public async Task An_enclave_started_with_a_startup_hook_refuses_to_run_even_without_enclave_host()
    {
        (int exit, string error) = await RunWithoutHostAsync(new()
        {
            ["CONFIDE_TEE"] = "simulation",
            ["CONFIDE_SIMULATION_DIR"] = fixture.StateDirectory,
            ["LD_BIND_NOW"] = "1",
        });

        Assert.NotEqual(0, exit);
        Assert.Contains("refuses to start", error, StringComparison.Ordinal);
        Assert.Contains("LD_BIND_NOW", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_that_names_gramine_outside_gramine_gets_no_exception_for_gramines_loader_variables()
    {
        // Under Gramine the enclave keeps LD_LIBRARY_PATH (set by the measured manifest). Here there
        // is no /dev/attestation: naming the back-end must not be enough to get the exception.
        (int exit, string error) = await RunWithoutHostAsync(new()
        {
            ["CONFIDE_TEE"] = "sgx-gramine",
            ["LD_LIBRARY_PATH"] = "/tmp/confide-not-a-library-folder",
        });

        Assert.NotEqual(0, exit);
        Assert.Contains("refuses to start", error, StringComparison.Ordinal);
        Assert.Contains("LD_LIBRARY_PATH", error, StringComparison.Ordinal);
    }

    /// <summary>Starts the test enclave as an application with <c>dotnet exec</c>, as a hostile host could, with these variables added.</summary>
    private async Task<(int Exit, string Error)> RunWithoutHostAsync(Dictionary<string, string> environment)
    {
        string package = fixture.CreatePackage();
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(package, "Confide.TestEnclave.dll"));
        start.ArgumentList.Add("--app");
        start.ArgumentList.Add("0");
        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync(Ct);
        await process.StandardOutput.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        return (process.ExitCode, await error);
    }
}
