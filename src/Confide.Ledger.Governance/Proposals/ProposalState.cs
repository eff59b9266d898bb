using System.Text.Json.Serialization;

namespace Confide.Ledger.Governance.Proposals;

/// <summary>Where a proposal is in its life (CCF's <c>ProposalState</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ProposalState>))]
public enum ProposalState
{
    /// <summary>Collecting ballots.</summary>
    Open,

    /// <summary>Resolved to accepted and applied.</summary>
    Accepted,

    /// <summary>Withdrawn by its proposer.</summary>
    Withdrawn,

    /// <summary>Resolved to rejected.</summary>
    Rejected,

    /// <summary>resolve or apply failed; <c>failure</c> says why, and nothing was applied.</summary>
    Failed,

    /// <summary>Invalidated while open by another accepted proposal (a new constitution, a new code id).</summary>
    Dropped,
}
