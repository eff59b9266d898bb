using System.Security.Cryptography;

namespace Confide.Ledger.Ledger;

/// <summary>
/// The ledger secret shared by the trusted nodes: the AES-256-GCM key of every entry's private
/// domain, and (through an HMAC) the root of commit evidence. Zeroed on dispose.
/// </summary>
/// <remarks>
/// As in CCF, the 32 raw bytes are the AES key, and the commit secret is
/// HMAC-SHA256(key = secret, message = "Commit S") (node/ledger_secret.h). Rotation (a chain of
/// secrets by seqno) is not modelled here: one secret covers the whole ledger.
/// </remarks>
public sealed class LedgerSecret : IDisposable
{
    /// <summary>The secret's length in bytes.</summary>
    public const int Size = 32;

    private static ReadOnlySpan<byte> CommitSecretLabel => "Commit S"u8;

    private readonly byte[] _key;
    private readonly byte[] _commitSecret;
    private bool _disposed;

    private LedgerSecret(byte[] key)
    {
        _key = key;
        _commitSecret = HMACSHA256.HashData(key, CommitSecretLabel);
    }

    /// <summary>A fresh random secret.</summary>
    public static LedgerSecret Generate() => new(RandomNumberGenerator.GetBytes(Size));

    /// <summary>A secret from its 32 bytes (copied).</summary>
    /// <exception cref="ArgumentException">Not 32 bytes.</exception>
    public static LedgerSecret FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"A ledger secret is {Size} bytes, not {bytes.Length}.", nameof(bytes));
        }

        return new LedgerSecret(bytes.ToArray());
    }

    /// <summary>A copy of the raw secret, to hand to another trusted party (the caller zeroes it).</summary>
    public byte[] Export() => Key.ToArray();

    internal ReadOnlySpan<byte> Key
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _key;
        }
    }

    /// <summary>HMAC-SHA256(commit secret, utf8("view.seqno")): the nonce only secret holders can reveal.</summary>
    internal byte[] ComputeCommitNonce(TxId txId)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return HMACSHA256.HashData(_commitSecret, System.Text.Encoding.UTF8.GetBytes(txId.ToString()));
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            CryptographicOperations.ZeroMemory(_key);
            CryptographicOperations.ZeroMemory(_commitSecret);
            _disposed = true;
        }
    }
}
