using System.Diagnostics;

namespace Confide.Integration.Tests;

/// <summary>Runs the confide command as a user does: a separate process, its exit code and output.</summary>
internal static class ConfideProcess
{
    public static async Task<(int Exit, string Output, string Error)> RunAsync(string simulationStateDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(EnclaveFixture.CliDirectory, "confide.dll"));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["CONFIDE_SIMULATION_DIR"] = simulationStateDirectory;
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await output, await error);
    }
}
