namespace Confide.Tee;

/// <summary>Why a TEE operation failed.</summary>
public enum TeeError
{
    /// <summary>The back-end cannot do this at all (e.g. seal keys under configfs-tsm).</summary>
    NotSupported,

    /// <summary>The request is invalid (report data over 64 bytes, SVN above the enclave's own).</summary>
    InvalidRequest,

    /// <summary>The TEE interface is absent or failed (missing device files, I/O errors).</summary>
    DeviceError,

    /// <summary>The TEE returned evidence that does not carry the requested report data.</summary>
    ReportDataMismatch,

    /// <summary>configfs-tsm: another writer changed the request while it was served, repeatedly.</summary>
    Race,

    /// <summary>The TEE returned bytes that are not the expected evidence format.</summary>
    MalformedEvidence,

    /// <summary>The simulated platform's state directory is unusable (permissions, corruption).</summary>
    PlatformState,
}

/// <summary>A TEE operation that failed, with a typed reason.</summary>
public sealed class TeeException(TeeError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public TeeError Error { get; } = error;
}
