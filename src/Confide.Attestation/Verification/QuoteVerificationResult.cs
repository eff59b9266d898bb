using Confide.Attestation.Quotes;

namespace Confide.Attestation.Verification;

/// <summary>
/// The outcome of verifying a quote: verified or not (and why not), the TCB status and advisories,
/// and the quote with its claims. A result that is not verified may still carry the status when
/// every cryptographic check passed but the policy refused it.
/// </summary>
public sealed record QuoteVerificationResult
{
    public required bool Verified { get; init; }

    public VerificationError? Error { get; init; }

    public string? ErrorMessage { get; init; }

    public Quote? Quote { get; init; }

    public TcbStatus? TcbStatus { get; init; }

    public TcbStatus? QeTcbStatus { get; init; }

    /// <summary>Advisories of the matched platform TCB level, the QE level and the TDX module level (deduplicated).</summary>
    public IReadOnlyList<string> AdvisoryIds { get; init; } = [];

    /// <summary>True when the quote chains to a simulation root.</summary>
    public bool IsSimulated { get; init; }

    public int? TcbEvaluationDataNumber { get; init; }

    /// <summary>The window [from, until) in which every collateral item is valid.</summary>
    public DateTimeOffset? CollateralValidFrom { get; init; }

    public DateTimeOffset? CollateralValidUntil { get; init; }

    public DateTimeOffset VerifiedAt { get; init; }
}
