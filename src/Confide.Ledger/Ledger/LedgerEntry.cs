using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Confide.Ledger.Kv;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Ledger;

/// <summary>
/// One serialised transaction of the ledger: its write set, public maps in the clear and private maps
/// encrypted under the ledger secret, with the digests its Merkle leaf is made of.
/// </summary>
/// <remarks>
/// <para>Layout (CCF's; integers little-endian):</para>
/// <code>
/// [0]       u8   format version = 1
/// [1]       u8   flags (EntryFlags)
/// [2..8)    u48  size of everything after these 8 bytes
/// [8..24)   16   AES-GCM tag
/// [24..36)  12   AES-GCM IV = u64 seqno ‖ u32 view (top bit clear; CCF sets it for snapshots)
/// [36..44)  u64  P, the length of the public domain
/// [44..44+P)     public domain:
///                  u8 entry type = 4 (WriteSetWithCommitEvidenceAndClaims)
///                  u64 seqno
///                  32  claims digest (all-zero when unset)
///                  32  commit-evidence digest = SHA-256(utf8("ce:view.seqno:hex"))
///                  u64 reserved (CCF's max_conflict_version) = 0
///                  public maps (WriteSetCodec)
/// [44+P..)       private maps (WriteSetCodec), AES-256-GCM ciphertext, same length as the plaintext
/// </code>
/// <para>Authentication: every entry is sealed, even one without private writes (GCM over an empty
/// plaintext), so that public-only entries are authenticated by the secret holders as well. The
/// associated data is everything except the tag, the IV and the ciphertext: the 8-byte header, the
/// public length and the public domain. (CCF's associated data is the public domain only; binding the
/// header as well authenticates the flags byte, at the price of byte compatibility of the tag.)</para>
/// <para>The IV is unique per (view, seqno): within a view a seqno is assigned once, and a rolled-back
/// seqno is reused only in a higher view.</para>
/// </remarks>
public sealed class LedgerEntry
{
    private const int DigestSize = Sha256Hash.Size;

    private LedgerEntry(TxId txId, EntryFlags flags, EntryType type, Sha256Hash claimsDigest, Sha256Hash? commitEvidenceDigest, CommitEvidence? commitEvidence, WriteSet writeSet, bool privateDecrypted, int privateLength, ReadOnlyMemory<byte> bytes)
    {
        TxId = txId;
        Flags = flags;
        EntryType = type;
        ClaimsDigest = claimsDigest;
        CommitEvidenceDigest = commitEvidenceDigest;
        CommitEvidence = commitEvidence;
        WriteSet = writeSet;
        IsPrivateDomainDecrypted = privateDecrypted;
        PrivateDomainLength = privateLength;
        Bytes = bytes;
        WriteSetDigest = Sha256Hash.Compute(bytes.Span);
    }

    /// <summary>View (from the IV) and seqno (from the public domain).</summary>
    public TxId TxId { get; }

    /// <summary>The header flags.</summary>
    public EntryFlags Flags { get; }

    /// <summary>The entry type (always the one with both digests for entries written here).</summary>
    public EntryType EntryType { get; }

    /// <summary>The claims digest (all-zero when unset).</summary>
    public Sha256Hash ClaimsDigest { get; }

    /// <summary>The recorded commit-evidence digest (null only for CCF 1.x entries).</summary>
    public Sha256Hash? CommitEvidenceDigest { get; }

    /// <summary>The commit evidence, known when the entry was created or parsed with the ledger secret.</summary>
    public CommitEvidence? CommitEvidence { get; }

    /// <summary>The public maps, plus the private ones when <see cref="IsPrivateDomainDecrypted"/>.</summary>
    public WriteSet WriteSet { get; }

    /// <summary>True when the secret was given: the GCM tag was verified and the private maps decoded.</summary>
    public bool IsPrivateDomainDecrypted { get; }

    /// <summary>Length of the encrypted private domain (it leaks in the clear, as in CCF).</summary>
    public int PrivateDomainLength { get; }

    /// <summary>The serialised entry, header included.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>SHA-256 of <see cref="Bytes"/>, header included (CCF's write-set digest).</summary>
    public Sha256Hash WriteSetDigest { get; }

