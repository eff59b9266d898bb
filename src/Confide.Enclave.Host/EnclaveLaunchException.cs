namespace Confide.Enclave.Hosting;

/// <summary>Why an enclave did not start.</summary>
public enum EnclaveLaunchError
{
    /// <summary>The enclave process exited before it was ready.</summary>
    ExitedDuringStartup,

    /// <summary>The enclave did not connect and get ready within the start timeout.</summary>
    Timeout,

    /// <summary>The enclave serves or expects a different contract than the host.</summary>
    ContractMismatch,

    /// <summary>The opening handshake failed (wrong token, protocol version, malformed frame).</summary>
    HandshakeFailed,

    /// <summary>The process could not be started at all.</summary>
    ProcessStartFailed,

    /// <summary>The private directory, package copy or socket for the enclave could not be set up.</summary>
    ChannelFailed,
}

/// <summary>An enclave that could not be launched. Package problems are reported as <see cref="EnclavePackageException"/> before any launch.</summary>
public sealed class EnclaveLaunchException(EnclaveLaunchError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public EnclaveLaunchError Error { get; } = error;
}
