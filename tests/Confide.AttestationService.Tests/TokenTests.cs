using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.AttestationService.Tokens;
using Confide.Tee;
using Confide.Tee.Simulation;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Tests;

/// <summary>Tokens as Azure Attestation issues them, for a simulated SGX quote verified end to end.</summary>
public sealed class TokenTests : IDisposable
{
    private const string Issuer = "https://127.0.0.1:8443";
    private const string Policy = "version= 1.0;\nauthorizationrules { => permit(); };";
    private static readonly byte[] RuntimeBytes = [1, 2, 3, 4, 5, 6];

    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("confide-token-tests-");
    private readonly SimulatedPlatform _platform;
    private readonly TeeIdentity _identity = new(TeeKind.Simulation, SHA256.HashData("enclave"u8), SHA256.HashData("signer"u8), 4639, 3, false);

    public TokenTests() => _platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_state.FullName, "sim"));

    [Fact]
    public async Task Sgx_claims_carry_the_identity_report_data_runtime_data_and_legacy_names()
    {
        (QuoteVerificationResult result, QuoteCollateral collateral) = await VerifiedAsync(SHA256.HashData(RuntimeBytes));
        var runtime = new RuntimeData(RuntimeBytes, RuntimeDataType.Binary);
        Assert.True(runtime.IsBoundTo(result.Quote!.ReportData));

        Dictionary<string, object> claims = SgxTokenClaims.Build(result, collateral, Policy, runtime, nonce: "n-1");

        Assert.Equal("1.0", claims["x-ms-ver"]);
        Assert.Equal("sgx", claims["x-ms-attestation-type"]);
        Assert.Equal(_identity.UniqueIdHex, claims["x-ms-sgx-mrenclave"]);
        Assert.Equal(_identity.SignerIdHex, claims["x-ms-sgx-mrsigner"]);
        Assert.Equal(4639, claims["x-ms-sgx-product-id"]);
        Assert.Equal(3, claims["x-ms-sgx-svn"]);
        Assert.Equal(false, claims["x-ms-sgx-is-debuggable"]);
        Assert.Equal("AQIDBAUG", claims["x-ms-sgx-ehd"]);
        Assert.Equal(Convert.ToHexStringLower(result.Quote.ReportData), claims["x-ms-sgx-report-data"]);
        Assert.Equal(128, ((string)claims["x-ms-sgx-report-data"]).Length);
        Assert.Equal("n-1", claims["nonce"]);
        Assert.False(claims.ContainsKey("sgx-mrenclave")); // legacy names come from the policy's issuance rules

        var input = SgxTokenClaims.ToPolicyInput(claims);
        Assert.Contains(input, c => c.Type == "x-ms-sgx-product-id" && Equals(c.Value, 4639L) && c.Issuer == "AttestationService");
        Assert.Contains(input, c => c.Type == "$is-debuggable" && Equals(c.Value, false));
        Assert.DoesNotContain(input, c => c.Type == "x-ms-sgx-collateral");
        var collateralHashes = (Dictionary<string, object>)claims["x-ms-sgx-collateral"];
        Assert.Equal(["qeidcertshash", "qeidcrlhash", "qeidhash", "quotehash", "tcbinfocertshash", "tcbinfocrlhash", "tcbinfohash"], collateralHashes.Keys.Order());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(result.Quote.RawQuote)), collateralHashes["quotehash"]);
    }

    [Fact]
    public void Runtime_data_not_hashed_into_the_report_data_is_not_bound()
    {
        var runtime = new RuntimeData(RuntimeBytes, RuntimeDataType.Binary);
        Assert.False(runtime.IsBoundTo(new byte[64]));
        Assert.False(runtime.IsBoundTo(new byte[16]));
    }

    [Fact]
    public async Task Json_runtime_data_becomes_the_x_ms_runtime_object()
    {
        byte[] json = """{"jwk":{"kty":"EC","crv":"P-256"}}"""u8.ToArray();
        (QuoteVerificationResult result, QuoteCollateral collateral) = await VerifiedAsync(SHA256.HashData(json));

        Dictionary<string, object> claims = SgxTokenClaims.Build(result, collateral, Policy, new RuntimeData(json, RuntimeDataType.Json));
        var runtime = (JsonElement)claims["x-ms-runtime"];
        Assert.Equal("P-256", runtime.GetProperty("jwk").GetProperty("crv").GetString());
        Assert.False(claims.ContainsKey("x-ms-sgx-ehd"));
    }

    [Fact]
    public async Task Claims_are_refused_for_evidence_that_did_not_verify()
    {
        (QuoteVerificationResult result, QuoteCollateral collateral) = await VerifiedAsync(new byte[32]);
        Assert.Throws<ArgumentException>(() => SgxTokenClaims.Build(result with { Verified = false }, collateral, Policy));
    }

    [Fact]
    public void The_policy_hash_follows_the_documented_formula()
    {
        string inner = Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(Policy));
        string expected = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(inner)));
        Assert.Equal(expected, PolicyHash.Compute(Policy));
        Assert.NotEqual(PolicyHash.Compute(Policy), PolicyHash.Compute(Policy + " "));
    }

    [Fact]
    public async Task A_token_is_an_rs256_jwt_with_jku_kid_and_an_eight_hour_lifetime_that_validates_with_the_published_key()
    {
        (QuoteVerificationResult result, QuoteCollateral collateral) = await VerifiedAsync(SHA256.HashData(RuntimeBytes));
        using AttestationTokenSigner signer = AttestationTokenSigner.Create(Issuer);
        var now = DateTimeOffset.UtcNow;
        string token = signer.CreateToken(SgxTokenClaims.Build(result, collateral, Policy, new RuntimeData(RuntimeBytes, RuntimeDataType.Binary)), now);

        var jwt = new JsonWebToken(token);
        Assert.Equal("RS256", jwt.Alg);
        Assert.Equal("JWT", jwt.Typ);
        Assert.Equal(signer.KeyId, jwt.Kid);
        Assert.Equal(Issuer + "/certs", jwt.GetHeaderValue<string>("jku"));
        Assert.Equal(28800, jwt.GetPayloadValue<long>("exp") - jwt.GetPayloadValue<long>("iat"));
        Assert.Matches("^[0-9a-f]{64}$", jwt.Id);
        Assert.Equal("CN=" + Issuer, signer.Current.Certificate.Subject);

        // Validate as a relying party would: with the key from the JWK's x5c, the issuer and the lifetime.
        var published = signer.ToJwk();
        using X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(published["x5c"]![0]!.GetValue<string>()));
        TokenValidationResult validation = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidateAudience = false,
            IssuerSigningKey = new X509SecurityKey(certificate) { KeyId = published["kid"]!.GetValue<string>() },
        });
        Assert.True(validation.IsValid, validation.Exception?.Message);
        Assert.Equal(_identity.UniqueIdHex, validation.Claims["x-ms-sgx-mrenclave"]);

        // A token signed by another key does not validate with this one.
        using AttestationTokenSigner other = AttestationTokenSigner.Create(Issuer);
        TokenValidationResult forged = await new JsonWebTokenHandler().ValidateTokenAsync(other.CreateToken(new Dictionary<string, object> { ["x"] = 1 }, now), new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidateAudience = false,
            IssuerSigningKey = new X509SecurityKey(certificate),
        });
        Assert.False(forged.IsValid);
    }

    public void Dispose()
    {
        _platform.Dispose();
        _state.Delete(recursive: true);
    }

    private async Task<(QuoteVerificationResult, QuoteCollateral)> VerifiedAsync(byte[] reportData)
    {
        using var tee = new SimulationTee(_platform, _identity);
        TeeEvidence evidence = await tee.GetEvidenceAsync(reportData, TestContext.Current.CancellationToken);
        QuoteCollateral collateral = QuoteCollateral.FromJson(evidence.CollateralJson!);
        var options = new QuoteVerifierOptions();
        options.SimulationRoots.Add(_platform.RootCertificate);
        QuoteVerificationResult result = new QuoteVerifier(options).Verify(evidence.Data, collateral, VerificationPolicy.Default with { AllowSimulation = true });
        Assert.True(result.Verified, result.ErrorMessage);
        return (result, collateral);
    }
}
