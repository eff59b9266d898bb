namespace Confide.Enclave.Calls.Protocol;

/// <summary>The kinds of frame on a host-enclave channel.</summary>
internal enum FrameKind : byte
{
    /// <summary>Enclave → host, first frame: protocol version and the launch token.</summary>
    Hello = 1,

    /// <summary>Enclave → host: the enclave serves its contract; carries both contracts' fingerprints.</summary>
    Ready = 2,

    /// <summary>A call (ecall or ocall) with its encoded arguments.</summary>
    Call = 3,

    /// <summary>The encoded result of a call.</summary>
    Result = 4,

    /// <summary>A call that failed: error code, exception type name, message.</summary>
    Error = 5,

    /// <summary>The caller no longer wants the result of a call.</summary>
    Cancel = 6,
}
