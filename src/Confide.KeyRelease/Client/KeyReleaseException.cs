namespace Confide.KeyRelease.Client;

/// <summary>
/// A release that did not yield a key: the broker's refusal (its error code, message and status),
/// a failed attestation, or a response the client could not verify.
/// </summary>
public sealed class KeyReleaseException(string errorCode, string message, int? status = null, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The broker's code (see <see cref="KeyBrokerErrorCodes"/>) or one of the client's: AttestationFailed, InvalidResponse, UntrustedBroker, UnwrapFailed.</summary>
    public string ErrorCode { get; } = errorCode;

    /// <summary>The broker's HTTP status, when it answered with an error.</summary>
    public int? Status { get; } = status;
}
