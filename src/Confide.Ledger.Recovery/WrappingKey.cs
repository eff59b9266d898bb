using System.Security.Cryptography;

namespace Confide.Ledger.Recovery;

/// <summary>
/// The ledger secret wrapping key: a 32-byte AES-256-GCM key derived from a <see cref="SharingSecret"/>
/// with HKDF-SHA256, byte for byte as CCF's <c>Share::key</c> (<c>src/crypto/sharing.h</c>).
/// </summary>
/// <remarks>
/// The input keying material is the 40 bytes of the limbs (little-endian uint32, in order), the salt is
/// empty, and the info is those same 40 bytes. CCF's header declares
/// <c>key_label = "CCF Wrapping Key v1"</c> but its <c>key()</c> passes the limb bytes as the HKDF info,
/// not the label; this follows what CCF computes, so a secret recovered from CCF shares gives CCF's key.
/// </remarks>
public static class WrappingKey
{
    /// <summary>The key size: AES-256.</summary>
    public const int Size = 32;

    /// <summary>The label CCF declares for this derivation (and, as of the sources read, does not pass to HKDF).</summary>
    public const string CcfDeclaredLabel = "CCF Wrapping Key v1";

    /// <summary>The wrapping key of <paramref name="secret"/> (the caller should zero it after use).</summary>
    public static byte[] Derive(SharingSecret secret)
    {
        var key = new byte[Size];
        Derive(secret, key);
        return key;
    }

    /// <summary>Writes the <see cref="Size"/>-byte wrapping key of <paramref name="secret"/>.</summary>
    public static void Derive(SharingSecret secret, Span<byte> destination)
    {
        if (destination.Length != Size)
        {
            throw new ArgumentException($"The destination must be {Size} bytes.", nameof(destination));
        }

        Span<byte> limbBytes = stackalloc byte[SharingSecret.SerializedSize];
        try
        {
            secret.WriteTo(limbBytes);
            HKDF.DeriveKey(HashAlgorithmName.SHA256, limbBytes, destination, salt: [], info: limbBytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(limbBytes);
        }
    }
}
