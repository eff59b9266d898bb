using System.Globalization;
using System.Text;

namespace Confide.Ledger.Ledger;

/// <summary>Why ledger bytes were refused.</summary>
public enum LedgerFormatError
{
    /// <summary>Fewer bytes than a header or a declared length needs (a torn or cut file).</summary>
    Truncated,

    /// <summary>An entry format version other than 1.</summary>
    UnsupportedVersion,

    /// <summary>The entry header's size disagrees with the bytes framed for the entry.</summary>
    SizeMismatch,

    /// <summary>A length or count field larger than the bytes that follow it.</summary>
    LengthOutOfRange,

    /// <summary>An entry type this reader does not handle (a snapshot, or claims without commit evidence).</summary>
    UnsupportedEntryType,

    /// <summary>A domain whose maps are malformed or not in canonical form.</summary>
    InvalidEncoding,

    /// <summary>A seqno other than the one expected at this position (IV, chunk name or sequence disagree).</summary>
    SeqnoMismatch,

    /// <summary>The AES-GCM tag does not verify, or the commit evidence is not this secret's: wrong secret or altered bytes.</summary>
    AuthenticationFailed,

    /// <summary>A file named like a ledger chunk whose name does not parse.</summary>
    InvalidChunkName,

    /// <summary>A chunk's offset table is missing, misplaced or disagrees with its entries.</summary>
    InvalidOffsetTable,

    /// <summary>Chunks do not follow each other: entries are missing, repeated, or an open chunk is not last.</summary>
    NotContiguous,
}

/// <summary>
/// Ledger bytes that are not a well-formed, authentic ledger, with where: the file, the byte offset
/// in it and the seqno, as far as they are known.
/// </summary>
public sealed class LedgerFormatException : Exception
{
    /// <summary>A format error not yet located in a file.</summary>
    public LedgerFormatException(LedgerFormatError error, string detail, long? offset = null, long? seqno = null, string? file = null, Exception? inner = null)
        : base(Describe(error, detail, offset, seqno, file), inner)
    {
        Error = error;
        Detail = detail;
        Offset = offset;
        Seqno = seqno;
        File = file;
    }

    /// <summary>The kind of problem.</summary>
    public LedgerFormatError Error { get; }

    /// <summary>The problem, without the location.</summary>
    public string Detail { get; }

    /// <summary>The chunk file, when known.</summary>
    public string? File { get; }

    /// <summary>The byte offset (in the file, or in the entry when no file is known).</summary>
    public long? Offset { get; }

    /// <summary>The seqno of the entry concerned, when known.</summary>
    public long? Seqno { get; }

    /// <summary>
    /// The same problem located in <paramref name="file"/> at entry offset <paramref name="entryOffset"/>;
    /// the seqno is the one the entry's position gives (the entry's own claim may be the damaged part).
    /// </summary>
    internal LedgerFormatException At(string file, long entryOffset, long seqno) =>
        new(Error, Detail, entryOffset + (Offset ?? 0), seqno, file, this);

    private static string Describe(LedgerFormatError error, string detail, long? offset, long? seqno, string? file)
    {
        var where = new StringBuilder();
        if (file is not null)
        {
            where.Append(CultureInfo.InvariantCulture, $"{file}: ");
        }

        if (offset is not null)
        {
            where.Append(CultureInfo.InvariantCulture, $"offset {offset}: ");
        }

        if (seqno is not null)
        {
            where.Append(CultureInfo.InvariantCulture, $"seqno {seqno}: ");
        }

        return $"{where}{error}: {detail}";
    }
}
