using Confide.Enclave.Calls;
using Confide.Tee;

namespace Confide.Enclave.Hosting;

/// <summary>How a host launches an enclave and what it offers it.</summary>
public sealed class EnclaveHostOptions
{
    /// <summary>The TEE back-end the enclave uses. Default: simulation, which works on any machine.</summary>
    public TeeBackend Tee { get; set; } = TeeBackend.Simulation;

    /// <summary>State directory of the simulated platform; default <c>SimulatedPlatform.DefaultStateDirectory</c>.</summary>
    public string? SimulationStateDirectory { get; set; }

    /// <summary>Command-line arguments for the enclave's entry point.</summary>
    public IList<string> Arguments { get; } = new List<string>();

    /// <summary>
    /// Values for the environment variables the manifest allows. Variables the manifest does not
    /// list are never passed; allowed ones not set here are taken from the host's environment.
    /// </summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Limits for the host side of the channel.</summary>
    public EnclaveCallOptions Calls { get; set; } = new();

    /// <summary>How long the enclave may take to start and connect. Default 30 s.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a disposed host waits for the enclave to exit before killing it. Default 5 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Where the enclave's standard output goes (default: this process's).</summary>
    public TextWriter? StandardOutput { get; set; }

    /// <summary>Where the enclave's standard error goes (default: this process's).</summary>
    public TextWriter? StandardError { get; set; }

    /// <summary>The <c>dotnet</c> executable; default: the one running this process.</summary>
    public string? DotNetPath { get; set; }

    internal Type? OcallContract { get; private set; }

    internal object? OcallImplementation { get; private set; }

    /// <summary>Offers <paramref name="implementation"/> to the enclave as its ocalls (the EDL <c>untrusted</c> block).</summary>
    public EnclaveHostOptions WithOcalls<TOcalls>(TOcalls implementation)
        where TOcalls : class
    {
        ArgumentNullException.ThrowIfNull(implementation);
        OcallContract = typeof(TOcalls);
        OcallImplementation = implementation;
        return this;
    }
}
