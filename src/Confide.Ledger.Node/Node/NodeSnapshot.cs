using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Node;

/// <summary>
/// A snapshot of a node's committed state at a signature transaction (CCF's
/// <c>snapshot_&lt;seqno&gt;_&lt;evidence&gt;.committed</c>): the whole KV state and the Merkle tree
/// compacted to that point, so that a joining node (or a node of a recovered service) starts from
/// it instead of replaying a history it may not have.
/// </summary>
/// <remarks>
/// Layout, integers little-endian: <c>"CONFIDE-SNAPSHOT"</c> (16) ‖ u64 seqno ‖ u64 view ‖ nonce (12)
/// ‖ tag (16) ‖ u32 public length ‖ u32 private length ‖ u32 tree length ‖ AES-256-GCM ciphertext of
/// (public maps ‖ private maps ‖ tree), the 76-byte header as associated data. The key is
/// HKDF-SHA256 of the ledger secret for snapshots alone (never the ledger entries' key, whose IVs
/// are seqno ‖ view), the nonce random: only the service's nodes can read or forge a snapshot.
/// </remarks>
public sealed record NodeSnapshot(TxId TxId, WriteSet State, byte[] CompactedTree)
{
    private const int HeaderSize = 16 + 8 + 8 + 12 + 16 + 4 + 4 + 4;
    private static readonly byte[] Magic = "CONFIDE-SNAPSHOT"u8.ToArray();
    private static readonly byte[] KeyLabel = "Confide snapshot key v1"u8.ToArray();

    /// <summary>CCF's file name: <c>snapshot_&lt;seqno&gt;_&lt;evidence seqno&gt;.committed</c> (the evidence is the signature itself).</summary>
    public string FileName => string.Create(CultureInfo.InvariantCulture, $"snapshot_{TxId.Seqno}_{TxId.Seqno}.committed");

    public byte[] Seal(LedgerSecret secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        byte[] publicMaps = WriteSetCodec.EncodeDomain(State, SecurityDomain.Public);
        byte[] privateMaps = WriteSetCodec.EncodeDomain(State, SecurityDomain.Private);
        byte[] plaintext = [.. publicMaps, .. privateMaps, .. CompactedTree];
        byte[] file = new byte[HeaderSize + plaintext.Length];
        Magic.CopyTo(file, 0);
        BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan(16), TxId.Seqno);
        BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan(24), TxId.View);
        RandomNumberGenerator.Fill(file.AsSpan(32, 12));
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(60), publicMaps.Length);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(64), privateMaps.Length);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(68), CompactedTree.Length);
        byte[] key = Key(secret);
        try
        {
            using var aes = new AesGcm(key, 16);
            aes.Encrypt(file.AsSpan(32, 12), plaintext, file.AsSpan(HeaderSize), file.AsSpan(44, 16), AssociatedData(file));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(plaintext);
        }

        return file;
    }

    /// <exception cref="InvalidDataException">Not a snapshot, truncated, altered, or of another service.</exception>
    public static NodeSnapshot Open(ReadOnlySpan<byte> file, LedgerSecret secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (file.Length < HeaderSize || !file[..16].SequenceEqual(Magic))
        {
            throw new InvalidDataException("Not a Confide snapshot (bad magic or truncated header).");
        }

        long seqno = BinaryPrimitives.ReadInt64LittleEndian(file[16..]);
        long view = BinaryPrimitives.ReadInt64LittleEndian(file[24..]);
        int publicLength = BinaryPrimitives.ReadInt32LittleEndian(file[60..]);
        int privateLength = BinaryPrimitives.ReadInt32LittleEndian(file[64..]);
        int treeLength = BinaryPrimitives.ReadInt32LittleEndian(file[68..]);
        if (seqno < 1 || view < 1 || publicLength < 0 || privateLength < 0 || treeLength < 0
            || (long)publicLength + privateLength + treeLength != file.Length - HeaderSize)
        {
            throw new InvalidDataException($"The snapshot header is inconsistent (seqno {seqno}, view {view}, lengths {publicLength}/{privateLength}/{treeLength}, {file.Length} bytes).");
        }

        byte[] plaintext = new byte[file.Length - HeaderSize];
        byte[] key = Key(secret);
        try
        {
            using var aes = new AesGcm(key, 16);
            aes.Decrypt(file.Slice(32, 12), file[HeaderSize..], file.Slice(44, 16), plaintext, AssociatedData(file));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new InvalidDataException("The snapshot was altered, or is not of this service (its tag does not verify with the ledger secret).");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        var state = new WriteSetBuilder();
        if (!WriteSetCodec.TryDecodeDomain(plaintext.AsSpan(0, publicLength), SecurityDomain.Public, state, out string? error, out _)
            || !WriteSetCodec.TryDecodeDomain(plaintext.AsSpan(publicLength, privateLength), SecurityDomain.Private, state, out error, out _))
        {
            throw new InvalidDataException($"The snapshot's state does not decode: {error}");
        }

        byte[] tree = plaintext.AsSpan(publicLength + privateLength).ToArray();
        if (!MerkleTree.TryDeserialise(tree, out MerkleTree? parsed, out string? treeError) || parsed.Count != seqno + 1)
        {
            throw new InvalidDataException($"The snapshot's Merkle tree does not decode or does not end at seqno {seqno}: {treeError}");
        }

        CryptographicOperations.ZeroMemory(plaintext);
        return new NodeSnapshot(new TxId(view, seqno), state.Build(), tree);
    }

    /// <summary>The latest committed snapshot file in <paramref name="directory"/>, or null.</summary>
    public static string? Latest(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return null;
        }

        return Directory.EnumerateFiles(directory, "snapshot_*_*.committed")
            .Select(path => (Path: path, Seqno: long.TryParse(Path.GetFileName(path).Split('_')[1], NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s : -1))
            .Where(candidate => candidate.Seqno > 0)
            .OrderByDescending(candidate => candidate.Seqno)
            .Select(candidate => candidate.Path)
            .FirstOrDefault();
    }

    private static byte[] AssociatedData(ReadOnlySpan<byte> file) => [.. file[..32], .. file.Slice(60, 12)];

    private static byte[] Key(LedgerSecret secret)
    {
        byte[] raw = secret.Export();
        try
        {
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, raw, 32, salt: [], info: KeyLabel);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }
}
