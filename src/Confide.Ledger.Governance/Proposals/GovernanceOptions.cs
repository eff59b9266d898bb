using Confide.Ledger.Governance.Constitution;

namespace Confide.Ledger.Governance.Proposals;

/// <summary>Settings of a <see cref="GovernanceEngine"/>.</summary>
public sealed record GovernanceOptions
{
    /// <summary>The settings used unless others are given.</summary>
    public static GovernanceOptions Default { get; } = new();

    /// <summary>What each constitution function and ballot may spend.</summary>
    public SandboxLimits Limits { get; init; } = SandboxLimits.Default;

    /// <summary>How far a proposal's <c>created_at</c> may be from the node's clock, either way.</summary>
    public TimeSpan CreatedAtTolerance { get; init; } = TimeSpan.FromMinutes(5);
}
