namespace Confide.Attestation.Policy;

/// <summary>The outcome of <see cref="AttestationPolicy.Evaluate"/>.</summary>
/// <param name="Permitted">
/// True when at least one authorization rule with <c>permit()</c> fired and no rule with
/// <c>deny()</c> fired (see <see cref="AttestationPolicy.Evaluate"/>). False means no token is issued.
/// </param>
/// <param name="IssuedClaims">
/// Claims produced by <c>issue(...)</c> in issuance rules, in order; empty when not permitted
/// (issuance rules are not run then).
/// </param>
/// <param name="Configuration">
/// Property claims from <c>issueproperty(type=..., value=...)</c> (configuration rules and any other
/// section), keyed by type; a later rule overwrites an earlier value of the same type.
/// </param>
/// <param name="IncomingClaims">The final incoming claim set, including claims added by <c>add</c>/<c>issue</c>.</param>
public sealed record PolicyEvaluationResult(
    bool Permitted,
    IReadOnlyList<PolicyClaim> IssuedClaims,
    IReadOnlyDictionary<string, object> Configuration,
    IReadOnlyList<PolicyClaim> IncomingClaims);
