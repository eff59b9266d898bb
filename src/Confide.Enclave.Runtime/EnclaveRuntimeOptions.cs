using Confide.Enclave.Calls;
using Confide.Tee;

namespace Confide.Enclave.Runtime;

/// <summary>How the in-enclave runtime starts.</summary>
public sealed class EnclaveRuntimeOptions
{
    /// <summary>The enclave's own package folder; default: where the entry assembly is.</summary>
    public string PackageDirectory { get; set; } = AppContext.BaseDirectory;

    /// <summary>The TEE back-end; default from <c>CONFIDE_TEE</c> (set by the host), else auto-detection.</summary>
    public TeeOptions Tee { get; set; } = new()
    {
        Backend = TeeOptions.ParseBackend(Environment.GetEnvironmentVariable(TeeOptions.BackendVariable)),
    };

    /// <summary>Limits for the enclave side of the channel. The enclave trusts nothing the host sends.</summary>
    public EnclaveCallOptions Calls { get; set; } = new();
}
