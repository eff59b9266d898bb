namespace Confide.Ledger.Ledger;

/// <summary>CCF's entry types (the first byte of the public domain).</summary>
public enum EntryType : byte
{
    /// <summary>A write set without claims or commit evidence (CCF 1.x).</summary>
    WriteSet = 0,

    /// <summary>A snapshot (not a ledger entry; refused by this reader).</summary>
    Snapshot = 1,

    /// <summary>Claims digest only (never produced by CCF releases; refused).</summary>
    WriteSetWithClaims = 2,

    /// <summary>Commit-evidence digest only (CCF 2.x).</summary>
    WriteSetWithCommitEvidence = 3,

    /// <summary>Both digests: what every entry is written as.</summary>
    WriteSetWithCommitEvidenceAndClaims = 4,
}

/// <summary>Flags in the entry header (CCF's <c>EntryFlags</c>).</summary>
[Flags]
public enum EntryFlags : byte
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>Close the chunk after this (signature) entry whatever its size (<c>trigger_ledger_chunk</c>).</summary>
    ForceChunkAfter = 0x01,

    /// <summary>CCF's request to start a chunk before this entry; recorded but not acted on here.</summary>
    ForceChunkBefore = 0x02,
}

/// <summary>
/// Byte layout of a serialised entry (CCF's, with the associated data noted in <see cref="LedgerEntry"/>).
/// </summary>
internal static class EntryFormat
{
    public const byte Version = 1;

    public const int HeaderSize = 8;              // u8 version, u8 flags, u48 LE size of what follows
    public const long MaxBodySize = (1L << 48) - 1;

    public const int TagOffset = HeaderSize;       // AES-GCM tag, 16 bytes
    public const int TagSize = 16;
    public const int IvOffset = TagOffset + TagSize; // AES-GCM IV, 12 bytes: u64 LE seqno ‖ u32 LE view
    public const int IvSize = 12;
    public const int PublicLengthOffset = IvOffset + IvSize; // u64 LE length of the public domain
    public const int PublicDomainOffset = PublicLengthOffset + sizeof(ulong);

    public const uint MaxView = 0x7FFF_FFFF;         // the IV's top bit marks snapshots in CCF
}
