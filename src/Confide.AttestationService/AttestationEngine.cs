using Confide.Attestation.Collateral;
using Confide.Attestation.Policy;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;
using Confide.AttestationService.Tokens;

namespace Confide.AttestationService;

/// <summary>An attest request, decoded: the evidence, its bound data, an optional draft policy, a nonce.</summary>
public sealed record AttestRequest(byte[] Evidence, RuntimeData? RuntimeData = null, RuntimeData? InitTimeData = null, string? DraftPolicy = null, string? Nonce = null);

/// <summary>A token, or an Azure-Attestation-style error code and message.</summary>
public sealed record AttestOutcome(string? Token, string? ErrorCode, string? ErrorMessage)
{
    public static AttestOutcome Failed(string code, string message) => new(null, code, message);
}

/// <summary>
/// The service's core, independent of HTTP: verify the evidence (DCAP), check the runtime-data
/// binding, apply the attestation policy, and issue the token.
/// </summary>
/// <remarks>
/// The policy is Azure Attestation's default SGX policy, or the request's draft policy. Stored
/// tenant policies (GET/PUT /policies) are not implemented yet.
/// </remarks>
public sealed class AttestationEngine(AttestationServiceOptions options, AttestationTokenSigner signer)
{
    private readonly AttestationPolicy _defaultSgxPolicy = AttestationPolicy.Parse(DefaultPolicies.SgxEnclave);

    private readonly QuoteVerifier _verifier = new(options.Verifier);
    private readonly VerificationPolicy _policy = VerificationPolicy.AnyNonRevokedTcb with { AllowSimulation = options.AllowSimulation };

    public string Issuer => signer.Issuer;

    /// <summary>The policy currently in force for SGX enclaves.</summary>
    public string SgxPolicy { get; } = DefaultPolicies.SgxEnclave;

    public async Task<AttestOutcome> AttestSgxAsync(AttestRequest request, CancellationToken cancellationToken)
    {
        QuoteVerificationResult result = await _verifier.VerifyAsync(request.Evidence, options.Collateral, _policy, cancellationToken).ConfigureAwait(false);
        if (!result.Verified)
        {
            return AttestOutcome.Failed(ErrorCode(result.Error), $"Attestation failed: {result.Error}: {result.ErrorMessage}");
        }

        if (result.Quote!.SgxBody is null)
        {
            return AttestOutcome.Failed("InvalidParameter", "The evidence is a TDX quote; use /attest/TdxVm.");
        }

        if (request.RuntimeData is { } runtime && !runtime.IsBoundTo(result.Quote.ReportData))
        {
            return AttestOutcome.Failed("InvalidParameter", "SuppliedRuntimeDataDigest does not match RuntimeData Digest in quote: SHA-256 of runtimeData.data must be the first 32 bytes of the report data.");
        }

        QuoteCollateral collateral;
        try
        {
            QuoteVerifier.TryDescribe(result.Quote, out CollateralRequest? collateralRequest);
            collateral = await options.Collateral.GetCollateralAsync(collateralRequest!, cancellationToken).ConfigureAwait(false);
        }
        catch (CollateralException ex)
        {
            return AttestOutcome.Failed("InvalidQuote", $"Collateral could not be obtained: {ex.Message}");
        }

        AttestationPolicy policy = _defaultSgxPolicy;
        if (request.DraftPolicy is { } draft && !AttestationPolicy.TryParse(draft, out policy!, out PolicyParseException? syntax))
        {
            return AttestOutcome.Failed("InvalidPolicy", $"The draft policy is not valid: {syntax!.Message}");
        }

        Dictionary<string, object> claims;
        try
        {
            claims = SgxTokenClaims.Build(result, collateral, request.DraftPolicy ?? SgxPolicy, request.RuntimeData, request.InitTimeData, request.Nonce);
        }
        catch (System.Text.Json.JsonException ex)
        {
            return AttestOutcome.Failed("InvalidParameter", $"Data of type JSON is not valid JSON: {ex.Message}");
        }

        PolicyEvaluationResult evaluation;
        try
        {
            evaluation = policy.Evaluate(SgxTokenClaims.ToPolicyInput(claims));
        }
        catch (PolicyEvaluationException ex)
        {
            return AttestOutcome.Failed("PolicyEvaluationError", $"The attestation policy could not be evaluated: {ex.Message}");
        }

        if (!evaluation.Permitted)
        {
            return AttestOutcome.Failed("PolicyEvaluationError", "The attestation policy's authorization rules do not permit this evidence.");
        }

        foreach (PolicyClaim issued in evaluation.IssuedClaims)
        {
            claims[issued.Type] = issued.Value;
        }

        DateTimeOffset now = options.Verifier.TimeProvider.GetUtcNow();
        string token = request.DraftPolicy is null ? signer.CreateToken(claims, now) : signer.CreateUnsignedToken(claims, now);
        return new AttestOutcome(token, null, null);
    }

    private static string ErrorCode(VerificationError? error) => error switch
    {
        VerificationError.MalformedQuote or VerificationError.UnsupportedQuote => "InvalidParameter",
        VerificationError.MissingCollateral or VerificationError.MalformedCollateral => "InvalidQuoteCollateral",
        _ => "InvalidQuote",
    };
}
