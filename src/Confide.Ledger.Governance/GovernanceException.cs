namespace Confide.Ledger.Governance;

/// <summary>Why a governance request was refused (CCF's error codes where it has one).</summary>
public enum GovernanceErrorCode
{
    /// <summary>Not a tagged COSE_Sign1 with an embedded payload and the governance protected headers.</summary>
    Malformed,

    /// <summary>The signed body is not what the message type requires (a ballot without <c>"ballot"</c>, an ack without <c>"stateDigest"</c>).</summary>
    InvalidInput,

    /// <summary>The <c>kid</c> names no member certificate in the store.</summary>
    UnknownMember,

    /// <summary>The signature does not verify with the member's certificate, or the certificate is not the one <c>kid</c> names.</summary>
    InvalidSignature,

    /// <summary>The member exists but has not acknowledged the state digest yet (is Accepted, not Active).</summary>
    MemberNotActive,

    /// <summary>The request's <c>ccf.gov.msg.type</c> is not the one this operation takes.</summary>
    WrongMessageType,

    /// <summary>This very signed proposal was already submitted (CCF's ProposalReplay).</summary>
    Replayed,

    /// <summary><c>created_at</c> is outside the accepted window, or older than the recent proposals kept (CCF's ProposalCreatedTooLongAgo).</summary>
    StaleRequest,

    /// <summary>No proposal with that id (it may have been finished and removed).</summary>
    ProposalNotFound,

    /// <summary>The proposal is not Open any more.</summary>
    ProposalNotOpen,

    /// <summary>The constitution's <c>validate</c> refused the proposal, or could not run on it.</summary>
    ProposalFailedToValidate,

    /// <summary>The member already submitted a different ballot for this proposal.</summary>
    VoteAlreadyExists,

    /// <summary>Only the proposer may withdraw a proposal.</summary>
    NotProposer,

    /// <summary>No constitution is stored, so nothing can be validated or resolved.</summary>
    NoConstitution,

    /// <summary>The member has no state digest to acknowledge (it must ask for one first).</summary>
    StateDigestNotFound,

    /// <summary>The acknowledged state digest is not the one recorded for the member.</summary>
    StateDigestMismatch,

    /// <summary>A constitution or ballot script threw, returned the wrong thing, or hit a sandbox limit.</summary>
    ScriptFailed,
}

/// <summary>A refused governance request, with a typed reason.</summary>
public class GovernanceException(GovernanceErrorCode code, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The reason.</summary>
    public GovernanceErrorCode Code { get; } = code;
}