    /// <summary>True when the entry writes a root signature (<see cref="InternalMaps.Signatures"/>).</summary>
    public bool IsSignature => WriteSet.Find(InternalMaps.Signatures) is { Writes.Count: > 0 };

    /// <summary>
    /// The entry's Merkle leaf, computable without the secret: SHA-256(write-set digest ‖
    /// commit-evidence digest ‖ claims digest) (fewer components for older CCF entry types).
    /// </summary>
    public Sha256Hash ComputeLeaf() => EntryType switch
    {
        EntryType.WriteSetWithCommitEvidenceAndClaims => LeafComponents.ComputeLeaf(WriteSetDigest, CommitEvidenceDigest!.Value, ClaimsDigest),
        EntryType.WriteSetWithCommitEvidence => Sha256Hash.Combine(WriteSetDigest, CommitEvidenceDigest!.Value),
        _ => WriteSetDigest,
    };

    /// <summary>The leaf components for a receipt (needs the commit evidence, i.e. the secret).</summary>
    /// <exception cref="InvalidOperationException">The commit evidence is unknown or the entry type has no leaf components.</exception>
    public LeafComponents GetLeafComponents()
    {
        if (CommitEvidence is null || EntryType != EntryType.WriteSetWithCommitEvidenceAndClaims)
        {
            throw new InvalidOperationException($"Entry {TxId} has no revealable leaf components: parse it with the ledger secret (entry type {EntryType}).");
        }

        return new LeafComponents(WriteSetDigest, CommitEvidence.Value, ClaimsDigest);
    }

    /// <summary>Serialises a transaction's write set as the entry at <paramref name="txId"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The view does not fit the IV's 31 bits.</exception>
    /// <exception cref="ArgumentException">The entry would exceed the 48-bit size field.</exception>
    public static LedgerEntry Create(TxId txId, WriteSet writeSet, LedgerSecret secret, Sha256Hash claimsDigest = default, EntryFlags flags = EntryFlags.None)
    {
        ArgumentNullException.ThrowIfNull(writeSet);
        ArgumentNullException.ThrowIfNull(secret);
        if (txId.View > EntryFormat.MaxView)
        {
            throw new ArgumentOutOfRangeException(nameof(txId), txId, $"Views above {EntryFormat.MaxView} do not fit the IV.");
        }

        CommitEvidence evidence = CommitEvidence.Create(secret, txId);
        byte[] publicDomain = EncodePublicDomain(txId.Seqno, claimsDigest, evidence.Digest, writeSet);
        byte[] privatePlaintext = WriteSetCodec.EncodeDomain(writeSet, SecurityDomain.Private);
        try
        {
            long length = (long)EntryFormat.PublicDomainOffset + publicDomain.Length + privatePlaintext.Length;
            if (length - EntryFormat.HeaderSize > EntryFormat.MaxBodySize || length > Array.MaxLength)
            {
                throw new ArgumentException($"Entry {txId} would be {length} bytes, more than an entry can hold.", nameof(writeSet));
            }

            byte[] entry = new byte[length];
            entry[0] = EntryFormat.Version;
            entry[1] = (byte)flags;
            WriteUInt48(entry.AsSpan(2, 6), length - EntryFormat.HeaderSize);
            BinaryPrimitives.WriteInt64LittleEndian(entry.AsSpan(EntryFormat.IvOffset), txId.Seqno);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(EntryFormat.IvOffset + sizeof(long)), (uint)txId.View);
            BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(EntryFormat.PublicLengthOffset), (ulong)publicDomain.Length);
            publicDomain.CopyTo(entry.AsSpan(EntryFormat.PublicDomainOffset));

            int ciphertextOffset = EntryFormat.PublicDomainOffset + publicDomain.Length;
            using var aes = new AesGcm(secret.Key, EntryFormat.TagSize);
            aes.Encrypt(
                entry.AsSpan(EntryFormat.IvOffset, EntryFormat.IvSize),
                privatePlaintext,
                entry.AsSpan(ciphertextOffset),
                entry.AsSpan(EntryFormat.TagOffset, EntryFormat.TagSize),
                AssociatedData(entry, publicDomain.Length));

