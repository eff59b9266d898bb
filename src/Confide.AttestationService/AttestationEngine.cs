using System.Text.Json;
using Confide.Attestation.Collateral;
using Confide.Attestation.Policy;
using Confide.Attestation.Verification;
using Confide.AttestationService.Policies;
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
/// binding, apply the tenant's policy for the attestation type (or the request's draft policy),
/// and issue the token.
/// </summary>
public sealed class AttestationEngine
{
    private readonly AttestationServiceOptions _options;
    private readonly AttestationTokenSigner _signer;
    private readonly QuoteVerifier _verifier;
    private readonly VerificationPolicy _verification;

    public AttestationEngine(AttestationServiceOptions options, AttestationTokenSigner signer, PolicyStore? policies = null)
    {
        _options = options;
        _signer = signer;
        Policies = policies ?? new PolicyStore(directory: null);
        _verifier = new QuoteVerifier(options.Verifier);

        // Any TCB level that is not revoked gets a token; the level is in the claims for policies to judge.
        _verification = VerificationPolicy.AnyNonRevokedTcb with { AllowSimulation = options.AllowSimulation };
    }

    public string Issuer => _signer.Issuer;

    public PolicyStore Policies { get; }

    /// <summary>Attests SGX evidence (<c>/attest/SgxEnclave</c>; <c>/attest/OpenEnclave</c> after its header is removed).</summary>
    public Task<AttestOutcome> AttestSgxAsync(AttestRequest request, CancellationToken cancellationToken) =>
        AttestAsync(AttestationType.SgxEnclave, request, cancellationToken);

    public async Task<AttestOutcome> AttestAsync(AttestationType type, AttestRequest request, CancellationToken cancellationToken)
    {
        QuoteVerificationResult result = await _verifier.VerifyAsync(request.Evidence, _options.Collateral, _verification, cancellationToken).ConfigureAwait(false);
        if (!result.Verified)
        {
            return AttestOutcome.Failed(ErrorCode(result.Error), $"Attestation failed: {result.Error}: {result.ErrorMessage}");
        }

        bool tdx = type == AttestationType.TdxVm;
        if (tdx && result.Quote!.TdBody is null)
        {
            return AttestOutcome.Failed("InvalidParameter", "The evidence is an SGX quote; use /attest/SgxEnclave.");
        }

        if (!tdx && result.Quote!.SgxBody is null)
        {
            return AttestOutcome.Failed("InvalidParameter", "The evidence is a TDX quote; use /attest/TdxVm.");
        }

        if (request.RuntimeData is { } runtime && !runtime.IsBoundTo(result.Quote!.ReportData))
        {
            return AttestOutcome.Failed("InvalidParameter", "SuppliedRuntimeDataDigest does not match RuntimeData Digest in quote: SHA-256 of runtimeData.data must be the first 32 bytes of the report data.");
        }

        // SGX: init-time data was fixed when the enclave was launched, in its CONFIGID (Ice Lake and
        // later; on earlier CPUs CONFIGID is zero and no init-time data can match). Azure Attestation
        // documents no TDX field for it, so for TDX it is exposed but not checked.
        if (!tdx && request.InitTimeData is { } initTime && !initTime.IsBoundToConfigId(result.Quote!.SgxBody!.ConfigId))
        {
            return AttestOutcome.Failed("InvalidParameter", "SuppliedInitTimeDataDigest does not match the enclave's CONFIGID: SHA-256 of initTimeData.data must be the first 32 bytes of the quote's config id.");
        }

        StoredPolicy stored = Policies.Get(type);
        AttestationPolicy policy = stored.Policy;
        if (request.DraftPolicy is { } draft && !AttestationPolicy.TryParse(draft, out policy!, out PolicyParseException? syntax))
        {
            return AttestOutcome.Failed("InvalidPolicy", $"The draft policy is not valid: {syntax!.Message}");
        }

        string policyText = request.DraftPolicy ?? stored.Text;
        Dictionary<string, object> claims;
        try
        {
            claims = tdx
                ? TdxTokenClaims.Build(result, policyText, request.RuntimeData, request.InitTimeData, request.Nonce)
                : SgxTokenClaims.Build(result, await CollateralAsync(result, cancellationToken).ConfigureAwait(false), policyText, request.RuntimeData, request.InitTimeData, request.Nonce);
        }
        catch (JsonException ex)
        {
            return AttestOutcome.Failed("InvalidParameter", $"Data of type JSON is not valid JSON: {ex.Message}");
        }
        catch (CollateralException ex)
        {
            return AttestOutcome.Failed("InvalidQuoteCollateral", $"Collateral could not be obtained: {ex.Message}");
        }

        if (request.DraftPolicy is null && stored.Signer is not null)
        {
            claims["x-ms-policy-signer"] = JsonSerializer.SerializeToElement(Jws.SignerJwk(stored.Signer));
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

        DateTimeOffset now = _options.Clock.GetUtcNow();
        string token = request.DraftPolicy is null ? _signer.CreateToken(claims, now) : _signer.CreateUnsignedToken(claims, now);
        return new AttestOutcome(token, null, null);
    }

    // The verifier has fetched this collateral already (and caches it); the token hashes it.
    private async Task<QuoteCollateral> CollateralAsync(QuoteVerificationResult result, CancellationToken cancellationToken)
    {
        QuoteVerifier.TryDescribe(result.Quote!, out CollateralRequest? collateralRequest);
        return await _options.Collateral.GetCollateralAsync(collateralRequest!, cancellationToken).ConfigureAwait(false);
    }

    private static string ErrorCode(VerificationError? error) => error switch
    {
        VerificationError.MalformedQuote or VerificationError.UnsupportedQuote => "InvalidParameter",
        VerificationError.MissingCollateral or VerificationError.MalformedCollateral => "InvalidQuoteCollateral",
        _ => "InvalidQuote",
    };
}
