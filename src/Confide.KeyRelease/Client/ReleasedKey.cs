using System.Security.Cryptography;
using Confide.KeyRelease.Keys;

namespace Confide.KeyRelease.Client;

/// <summary>
/// A key released to this enclave: AES bytes, or an RSA or EC private key. Dispose it as soon as
/// it is no longer needed: that zeroes the bytes and frees the key objects.
/// </summary>
public sealed class ReleasedKey : IDisposable
{
    private readonly byte[]? _symmetric;
    private readonly RSA? _rsa;
    private readonly ECDsa? _ecdsa;
    private bool _disposed;

    private ReleasedKey(string keyId, string keyType, KeyKind kind, IReadOnlyList<string> operations, byte[]? symmetric, RSA? rsa, ECDsa? ecdsa)
    {
        KeyId = keyId;
        KeyType = keyType;
        Kind = kind;
        Operations = operations;
        _symmetric = symmetric;
        _rsa = rsa;
        _ecdsa = ecdsa;
    }

    /// <summary>The key version's id at the broker: <c>{broker}/keys/{name}/{version}</c>.</summary>
    public string KeyId { get; }

    /// <summary>The <c>kty</c> the broker reports (e.g. <c>oct-HSM</c>, <c>RSA</c>).</summary>
    public string KeyType { get; }

    public KeyKind Kind { get; }

    /// <summary>The key's <c>key_ops</c>.</summary>
    public IReadOnlyList<string> Operations { get; }

    /// <summary>The AES key's bytes (oct keys only).</summary>
    /// <exception cref="InvalidOperationException">Not an oct key.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public ReadOnlySpan<byte> SymmetricKey => Live(_symmetric, "an oct key's bytes");

    /// <summary>The RSA private key (RSA keys only).</summary>
    public RSA Rsa => Live(_rsa, "an RSA key");

    /// <summary>The EC private key (EC keys only).</summary>
    public ECDsa ECDsa => Live(_ecdsa, "an EC key");

    /// <summary>The key from its released bytes (raw AES key, or PKCS#8 DER), which it takes ownership of.</summary>
    /// <exception cref="CryptographicException">The bytes are not a key of <paramref name="kind"/>.</exception>
    internal static ReleasedKey FromReleasedBytes(string keyId, string keyType, KeyKind kind, IReadOnlyList<string> operations, byte[] bytes)
    {
        switch (kind)
        {
            case KeyKind.Oct:
                return bytes.Length == 32 ? new ReleasedKey(keyId, keyType, kind, operations, bytes, null, null) : throw new CryptographicException($"The released oct key is {bytes.Length} bytes, not 32.");
            case KeyKind.Rsa:
                var rsa = RSA.Create();
                try
                {
                    rsa.ImportPkcs8PrivateKey(bytes, out _);
                    return new ReleasedKey(keyId, keyType, kind, operations, null, rsa, null);
                }
                catch
                {
                    rsa.Dispose();
                    throw;
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(bytes);
                }

            default:
                var ecdsa = ECDsa.Create();
                try
                {
                    ecdsa.ImportPkcs8PrivateKey(bytes, out _);
                    return new ReleasedKey(keyId, keyType, kind, operations, null, null, ecdsa);
                }
                catch
                {
                    ecdsa.Dispose();
                    throw;
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(bytes);
                }
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CryptographicOperations.ZeroMemory(_symmetric);
        _rsa?.Dispose();
        _ecdsa?.Dispose();
    }

    private T Live<T>(T? value, string what)
        where T : class
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return value ?? throw new InvalidOperationException($"This is a {KeyType} key, not {what}.");
    }
}
