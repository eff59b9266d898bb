using System.Diagnostics;
using System.Runtime.InteropServices;
using Confide.Enclave.Manifest;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Enclave.Hosting;

/// <summary>
/// The enclave's operating-system process: started with a clean environment (only variables the
/// manifest allows, plus the runtime's own), its output relayed line by line, the tail of its
/// error output kept for launch diagnostics.
/// </summary>
internal sealed class EnclaveProcess : IDisposable
{
    /// <summary>Variables through which the host tells the in-enclave runtime how it was launched.</summary>
    internal const string ChannelVariable = "CONFIDE_CHANNEL";
    internal const string TokenVariable = "CONFIDE_CHANNEL_TOKEN";

    private const int StderrTailLines = 20;

    private readonly Process _process;
    private readonly Queue<string> _stderrTail = new();
    private readonly Lock _tailLock = new();

    private EnclaveProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public Task ExitedTask { get; private set; } = Task.CompletedTask;

    public string StderrTail
    {
        get
        {
            lock (_tailLock)
            {
                return string.Join(System.Environment.NewLine, _stderrTail);
            }
        }
    }

    public static EnclaveProcess Start(EnclavePackage package, EnclaveHostOptions options, string channelPath, string token)
    {
        var startInfo = new ProcessStartInfo(ResolveDotNet(options.DotNetPath))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            WorkingDirectory = package.Directory,
        };
        startInfo.ArgumentList.Add("exec");
        startInfo.ArgumentList.Add(package.EntryAssemblyPath);
        foreach (string argument in options.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment.Clear();
        foreach (string name in package.Manifest.Environment)
        {
            string? value = options.Environment.TryGetValue(name, out string? explicitValue) ? explicitValue : System.Environment.GetEnvironmentVariable(name);
            if (value is not null)
            {
                startInfo.Environment[name] = value;
            }
        }

        if (new TeeOptions { Backend = options.Tee }.Resolve() == TeeBackend.SgxGramine)
        {
            // This host runs inside Gramine too (the package image's manifest): these come from that
            // measured manifest, and the enclave, another Gramine process, needs them to load.
            foreach (string name in EnclaveEnvironment.GramineVariables)
            {
                if (System.Environment.GetEnvironmentVariable(name) is { } value)
                {
                    startInfo.Environment[name] = value;
                }
            }
        }

        startInfo.Environment[ChannelVariable] = channelPath;
        startInfo.Environment[TokenVariable] = token;
        startInfo.Environment[TeeOptions.BackendVariable] = TeeOptions.FormatBackend(options.Tee);
        startInfo.Environment[SimulatedPlatform.StateDirectoryVariable] = options.SimulationStateDirectory ?? SimulatedPlatform.DefaultStateDirectory;
        // heapSizeMiB is measured; the GC's hard limit is what makes it a limit.
        startInfo.Environment[EnclaveEnvironment.HeapLimitVariable] = EnclaveEnvironment.HeapLimitValue(package.Manifest.HeapSizeMiB);
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var enclave = new EnclaveProcess(process);
        TextWriter stdout = options.StandardOutput ?? Console.Out;
        TextWriter stderr = options.StandardError ?? Console.Error;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout)
                {
                    stdout.WriteLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            enclave.KeepTail(e.Data);
            lock (stderr)
            {
                stderr.WriteLine(e.Data);
            }
        };

        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            process.Dispose();
            throw new EnclaveLaunchException(EnclaveLaunchError.ProcessStartFailed, $"Cannot start '{startInfo.FileName}': {ex.Message}", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        enclave.ExitedTask = process.WaitForExitAsync();
        return enclave;
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    public void Dispose() => _process.Dispose();

    private void KeepTail(string line)
    {
        lock (_tailLock)
        {
            _stderrTail.Enqueue(line);
            while (_stderrTail.Count > StderrTailLines)
            {
                _stderrTail.Dequeue();
            }
        }
    }

    /// <summary>The <c>dotnet</c> host that runs this process's runtime (shared/Microsoft.NETCore.App/x.y.z → ../../..).</summary>
    private static string ResolveDotNet(string? configured)
    {
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        string? fromEnvironment = System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromEnvironment) && File.Exists(fromEnvironment))
        {
            return fromEnvironment;
        }

        string candidate = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        return File.Exists(candidate) ? candidate : "dotnet";
    }
}
