using System.Diagnostics;
using System.Reflection;

namespace Confide.Inference.Tests.Support;

/// <summary>The <c>confide</c> command as separate processes (all killed on dispose), on a given simulated platform.</summary>
internal sealed class CliProcesses : IDisposable
{
    public static readonly string CliDirectory =
        typeof(CliProcesses).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ConfideCliDirectory").Value!;

    private readonly List<Process> _processes = [];

    public Process Start(string simulation, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(CliDirectory, "confide.dll"));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["CONFIDE_SIMULATION_DIR"] = simulation;
        Process process = Process.Start(start)!;
        _processes.Add(process);
        return process;
    }

    public async Task<(int Exit, string Output, string Error)> RunAsync(string simulation, CancellationToken cancellationToken, params string[] arguments)
    {
        Process process = Start(simulation, arguments);
        Task<string> output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    public void Dispose()
    {
        foreach (Process process in _processes)
        {
            try
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }
    }
}
