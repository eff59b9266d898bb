using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Confide.Attestation.Verification;
using Confide.AttestationService.Tokens;
using Confide.Tee;
using Confide.Tee.Simulation;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Tests;

/// <summary>GET/PUT /policies/{type}, :reset and /certificates over HTTPS, behind the bearer token.</summary>
public sealed class PolicyManagementTests : IAsyncDisposable
{
    private const string DenyAll = "version=1.0; authorizationrules { =>deny(); }; issuancerules { };";

    private const string CustomPolicy = """
        version= 1.0;
        authorizationrules
        {
            [ type=="x-ms-sgx-is-debuggable", value==false ] &&
            [ type=="x-ms-sgx-svn", value>= 0 ]
                => permit();
        };
        issuancerules {
            c:[type=="x-ms-sgx-mrsigner"] => issue(type="custom-signer", value=c.value);
        };
        """;

    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("confide-policy-tests-");
    private readonly SimulatedPlatform _platform;
    private readonly AdminTokens _admin = new();

    public PolicyManagementTests() => _platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_state.FullName, "sim"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Management_calls_need_a_valid_bearer_token_and_answer_401_in_the_maa_shape()
    {
        await using ServiceHost service = await ServiceHost.StartAsync(Options());
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string?[] refused =
        [
            null,
            "not-a-jwt",
            _admin.Create(key: otherKey),
            _admin.Create(issuer: "https://someone-else.example"),
            _admin.Create(audience: "https://management.azure.com"),
            _admin.Create(lifetime: TimeSpan.FromHours(-1)),
        ];
        foreach (string? token in refused)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/policies/SgxEnclave?api-version=2020-10-01");
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            await MaaAssert.ErrorAsync(await service.Client.SendAsync(request, Ct), "Unauthorized", "Access to /policies/SgxEnclave requires a valid JWT bearer token", HttpStatusCode.Unauthorized);
        }

        await MaaAssert.ErrorAsync(await service.Client.PutAsync("/policies/SgxEnclave?api-version=2020-10-01", new StringContent(Jws.CreatePolicy(DenyAll)), Ct), "Unauthorized", "requires a valid JWT", HttpStatusCode.Unauthorized);
        await MaaAssert.ErrorAsync(await service.Client.GetAsync("/certificates?api-version=2020-10-01", Ct), "Unauthorized", "requires a valid JWT", HttpStatusCode.Unauthorized);

        // Attestation stays anonymous.
        using HttpResponseMessage attest = await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", new { quote = Base64UrlEncoder.Encode(await QuoteAsync()) }, Ct);
        Assert.Equal(HttpStatusCode.OK, attest.StatusCode);

