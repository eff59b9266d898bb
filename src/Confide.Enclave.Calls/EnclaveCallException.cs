namespace Confide.Enclave.Calls;

/// <summary>Why a call across the enclave boundary failed.</summary>
public enum EnclaveCallError : ushort
{
    /// <summary>The callee threw; <see cref="EnclaveCallException.RemoteExceptionType"/> names what.</summary>
    Faulted = 1,

    /// <summary>The method is not part of the callee's declared contract.</summary>
    UnknownCall = 2,

    /// <summary>The message could not be decoded (wrong framing, bad argument encoding).</summary>
    MalformedMessage = 3,

    /// <summary>The message exceeds the configured maximum size.</summary>
    MessageTooLarge = 4,

    /// <summary>The callee already runs the maximum number of concurrent calls.</summary>
    TooManyConcurrentCalls = 5,

    /// <summary>The call was cancelled by its caller.</summary>
    Cancelled = 6,

    /// <summary>The channel closed (the other side exited, crashed or hung up) before the call completed.</summary>
    ChannelClosed = 7,

    /// <summary>The two sides were built against different contracts.</summary>
    ContractMismatch = 8,
}

/// <summary>
/// A call across the host-enclave boundary that did not return normally. The callee's exception
/// crosses as its type name and message only: never a stack trace, and never an object.
/// </summary>
public class EnclaveCallException : Exception
{
    public EnclaveCallException(EnclaveCallError error, string message, string? remoteExceptionType = null, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        RemoteExceptionType = remoteExceptionType;
    }

    public EnclaveCallError Error { get; }

    /// <summary>For <see cref="EnclaveCallError.Faulted"/>: the full name of the callee's exception type.</summary>
    public string? RemoteExceptionType { get; }
}
