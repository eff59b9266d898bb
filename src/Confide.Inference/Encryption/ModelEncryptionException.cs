namespace Confide.Inference.Encryption;

/// <summary>Why an encrypted model file could not be opened (or a model not encrypted).</summary>
public enum ModelEncryptionError
{
    /// <summary>Shorter than its header and tag, or than the plaintext length it declares.</summary>
    Truncated,

    /// <summary>Not a CONFIDE-MODEL file (wrong magic).</summary>
    UnknownFormat,

    /// <summary>A CONFIDE-MODEL file of a version (or with flags) this code does not read.</summary>
    UnsupportedVersion,

    /// <summary>The key is not 32 bytes.</summary>
    InvalidKey,

    /// <summary>The file was encrypted under another key (its key id differs from the key's).</summary>
    WrongKey,

    /// <summary>The right key, but the header, ciphertext or tag was altered (or data appended).</summary>
    Tampered,

    /// <summary>The plaintext is too large for this format (2 GiB and above).</summary>
    TooLarge,
}

/// <summary>An encryption or decryption of a model file that failed, with a typed reason.</summary>
public sealed class ModelEncryptionException(ModelEncryptionError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public ModelEncryptionError Error { get; } = error;
}
