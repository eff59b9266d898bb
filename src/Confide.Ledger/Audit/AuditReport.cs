using System.Globalization;
using System.Text;
using Confide.Ledger.Ledger;

namespace Confide.Ledger.Audit;

/// <summary>What is wrong with the first bad entry an audit found.</summary>
public enum AuditProblem
{
    /// <summary>The files or an entry are malformed (see <see cref="AuditFailure.FormatError"/>).</summary>
    MalformedLedger,

    /// <summary>With the secret: an entry's GCM tag or commit evidence does not verify (altered, or another secret).</summary>
    TamperedEntry,

    /// <summary>The ledger does not start at seqno 1, so the Merkle tree cannot be rebuilt.</summary>
    NotFromGenesis,

    /// <summary>The entry differs from the one a later signature covers (found through the tree the signature recorded).</summary>
    LeafMismatch,

    /// <summary>A signature's root is not the root of the entries before it, and the culprit could not be narrowed down.</summary>
    RootMismatch,

    /// <summary>A signature transaction whose record does not parse or does not match the entry's transaction ID.</summary>
    MalformedSignature,

    /// <summary>The tree a signature transaction recorded does not have the signed root.</summary>
    RecordedTreeMismatch,

    /// <summary>The signature's node ID is not its certificate's key.</summary>
    NodeIdMismatch,

    /// <summary>The ECDSA signature does not verify over the recorded root with the recorded certificate.</summary>
    BadSignature,

    /// <summary>The signing node's certificate is not endorsed by the service identity.</summary>
    UntrustedNode,

    /// <summary>The COSE ledger signature beside the node's is not the service identity's signature of this root at this transaction.</summary>
    BadCoseSignature,
}

/// <summary>The first bad entry of a ledger: where it is and what is wrong.</summary>
public sealed record AuditFailure(AuditProblem Problem, string Message, string? File, long? Offset, long? Seqno, LedgerFormatError? FormatError = null)
{
    public override string ToString()
    {
        var where = new StringBuilder();
        if (Seqno is not null)
        {
            where.Append(CultureInfo.InvariantCulture, $"seqno {Seqno} ");
        }

        if (File is not null)
        {
            where.Append(CultureInfo.InvariantCulture, $"in {Path.GetFileName(File)} ");
        }

        if (Offset is not null)
        {
            where.Append(CultureInfo.InvariantCulture, $"at offset {Offset} ");
        }

        return $"{Problem}: {where}— {Message}";
    }
}

/// <summary>The result of <see cref="LedgerAuditor.Audit"/>.</summary>
public sealed class AuditReport
{
    internal AuditReport()
    {
    }

    /// <summary>True when no problem was found.</summary>
    public bool Passed => Failure is null;

    /// <summary>The first bad entry, or null.</summary>
    public AuditFailure? Failure { get; internal set; }

    /// <summary>Entries read (up to the failure, if any).</summary>
    public long EntryCount { get; internal set; }

    /// <summary>The first seqno read (0 for an empty ledger).</summary>
    public long FirstSeqno { get; internal set; }

    /// <summary>The last seqno read.</summary>
    public long LastSeqno { get; internal set; }

    /// <summary>Signature transactions verified.</summary>
    public int SignatureCount { get; internal set; }

    /// <summary>The last signature transaction verified: everything before it is proven.</summary>
    public TxId? LastSignedTxId { get; internal set; }

    /// <summary>
    /// Entries after the last signature: not covered by any signature yet (not an error; a ledger
    /// normally ends with a few). With the secret their GCM tags were still checked.
    /// </summary>
    public long UnsignedCount { get; internal set; }

    /// <summary>True when the secret was given: every private domain and commit evidence was checked.</summary>
    public bool PrivateDomainsVerified { get; internal set; }

    public override string ToString()
    {
        string summary = string.Create(CultureInfo.InvariantCulture, $"{EntryCount} entries ({FirstSeqno}..{LastSeqno}), {SignatureCount} signatures, last signed {LastSignedTxId?.ToString() ?? "none"}, {UnsignedCount} unsigned");
        return Passed ? $"Passed: {summary}" : $"Failed: {Failure} ({summary})";
    }
}
