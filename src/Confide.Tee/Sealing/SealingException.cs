namespace Confide.Tee.Sealing;

/// <summary>Why a sealed blob could not be opened (or made).</summary>
public enum SealingError
{
    /// <summary>Shorter than its header, or than the lengths it declares.</summary>
    Truncated,

    /// <summary>Not a Confide sealed blob (wrong magic).</summary>
    UnknownFormat,

    /// <summary>A Confide sealed blob of a format version this code does not read.</summary>
    UnsupportedVersion,

    /// <summary>The blob names a seal policy this code does not know.</summary>
    UnsupportedPolicy,

    /// <summary>Sealed by a later security version than this enclave's; older code may not open it.</summary>
    SecurityVersionTooNew,

    /// <summary>The key does not match: another enclave, signer, product or platform sealed it.</summary>
    WrongIdentity,

    /// <summary>The right key, but the ciphertext, header or associated data was altered.</summary>
    Tampered,

    /// <summary>The TEE cannot derive the key this blob needs (e.g. Gramine offers only the current SVN's key).</summary>
    KeyUnavailable,

    /// <summary>The destination buffer is too small, or the plaintext too large.</summary>
    InvalidLength,
}

/// <summary>A seal or unseal that failed, with a typed reason.</summary>
public sealed class SealingException(SealingError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public SealingError Error { get; } = error;
}
