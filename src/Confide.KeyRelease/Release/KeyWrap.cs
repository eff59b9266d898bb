using System.Security.Cryptography;

namespace Confide.KeyRelease.Release;

/// <summary>The wrapping algorithms a release can ask for (the request's <c>enc</c>).</summary>
public enum KeyWrapAlgorithm
{
    /// <summary><c>CKM_RSA_AES_KEY_WRAP</c>: RSA-OAEP with SHA-1 (PKCS#11's mechanism), then AES key wrap with padding.</summary>
    CkmRsaAesKeyWrap,

    /// <summary><c>RSA_AES_KEY_WRAP_256</c>: RSA-OAEP with SHA-256.</summary>
    RsaAesKeyWrap256,

    /// <summary><c>RSA_AES_KEY_WRAP_384</c>: RSA-OAEP with SHA-384.</summary>
    RsaAesKeyWrap384,
}

/// <summary>
/// Key Vault's release wrapping (PKCS#11 CKM_RSA_AES_KEY_WRAP, maa.md §5.2):
/// <c>RSA-OAEP(wrapping key, ephemeral AES-256 key) || AES-KWP(RFC 5649, ephemeral key, target)</c>.
/// The first modulus-length bytes are the RSA part. The ephemeral key exists only inside
/// <see cref="Wrap"/> and is zeroed before it returns.
/// </summary>
public static class KeyWrap
{
    /// <summary>Smallest wrapping key accepted: an RSA key weaker than this would be the weakest link.</summary>
    public const int MinimumWrappingKeySize = 2048;

    /// <summary>Largest wrapping key accepted (keeps a release's cost bounded).</summary>
    public const int MaximumWrappingKeySize = 8192;

    private const int EphemeralKeySize = 32;

    public static readonly IReadOnlyList<string> Names = ["CKM_RSA_AES_KEY_WRAP", "RSA_AES_KEY_WRAP_256", "RSA_AES_KEY_WRAP_384"];

    public static string Name(KeyWrapAlgorithm algorithm) => Names[(int)algorithm];

    public static bool TryParse(string? name, out KeyWrapAlgorithm algorithm)
    {
        int index = name is null ? -1 : Names.ToList().IndexOf(name);
        algorithm = (KeyWrapAlgorithm)Math.Max(index, 0);
        return index >= 0;
    }

    /// <summary>The OAEP padding of <paramref name="algorithm"/>.</summary>
    public static RSAEncryptionPadding Padding(KeyWrapAlgorithm algorithm) => algorithm switch
    {
        KeyWrapAlgorithm.CkmRsaAesKeyWrap => RSAEncryptionPadding.OaepSHA1,
        KeyWrapAlgorithm.RsaAesKeyWrap256 => RSAEncryptionPadding.OaepSHA256,
        KeyWrapAlgorithm.RsaAesKeyWrap384 => RSAEncryptionPadding.OaepSHA384,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown wrapping algorithm."),
    };

    /// <summary>Wraps <paramref name="target"/> (raw AES key bytes, or PKCS#8 DER) to <paramref name="wrappingKey"/>.</summary>
    public static byte[] Wrap(RSA wrappingKey, KeyWrapAlgorithm algorithm, ReadOnlySpan<byte> target)
    {
        ArgumentNullException.ThrowIfNull(wrappingKey);
        byte[] ephemeral = RandomNumberGenerator.GetBytes(EphemeralKeySize);
        try
        {
            byte[] rsaPart = wrappingKey.Encrypt(ephemeral, Padding(algorithm));
            using Aes aes = Aes.Create();
            aes.Key = ephemeral;
            byte[] aesPart = aes.EncryptKeyWrapPadded(target);
            return [.. rsaPart, .. aesPart];
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ephemeral);
        }
    }

    /// <summary>Unwraps what <see cref="Wrap"/> produced, with the private half of the wrapping key.</summary>
    /// <exception cref="CryptographicException">Not wrapped to this key with this algorithm, or altered.</exception>
    public static byte[] Unwrap(RSA privateKey, KeyWrapAlgorithm algorithm, ReadOnlySpan<byte> ciphertext)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        int rsaLength = (privateKey.KeySize + 7) / 8;
        if (ciphertext.Length < rsaLength + 16)
        {
            throw new CryptographicException($"The wrapped key is {ciphertext.Length} bytes; with a {privateKey.KeySize}-bit wrapping key it is at least {rsaLength + 16}.");
        }

        byte[] ephemeral = privateKey.Decrypt(ciphertext[..rsaLength].ToArray(), Padding(algorithm));
        try
        {
            if (ephemeral.Length != EphemeralKeySize)
            {
                throw new CryptographicException($"The wrapped ephemeral key is {ephemeral.Length} bytes, not an AES-256 key.");
            }

            using Aes aes = Aes.Create();
            aes.Key = ephemeral;
            return aes.DecryptKeyWrapPadded(ciphertext[rsaLength..]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ephemeral);
        }
    }
}
