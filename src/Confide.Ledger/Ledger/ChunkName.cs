using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Confide.Ledger.Ledger;

/// <summary>
/// A chunk file name, CCF's: <c>ledger_&lt;start&gt;</c> (open, still being appended to),
/// <c>ledger_&lt;start&gt;-&lt;end&gt;</c> (complete: ends on a signature, has its offset table) and
/// <c>ledger_&lt;start&gt;-&lt;end&gt;.committed</c> (complete and committed: immutable).
/// </summary>
public readonly record struct ChunkName(long Start, long? End, bool IsCommitted)
{
    private const string Prefix = "ledger_";
    private const string CommittedSuffix = ".committed";

    /// <summary>True once the chunk ends on a signature and has its offset table.</summary>
    public bool IsComplete => End is not null;

    /// <summary>The file name.</summary>
    public string FileName =>
        End is long end
            ? string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Start}-{end}{(IsCommitted ? CommittedSuffix : string.Empty)}")
            : string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Start}");

    /// <summary>True when the name is one of CCF's chunk names this code reads or writes.</summary>
    public static bool IsChunkLike(string fileName) => fileName.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>True for the names CCF uses around recovery, which are not part of the ledger proper.</summary>
    public static bool IsIgnored(string fileName) =>
        fileName.EndsWith(".recovery", StringComparison.Ordinal) || fileName.EndsWith(".ignored", StringComparison.Ordinal);

    /// <summary>Parses a chunk file name; false for anything else.</summary>
    public static bool TryParse(string fileName, [NotNullWhen(true)] out ChunkName? name)
    {
        name = null;
        if (!fileName.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        ReadOnlySpan<char> rest = fileName.AsSpan(Prefix.Length);
        bool committed = rest.EndsWith(CommittedSuffix, StringComparison.Ordinal);
        if (committed)
        {
            rest = rest[..^CommittedSuffix.Length];
        }

        int dash = rest.IndexOf('-');
        if (dash < 0)
        {
            if (committed || !TryParseSeqno(rest, out long openStart) || openStart < 1)
            {
                return false;
            }

            name = new ChunkName(openStart, null, false);
            return true;
        }

        if (!TryParseSeqno(rest[..dash], out long start) || !TryParseSeqno(rest[(dash + 1)..], out long end) || start < 1 || end < start)
        {
            return false;
        }

        name = new ChunkName(start, end, committed);
        return true;
    }

    public override string ToString() => FileName;

    private static bool TryParseSeqno(ReadOnlySpan<char> digits, out long value)
    {
        value = 0;
        return digits.Length > 0
            && digits.IndexOfAnyExceptInRange('0', '9') < 0
            && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
