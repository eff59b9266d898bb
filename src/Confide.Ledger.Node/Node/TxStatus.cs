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
