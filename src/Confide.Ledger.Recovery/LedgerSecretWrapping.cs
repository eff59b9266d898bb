using System.Security.Cryptography;

namespace Confide.Ledger.Recovery;

/// <summary>
/// Wraps the 32-byte ledger secret under the <see cref="WrappingKey"/> with AES-256-GCM, and unwraps it.
/// </summary>
/// <remarks>
/// Layout (<see cref="WrappedSize"/> = 60 bytes), CCF's <c>GcmCipher</c> serialisation:
/// <c>tag[16] || nonce[12] || ciphertext[32]</c>, no associated data. CCF wraps with an all-zero
/// nonce (each wrapping key wraps once); this draws a random nonce, which the layout carries, so either
/// side's blob unwraps with the other's code given the same key.
/// </remarks>
public static class LedgerSecretWrapping
{
    /// <summary>The ledger secret size (an AES-256 key).</summary>
    public const int LedgerSecretSize = 32;

    /// <summary>The GCM tag size.</summary>
    public const int TagSize = 16;

    /// <summary>The GCM nonce size.</summary>
    public const int NonceSize = 12;

    /// <summary>The wrapped size: tag, nonce and ciphertext.</summary>
    public const int WrappedSize = TagSize + NonceSize + LedgerSecretSize;

    /// <summary>Encrypts <paramref name="ledgerSecret"/> under <paramref name="wrappingKey"/> with a fresh random nonce.</summary>
    /// <exception cref="ArgumentException">A key or ledger secret of the wrong size.</exception>
    public static byte[] Wrap(ReadOnlySpan<byte> wrappingKey, ReadOnlySpan<byte> ledgerSecret)
    {
        EnsureKey(wrappingKey);
        if (ledgerSecret.Length != LedgerSecretSize)
        {
            throw new ArgumentException($"A ledger secret is {LedgerSecretSize} bytes, not {ledgerSecret.Length}.", nameof(ledgerSecret));
        }

        var wrapped = new byte[WrappedSize];
        Span<byte> tag = wrapped.AsSpan(0, TagSize);
        Span<byte> nonce = wrapped.AsSpan(TagSize, NonceSize);
        Span<byte> ciphertext = wrapped.AsSpan(TagSize + NonceSize);

        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(wrappingKey, TagSize);
        aes.Encrypt(nonce, ledgerSecret, ciphertext, tag);
        return wrapped;
    }

    /// <summary>Decrypts a wrapped ledger secret (the caller should zero the result after use).</summary>
    /// <exception cref="ArgumentException">A key of the wrong size.</exception>
    /// <exception cref="RecoveryException">
    /// <see cref="RecoveryError.MalformedWrappedSecret"/> for a wrong length; <see cref="RecoveryError.UnwrapFailed"/>
    /// when the tag does not verify (wrong key, or altered bytes).
    /// </exception>
    public static byte[] Unwrap(ReadOnlySpan<byte> wrappingKey, ReadOnlySpan<byte> wrapped)
    {
        EnsureKey(wrappingKey);
        if (wrapped.Length != WrappedSize)
        {
            throw new RecoveryException(RecoveryError.MalformedWrappedSecret, $"A wrapped ledger secret is {WrappedSize} bytes, not {wrapped.Length}.");
        }

        ReadOnlySpan<byte> tag = wrapped[..TagSize];
        ReadOnlySpan<byte> nonce = wrapped.Slice(TagSize, NonceSize);
        ReadOnlySpan<byte> ciphertext = wrapped[(TagSize + NonceSize)..];

        var ledgerSecret = new byte[LedgerSecretSize];
        try
        {
            using var aes = new AesGcm(wrappingKey, TagSize);
            aes.Decrypt(nonce, ciphertext, tag, ledgerSecret);
            return ledgerSecret;
        }
        catch (AuthenticationTagMismatchException e)
        {
            CryptographicOperations.ZeroMemory(ledgerSecret);
            throw new RecoveryException(RecoveryError.UnwrapFailed, "The wrapped ledger secret does not authenticate under this wrapping key: wrong shares, or altered bytes.", e);
        }
    }

    private static void EnsureKey(ReadOnlySpan<byte> wrappingKey)
    {
        if (wrappingKey.Length != WrappingKey.Size)
        {
            throw new ArgumentException($"A wrapping key is {WrappingKey.Size} bytes, not {wrappingKey.Length}.", nameof(wrappingKey));
        }
    }
}
