namespace Confide.Ledger.Node;

/// <summary>The status of a transaction id, as CCF reports it (GET /node/tx).</summary>
public enum TxStatus
{
    /// <summary>This node knows nothing of it (yet).</summary>
    Unknown,

    /// <summary>In this node's log, not yet covered by a committed signature.</summary>
    Pending,

    /// <summary>Committed: a signature at or after it is committed by a majority. Final.</summary>
    Committed,

    /// <summary>Another transaction holds its seqno: it will never commit. Final.</summary>
    Invalid,
}

/// <summary>
/// A write was handed to the consensus log and the leadership changed before the append was
/// confirmed: it may yet commit (a majority may hold it), or become Invalid. Not to be run again
/// until its status says Invalid (CCF's clients poll <c>/node/tx</c> for this).
/// </summary>
public sealed class WriteOutcomeUnknownException(Confide.Ledger.Ledger.TxId transactionId, Exception inner)
    : Exception($"Transaction {transactionId} was handed to the log as this node lost the leadership: it may still commit. Ask its status; send it again only if it becomes Invalid.", inner)
{
    public Confide.Ledger.Ledger.TxId TransactionId { get; } = transactionId;
}
