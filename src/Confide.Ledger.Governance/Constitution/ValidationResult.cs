namespace Confide.Ledger.Governance.Constitution;

/// <summary>What the constitution's <c>validate(input)</c> returned: <c>{valid, description}</c>.</summary>
public sealed record ValidationResult(bool Valid, string Description);

/// <summary>One evaluated ballot as <c>resolve</c> sees it: <c>{member_id, vote}</c>.</summary>
public sealed record BallotVote(string MemberId, bool Vote);