        // With no administrators' issuer configured nobody can manage the service.
        var unconfigured = Options();
        await using ServiceHost closed = await ServiceHost.StartAsync(new AttestationServiceOptions { Collateral = unconfigured.Collateral, Verifier = unconfigured.Verifier, AllowSimulation = true });
        await MaaAssert.ErrorAsync(await Admin(closed).GetAsync("/policies/SgxEnclave?api-version=2020-10-01", Ct), "Unauthorized", "requires a valid JWT", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_stored_policy_is_returned_applied_hashed_reset_and_kept_across_restarts()
    {
        string data = Path.Combine(_state.FullName, "service");
        byte[] quote = await QuoteAsync();
        string unsigned = Jws.CreatePolicy(CustomPolicy);

        await using (ServiceHost service = await ServiceHost.StartAsync(Options(), data))
        {
            HttpClient admin = Admin(service);

            // Before any PUT: Azure Attestation's default SGX policy, as an unsigned JWS.
            JsonWebToken initial = await MaaAssert.TokenAsync(await admin.GetAsync("/policies/SgxEnclave?api-version=2020-10-01", Ct));
            Assert.Equal(DefaultPolicies.SgxEnclave, PolicyText(initial.GetPayloadValue<string>("x-ms-policy")));
            Assert.True(await SignedByServiceAsync(service, initial));

            JsonWebToken set = await MaaAssert.TokenAsync(await admin.PutAsync("/policies/SgxEnclave?api-version=2020-10-01", new StringContent(unsigned, Encoding.UTF8, "text/plain"), Ct));
            Assert.Equal("Updated", set.GetPayloadValue<string>("x-ms-policy-result"));
            Assert.Equal(Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(unsigned))), set.GetPayloadValue<string>("x-ms-policy-token-hash"));
            Assert.False(set.TryGetPayloadValue<JsonElement>("x-ms-policy-signer", out _));
            Assert.True(await SignedByServiceAsync(service, set));
            Assert.Equal(3600, set.GetPayloadValue<long>("exp") - set.GetPayloadValue<long>("iat"));

            JsonWebToken got = await MaaAssert.TokenAsync(await admin.GetAsync("/policies/sgxenclave?api-version=2022-08-01", Ct));
            Assert.Equal(unsigned, got.GetPayloadValue<string>("x-ms-policy"));

            JsonWebToken attested = await AttestAsync(service, quote);
            Assert.Equal(PolicyHash.Compute(CustomPolicy), attested.GetPayloadValue<string>("x-ms-policy-hash"));
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("s"u8)), attested.GetPayloadValue<string>("custom-signer"));
            Assert.False(attested.TryGetPayloadValue<string>("sgx-mrsigner", out _)); // the default policy's rules no longer apply

            // OpenEnclave has its own policy, still the default.
            JsonWebToken openEnclave = await MaaAssert.TokenAsync(await admin.GetAsync("/policies/OpenEnclave?api-version=2020-10-01", Ct));
            Assert.Equal(DefaultPolicies.SgxEnclave, PolicyText(openEnclave.GetPayloadValue<string>("x-ms-policy")));
        }

        await using (ServiceHost restarted = await ServiceHost.StartAsync(Options(), data))
        {
            HttpClient admin = Admin(restarted);
            JsonWebToken got = await MaaAssert.TokenAsync(await admin.GetAsync("/policies/SgxEnclave?api-version=2020-10-01", Ct));
            Assert.Equal(unsigned, got.GetPayloadValue<string>("x-ms-policy"));

            await MaaAssert.TokenAsync(await admin.PutAsync("/policies/SgxEnclave?api-version=2020-10-01", new StringContent(Jws.CreatePolicy(DenyAll)), Ct));
            await MaaAssert.ErrorAsync(await restarted.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", new { quote = Base64UrlEncoder.Encode(quote) }, Ct), "PolicyEvaluationError", "do not permit");

            string reset = Jws.CreatePolicy(null);
            Assert.Equal("eyJhbGciOiJub25lIn0..", reset);
            JsonWebToken removed = await MaaAssert.TokenAsync(await admin.PostAsync("/policies/SgxEnclave:reset?api-version=2020-10-01", new StringContent(reset), Ct));
            Assert.Equal("Removed", removed.GetPayloadValue<string>("x-ms-policy-result"));
            Assert.Equal(Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(reset))), removed.GetPayloadValue<string>("x-ms-policy-token-hash"));
            JsonWebToken attested = await AttestAsync(restarted, quote);
            Assert.Equal(PolicyHash.Compute(DefaultPolicies.SgxEnclave), attested.GetPayloadValue<string>("x-ms-policy-hash"));
        }

        await using ServiceHost third = await ServiceHost.StartAsync(Options(), data);
        Assert.Equal(DefaultPolicies.SgxEnclave, PolicyText((await MaaAssert.TokenAsync(await Admin(third).GetAsync("/policies/SgxEnclave?api-version=2020-10-01", Ct))).GetPayloadValue<string>("x-ms-policy")));
        Assert.Empty(Directory.GetFiles(Path.Combine(data, "policies"), "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_stored_policy_that_no_longer_parses_stops_the_service_instead_of_falling_back_to_permit_all()
    {
        string data = Path.Combine(_state.FullName, "corrupt");
        Directory.CreateDirectory(Path.Combine(data, "policies"));
        File.WriteAllText(Path.Combine(data, "policies", "SgxEnclave.jws"), Jws.CreatePolicy(DenyAll)[..20]);
        InvalidDataException error = await Assert.ThrowsAsync<InvalidDataException>(() => ServiceHost.StartAsync(Options(), data));
        Assert.Contains("SgxEnclave", error.Message);
    }

    [Fact]
    public async Task Bad_policy_requests_get_precise_maa_errors()
    {
        await using ServiceHost service = await ServiceHost.StartAsync(Options());
        HttpClient admin = Admin(service);
        const string put = "/policies/SgxEnclave?api-version=2020-10-01";

        await MaaAssert.ErrorAsync(await admin.PutAsync(put, new StringContent(Jws.CreatePolicy("version=1.0; authorizationrules { => permit() };")), Ct), "InvalidPolicy", "Line 1, column");
        await MaaAssert.ErrorAsync(await admin.PutAsync(put, new StringContent("not a jws"), Ct), "InvalidParameter", "three dot-separated parts");
        await MaaAssert.ErrorAsync(await admin.PutAsync(put, new StringContent("eyJhbGciOiJub25lIn0.eyJ0ZXh0IjoieCJ9."), Ct), "InvalidParameter", "AttestationPolicy");
        await MaaAssert.ErrorAsync(await admin.PutAsync(put, new StringContent("eyJhbGciOiJub25lIn0.%%%."), Ct), "InvalidParameter", "base64url");
        await MaaAssert.ErrorAsync(await admin.PutAsync(put, new StringContent("eyJhbGciOiJub25lIn0.e30.c2ln"), Ct), "InvalidParameter", "empty signature");
        await MaaAssert.ErrorAsync(await admin.PutAsync(put, new StringContent(Jws.CreatePolicy(DenyAll) + "eA"), Ct), "InvalidParameter", "empty signature");

        using X509Certificate2 signer = PolicySigner("CN=policy signer");
        string signed = Jws.CreatePolicy(DenyAll, signer);
        string[] parts = signed.Split('.');
        string tampered = parts[0] + "." + Jws.CreatePolicy(CustomPolicy).Split('.')[1] + "." + parts[2];
        await MaaAssert.ErrorAsync(await admin.PutAsync(put, new StringContent(tampered), Ct), "InvalidParameter", "does not verify");
        string hs256 = Base64UrlEncoder.Encode("""{"alg":"HS256"}""") + "." + parts[1] + "." + parts[2];
        await MaaAssert.ErrorAsync(await admin.PutAsync(put, new StringContent(hs256), Ct), "InvalidParameter", "not supported");

        await MaaAssert.ErrorAsync(await admin.PutAsync("/policies/Tpm?api-version=2020-10-01", new StringContent(Jws.CreatePolicy(DenyAll)), Ct), "InvalidParameter", "not an attestation type");
        await MaaAssert.ErrorAsync(await admin.PutAsync("/policies/SgxEnclave?api-version=2018-09-01-preview", new StringContent(Jws.CreatePolicy(DenyAll)), Ct), "InvalidApiVersion", "not supported");
        await MaaAssert.ErrorAsync(await admin.PostAsync("/policies/SgxEnclave?api-version=2020-10-01", new StringContent(Jws.CreatePolicy(null)), Ct), "InvalidOperation", ":reset", HttpStatusCode.NotFound);
        await MaaAssert.ErrorAsync(await admin.PostAsync("/policies/SgxEnclave:reset?api-version=2020-10-01", new StringContent(Jws.CreatePolicy(DenyAll)), Ct), "InvalidParameter", "empty payload");
        await MaaAssert.ErrorAsync(await admin.PutAsync(put, new StringContent(new string('a', 2 * 1024 * 1024)), Ct), "RequestTooLarge", "exceeds", HttpStatusCode.RequestEntityTooLarge);

        // None of these changed anything.
        JsonWebToken got = await MaaAssert.TokenAsync(await admin.GetAsync("/policies/SgxEnclave?api-version=2020-10-01", Ct));
        Assert.Equal(DefaultPolicies.SgxEnclave, PolicyText(got.GetPayloadValue<string>("x-ms-policy")));

        // A signed policy on an AAD-mode instance is accepted and its signer reported; certificates cannot be managed.
        JsonWebToken set = await MaaAssert.TokenAsync(await admin.PutAsync(put, new StringContent(signed), Ct));
        Assert.Equal(Convert.ToBase64String(signer.RawData), set.GetPayloadValue<JsonElement>("x-ms-policy-signer").GetProperty("x5c")[0].GetString());
        using X509Certificate2 other = PolicySigner("CN=other");
        await MaaAssert.ErrorAsync(await admin.PostAsJsonAsync("/certificates:add?api-version=2020-10-01", Jws.CreatePolicyCertificateChange(other, signer), Ct), "InvalidOperation", "isolated-mode");
        JsonWebToken none = await MaaAssert.TokenAsync(await admin.GetAsync("/certificates?api-version=2020-10-01", Ct));
        Assert.Equal(0, none.GetPayloadValue<JsonElement>("x-ms-policy-certificates").GetProperty("keys").GetArrayLength());
    }

    [Fact]
    public async Task An_isolated_instance_takes_only_changes_signed_by_its_policy_management_certificates()
    {
        using X509Certificate2 first = PolicySigner("CN=first signer");
        using X509Certificate2 second = PolicySigner("CN=second signer", ec: true);
        string data = Path.Combine(_state.FullName, "isolated");
        AttestationServiceOptions options = Options();
        options.InitialPolicySigners.Add(X509CertificateLoader.LoadCertificate(first.RawData));
        byte[] quote = await QuoteAsync();
        const string put = "/policies/SgxEnclave?api-version=2020-10-01";

        await using (ServiceHost service = await ServiceHost.StartAsync(options, data))
        {
            HttpClient admin = Admin(service);
            await MaaAssert.ErrorAsync(await admin.PutAsync(put, new StringContent(Jws.CreatePolicy(CustomPolicy)), Ct), "PolicySignatureRequired", "isolated mode");
            await MaaAssert.ErrorAsync(await admin.PutAsync(put, new StringContent(Jws.CreatePolicy(CustomPolicy, second)), Ct), "InvalidPolicySigner", "CN=second signer");
            await MaaAssert.ErrorAsync(await admin.PostAsync("/policies/SgxEnclave:reset?api-version=2020-10-01", new StringContent(Jws.CreatePolicy(null)), Ct), "PolicySignatureRequired", "isolated mode");

            JsonWebToken set = await MaaAssert.TokenAsync(await admin.PutAsync(put, new StringContent(Jws.CreatePolicy(CustomPolicy, first)), Ct));
            Assert.Equal("RSA", set.GetPayloadValue<JsonElement>("x-ms-policy-signer").GetProperty("kty").GetString());
            JsonWebToken attested = await AttestAsync(service, quote);
            Assert.Equal(Convert.ToBase64String(first.RawData), attested.GetPayloadValue<JsonElement>("x-ms-policy-signer").GetProperty("x5c")[0].GetString());

            JsonWebToken listed = await MaaAssert.TokenAsync(await admin.GetAsync("/certificates?api-version=2020-10-01", Ct));
            JsonElement keys = listed.GetPayloadValue<JsonElement>("x-ms-policy-certificates").GetProperty("keys");
            Assert.Equal(Convert.ToBase64String(first.RawData), Assert.Single(keys.EnumerateArray()).GetProperty("x5c")[0].GetString());

            // Adding needs a current signer; the body is the JWS as a JSON string.
            await MaaAssert.ErrorAsync(await admin.PostAsJsonAsync("/certificates:add?api-version=2020-10-01", Jws.CreatePolicyCertificateChange(second, second), Ct), "InvalidPolicySigner", "CN=second signer");
            JsonWebToken added = await MaaAssert.TokenAsync(await admin.PostAsJsonAsync("/certificates:add?api-version=2020-10-01", Jws.CreatePolicyCertificateChange(second, first), Ct));
            Assert.Equal("IsPresent", added.GetPayloadValue<string>("x-ms-policycertificates-result"));
            Assert.Equal(second.Thumbprint, added.GetPayloadValue<string>("x-ms-certificate-thumbprint"));
            await MaaAssert.TokenAsync(await admin.PutAsync(put, new StringContent(Jws.CreatePolicy(DenyAll, second)), Ct));

            JsonWebToken removed = await MaaAssert.TokenAsync(await admin.PostAsJsonAsync("/certificates:remove?api-version=2020-10-01", Jws.CreatePolicyCertificateChange(first, second), Ct));
            Assert.Equal("IsAbsent", removed.GetPayloadValue<string>("x-ms-policycertificates-result"));
            await MaaAssert.ErrorAsync(await admin.PutAsync(put, new StringContent(Jws.CreatePolicy(CustomPolicy, first)), Ct), "InvalidPolicySigner", "CN=first signer");
        }

        // The certificate set persists, and the last one cannot be removed.
        await using ServiceHost restarted = await ServiceHost.StartAsync(options, data);
        HttpClient again = Admin(restarted);
        await MaaAssert.ErrorAsync(await again.PutAsync(put, new StringContent(Jws.CreatePolicy(CustomPolicy, first)), Ct), "InvalidPolicySigner", "CN=first signer");
        await MaaAssert.ErrorAsync(await again.PostAsJsonAsync("/certificates:remove?api-version=2020-10-01", Jws.CreatePolicyCertificateChange(second, second), Ct), "InvalidOperation", "final policy management certificate");
        JsonWebToken reset = await MaaAssert.TokenAsync(await again.PostAsync("/policies/SgxEnclave:reset?api-version=2020-10-01", new StringContent(Jws.CreatePolicy(null, second)), Ct));
        Assert.Equal("Removed", reset.GetPayloadValue<string>("x-ms-policy-result"));
    }

    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        _platform.Dispose();
        _state.Delete(recursive: true);
        await Task.CompletedTask;
    }

    private AttestationServiceOptions Options()
    {
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(_platform.RootCertificate);
        return new AttestationServiceOptions
        {
            Collateral = new SimulatedCollateralProvider(_platform),
            Verifier = verifier,
            AllowSimulation = true,
            AdminAuthentication = _admin.Options(),
        };
    }

    private HttpClient Admin(ServiceHost service)
    {
        HttpClient client = service.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _admin.Create());
        return client;
    }

    private async Task<byte[]> QuoteAsync()
    {
        using var tee = new SimulationTee(_platform, new TeeIdentity(TeeKind.Simulation, SHA256.HashData("e"u8), SHA256.HashData("s"u8), 1, 1, false));
        return (await tee.GetEvidenceAsync(new byte[32], Ct)).Data;
    }

    private static async Task<JsonWebToken> AttestAsync(ServiceHost service, byte[] quote) =>
        await MaaAssert.TokenAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", new { quote = Base64UrlEncoder.Encode(quote) }, Ct));

    private static string PolicyText(string jws)
    {
        using JsonDocument payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jws.Split('.')[1]));
        return Base64UrlEncoder.Decode(payload.RootElement.GetProperty("AttestationPolicy").GetString()!);
    }

    private static async Task<bool> SignedByServiceAsync(ServiceHost service, JsonWebToken token)
    {
        JsonElement jwks = await service.Client.GetFromJsonAsync<JsonElement>("/certs", Ct);
        JsonElement key = jwks.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("kid").GetString() == token.Kid);
        using X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(key.GetProperty("x5c")[0].GetString()!));
        TokenValidationResult result = await new JsonWebTokenHandler().ValidateTokenAsync(token.EncodedToken, new TokenValidationParameters
        {
            ValidIssuer = service.Issuer,
            ValidateAudience = false,
            IssuerSigningKey = new X509SecurityKey(certificate),
        });
        return result.IsValid;
    }

    internal static X509Certificate2 PolicySigner(string subject, bool ec = false)
    {
        if (ec)
        {
            using var ecKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            return new CertificateRequest(subject, ecKey, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        }

        using var rsa = RSA.Create(2048);
        return new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }
}