            return new LedgerEntry(txId, flags, EntryType.WriteSetWithCommitEvidenceAndClaims, claimsDigest, evidence.Digest, evidence, writeSet, privateDecrypted: true, privatePlaintext.Length, entry);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privatePlaintext);
        }
    }

    /// <summary>
    /// Parses and checks an entry. With the secret, the GCM tag and the commit evidence are verified and
    /// the private maps decrypted; without it only the public part is read (and its authenticity is
    /// left to the Merkle tree and the signatures).
    /// </summary>
    /// <exception cref="LedgerFormatException">Malformed bytes, or (with the secret) an entry that does not authenticate.</exception>
    public static LedgerEntry Parse(ReadOnlyMemory<byte> bytes, LedgerSecret? secret = null) => ParseEntry(bytes, secret);

    /// <summary><see cref="Parse"/> without throwing for bad bytes.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> bytes, LedgerSecret? secret, [NotNullWhen(true)] out LedgerEntry? entry, [NotNullWhen(false)] out LedgerFormatException? error)
    {
        try
        {
            entry = ParseEntry(bytes, secret);
            error = null;
            return true;
        }
        catch (LedgerFormatException exception)
        {
            entry = null;
            error = exception;
            return false;
        }
    }

    /// <summary>The seqno in an entry's IV, read without parsing the rest (null if too short).</summary>
    internal static long? PeekSeqno(ReadOnlySpan<byte> entry) =>
        entry.Length >= EntryFormat.IvOffset + sizeof(long) ? BinaryPrimitives.ReadInt64LittleEndian(entry[EntryFormat.IvOffset..]) : null;

    private static LedgerEntry ParseEntry(ReadOnlyMemory<byte> memory, LedgerSecret? secret)
    {
        ReadOnlySpan<byte> bytes = memory.Span;
        long? ivSeqno = PeekSeqno(bytes);

        // The 8-byte transaction header.
        if (bytes.Length < EntryFormat.HeaderSize)
        {
            throw new LedgerFormatException(LedgerFormatError.Truncated, $"{bytes.Length} bytes, shorter than the {EntryFormat.HeaderSize}-byte header", 0, ivSeqno);
        }

        if (bytes[0] != EntryFormat.Version)
        {
            throw new LedgerFormatException(LedgerFormatError.UnsupportedVersion, $"entry format version {bytes[0]}", 0, ivSeqno);
        }

        var flags = (EntryFlags)bytes[1];
        if ((flags & ~(EntryFlags.ForceChunkAfter | EntryFlags.ForceChunkBefore)) != 0)
        {
            throw new LedgerFormatException(LedgerFormatError.InvalidEncoding, $"unknown flag bits 0x{bytes[1]:x2}", 1, ivSeqno);
        }

        long size = ReadUInt48(bytes[2..EntryFormat.HeaderSize]);
        if (size != bytes.Length - EntryFormat.HeaderSize)
        {
            throw new LedgerFormatException(LedgerFormatError.SizeMismatch, $"the header declares {size} bytes after it; the entry has {bytes.Length - EntryFormat.HeaderSize}", 2, ivSeqno);
        }

        // The GCM header and the public length.
        if (bytes.Length < EntryFormat.PublicDomainOffset)
        {
            throw new LedgerFormatException(LedgerFormatError.Truncated, $"{bytes.Length} bytes, shorter than the {EntryFormat.PublicDomainOffset} bytes of headers", EntryFormat.HeaderSize, ivSeqno);
        }

        uint viewField = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(EntryFormat.IvOffset + sizeof(long))..]);
        if (viewField > EntryFormat.MaxView)
        {
            throw new LedgerFormatException(LedgerFormatError.UnsupportedEntryType, "the IV marks a snapshot", EntryFormat.IvOffset, ivSeqno);
        }

        ulong publicLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes[EntryFormat.PublicLengthOffset..]);
        if (publicLength > (ulong)(bytes.Length - EntryFormat.PublicDomainOffset))
        {
            throw new LedgerFormatException(LedgerFormatError.LengthOutOfRange, $"the public domain is declared {publicLength} bytes; {bytes.Length - EntryFormat.PublicDomainOffset} remain", EntryFormat.PublicLengthOffset, ivSeqno);
        }

        // The public domain: its header, then its maps.
        ReadOnlySpan<byte> publicDomain = bytes.Slice(EntryFormat.PublicDomainOffset, (int)publicLength);
        var builder = new WriteSetBuilder();
        PublicHeader header = ReadPublicHeader(publicDomain, builder, ivSeqno);
        if (ivSeqno != header.Seqno)
        {
            throw new LedgerFormatException(LedgerFormatError.SeqnoMismatch, $"the IV says seqno {ivSeqno}, the public domain {header.Seqno}", EntryFormat.IvOffset, header.Seqno);
        }

        var txId = new TxId(viewField, header.Seqno);
        int privateOffset = EntryFormat.PublicDomainOffset + (int)publicLength;
        int privateLength = bytes.Length - privateOffset;
        CommitEvidence? evidence = null;
        if (secret is not null)
        {
            DecryptPrivateDomain(bytes, (int)publicLength, secret, builder, txId);
            evidence = VerifyCommitEvidence(secret, txId, header);
        }

        return new LedgerEntry(txId, flags, header.Type, header.ClaimsDigest, header.CommitEvidenceDigest, evidence, builder.Build(), secret is not null, privateLength, memory);
    }

    private readonly record struct PublicHeader(EntryType Type, long Seqno, Sha256Hash ClaimsDigest, Sha256Hash? CommitEvidenceDigest);

    private static PublicHeader ReadPublicHeader(ReadOnlySpan<byte> publicDomain, WriteSetBuilder into, long? ivSeqno)
    {
        var reader = new ByteReader(publicDomain);
        if (!reader.TryReadByte(out byte typeByte))
        {
            throw new LedgerFormatException(LedgerFormatError.Truncated, "the public domain is empty", EntryFormat.PublicDomainOffset, ivSeqno);
        }

        var type = (EntryType)typeByte;
        if (type is not (EntryType.WriteSet or EntryType.WriteSetWithCommitEvidence or EntryType.WriteSetWithCommitEvidenceAndClaims))
        {
            throw new LedgerFormatException(LedgerFormatError.UnsupportedEntryType, $"entry type {typeByte}", EntryFormat.PublicDomainOffset, ivSeqno);
        }

        if (!reader.TryReadUInt64(out ulong seqno) || seqno > long.MaxValue)
        {
            throw new LedgerFormatException(LedgerFormatError.Truncated, "the public domain ends before its seqno", EntryFormat.PublicDomainOffset + reader.Position, ivSeqno);
        }

        Sha256Hash claims = default;
        if (type == EntryType.WriteSetWithCommitEvidenceAndClaims)
        {
            claims = ReadDigest(ref reader, "claims digest", (long)seqno);
        }

        Sha256Hash? evidence = null;
        if (type is EntryType.WriteSetWithCommitEvidence or EntryType.WriteSetWithCommitEvidenceAndClaims)
        {
            evidence = ReadDigest(ref reader, "commit-evidence digest", (long)seqno);
        }

        if (!reader.TryReadUInt64(out _))
        {
            throw new LedgerFormatException(LedgerFormatError.Truncated, "the public domain ends before its reserved version", EntryFormat.PublicDomainOffset + reader.Position, (long)seqno);
        }

        int mapsStart = reader.Position;
        if (!WriteSetCodec.TryDecodeDomain(publicDomain[mapsStart..], SecurityDomain.Public, into, out string? error, out int errorOffset))
        {
            throw new LedgerFormatException(LedgerFormatError.InvalidEncoding, $"public domain: {error}", EntryFormat.PublicDomainOffset + mapsStart + errorOffset, (long)seqno);
        }

        return new PublicHeader(type, (long)seqno, claims, evidence);
    }

    private static Sha256Hash ReadDigest(ref ByteReader reader, string what, long seqno)
    {
        if (!reader.TryReadBytes(DigestSize, out ReadOnlySpan<byte> digest))
        {
            throw new LedgerFormatException(LedgerFormatError.Truncated, $"the public domain ends inside its {what}", EntryFormat.PublicDomainOffset + reader.Position, seqno);
        }

        return Sha256Hash.FromBytes(digest);
    }

    private static void DecryptPrivateDomain(ReadOnlySpan<byte> entry, int publicLength, LedgerSecret secret, WriteSetBuilder into, TxId txId)
    {
        int privateOffset = EntryFormat.PublicDomainOffset + publicLength;
        byte[] plaintext = new byte[entry.Length - privateOffset];
        try
        {
            using (var aes = new AesGcm(secret.Key, EntryFormat.TagSize))
            {
                aes.Decrypt(
                    entry.Slice(EntryFormat.IvOffset, EntryFormat.IvSize),
                    entry[privateOffset..],
                    entry.Slice(EntryFormat.TagOffset, EntryFormat.TagSize),
                    plaintext,
                    AssociatedData(entry, publicLength));
            }

            if (!WriteSetCodec.TryDecodeDomain(plaintext, SecurityDomain.Private, into, out string? error, out int errorOffset))
            {
                throw new LedgerFormatException(LedgerFormatError.InvalidEncoding, $"private domain (decrypted): {error}", privateOffset + errorOffset, txId.Seqno);
            }
        }
        catch (AuthenticationTagMismatchException exception)
        {
            throw new LedgerFormatException(LedgerFormatError.AuthenticationFailed, "the AES-GCM tag does not verify: wrong ledger secret, or the entry was altered", EntryFormat.TagOffset, txId.Seqno, inner: exception);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private static CommitEvidence? VerifyCommitEvidence(LedgerSecret secret, TxId txId, PublicHeader header)
    {
        if (header.CommitEvidenceDigest is not Sha256Hash recorded)
        {
            return null;
        }

        CommitEvidence evidence = CommitEvidence.Create(secret, txId);
        if (!CryptographicOperations.FixedTimeEquals(evidence.Digest.Span, recorded.Span))
        {
            throw new LedgerFormatException(LedgerFormatError.AuthenticationFailed, "the commit-evidence digest is not the one this ledger secret gives for this transaction ID", EntryFormat.PublicDomainOffset, txId.Seqno);
        }

        return evidence;
    }

    // Everything but the tag, the IV and the ciphertext: header ‖ public length ‖ public domain.
    private static byte[] AssociatedData(ReadOnlySpan<byte> entry, int publicLength)
    {
        byte[] associatedData = new byte[EntryFormat.HeaderSize + sizeof(ulong) + publicLength];
        entry[..EntryFormat.HeaderSize].CopyTo(associatedData);
        entry.Slice(EntryFormat.PublicLengthOffset, sizeof(ulong) + publicLength).CopyTo(associatedData.AsSpan(EntryFormat.HeaderSize));
        return associatedData;
    }

    private static byte[] EncodePublicDomain(long seqno, Sha256Hash claimsDigest, Sha256Hash commitEvidenceDigest, WriteSet writeSet)
    {
        byte[] maps = WriteSetCodec.EncodeDomain(writeSet, SecurityDomain.Public);
        byte[] domain = new byte[1 + sizeof(long) + (2 * DigestSize) + sizeof(long) + maps.Length];
        domain[0] = (byte)EntryType.WriteSetWithCommitEvidenceAndClaims;
        BinaryPrimitives.WriteInt64LittleEndian(domain.AsSpan(1), seqno);
        claimsDigest.CopyTo(domain.AsSpan(1 + sizeof(long)));
        commitEvidenceDigest.CopyTo(domain.AsSpan(1 + sizeof(long) + DigestSize));
        // the reserved version (bytes 73..81) stays zero
        maps.CopyTo(domain.AsSpan(1 + sizeof(long) + (2 * DigestSize) + sizeof(long)));
        return domain;
    }

    private static void WriteUInt48(Span<byte> destination, long value)
    {
        Span<byte> eight = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(eight, value);
        eight[..6].CopyTo(destination);
    }

    private static long ReadUInt48(ReadOnlySpan<byte> source)
    {
        Span<byte> eight = stackalloc byte[8];
        source[..6].CopyTo(eight);
        return BinaryPrimitives.ReadInt64LittleEndian(eight);
    }

    /// <summary>The size declared by an entry header (bytes after the 8-byte header).</summary>
    internal static long ReadDeclaredSize(ReadOnlySpan<byte> header) => ReadUInt48(header[2..EntryFormat.HeaderSize]);
}
