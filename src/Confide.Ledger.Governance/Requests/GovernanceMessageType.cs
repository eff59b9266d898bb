namespace Confide.Ledger.Governance.Requests;

/// <summary>The kinds of signed governance message (<c>ccf.gov.msg.type</c>).</summary>
public enum GovernanceMessageType
{
    /// <summary><c>proposal</c>: creates a proposal; the payload is <c>{"actions": [...]}</c>.</summary>
    Proposal,

    /// <summary><c>ballot</c>: a vote on <c>ccf.gov.msg.proposal_id</c>; the payload is <c>{"ballot": "export function vote..."}</c>.</summary>
    Ballot,

    /// <summary><c>withdrawal</c>: the proposer withdraws <c>ccf.gov.msg.proposal_id</c>; empty payload.</summary>
    Withdrawal,

    /// <summary><c>ack</c>: a member acknowledges its state digest; the payload is <c>{"stateDigest": "..."}</c>.</summary>
    Ack,

    /// <summary><c>state_digest</c>: a member asks for a fresh state digest to acknowledge; empty payload.</summary>
    StateDigest,

    /// <summary><c>recovery_share</c>: a member submits its decrypted recovery share.</summary>
    RecoveryShare,
}

/// <summary>The wire names of <see cref="GovernanceMessageType"/>.</summary>
public static class GovernanceMessageTypes
{
    /// <summary>The <c>ccf.gov.msg.type</c> value of <paramref name="type"/>.</summary>
    public static string ToWireName(this GovernanceMessageType type) => type switch
    {
        GovernanceMessageType.Proposal => "proposal",
        GovernanceMessageType.Ballot => "ballot",
        GovernanceMessageType.Withdrawal => "withdrawal",
        GovernanceMessageType.Ack => "ack",
        GovernanceMessageType.StateDigest => "state_digest",
        GovernanceMessageType.RecoveryShare => "recovery_share",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not a governance message type."),
    };

    /// <summary>The message type named <paramref name="wireName"/>, if it is one.</summary>
    public static bool TryParse(string wireName, out GovernanceMessageType type)
    {
        foreach (GovernanceMessageType candidate in Enum.GetValues<GovernanceMessageType>())
        {
            if (candidate.ToWireName() == wireName)
            {
                type = candidate;
                return true;
            }
        }

        type = default;
        return false;
    }

    /// <summary>True for the types that name the proposal they are about (<c>ccf.gov.msg.proposal_id</c>).</summary>
    public static bool RequiresProposalId(this GovernanceMessageType type) =>
        type is GovernanceMessageType.Ballot or GovernanceMessageType.Withdrawal;
}
