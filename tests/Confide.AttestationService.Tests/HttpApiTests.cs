using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;
using Confide.Tee;
using Confide.Tee.Simulation;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Tests;

/// <summary>The Azure Attestation REST surface over HTTPS on loopback.</summary>
public sealed class HttpApiTests : IAsyncDisposable
{
    private static readonly byte[] RuntimeBytes = [1, 2, 3, 4, 5, 6];
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("confide-http-tests-");
    private readonly SimulatedPlatform _platform;

    public HttpApiTests() => _platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_state.FullName, "sim"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_real_sgx_quote_with_its_collateral_at_its_time_gets_a_token_that_validates_with_certs()
    {
        var options = new AttestationServiceOptions
        {
            Collateral = new FileCollateralProvider(Path.Combine(DcapVectors.Directory, "sgx_v3_automata.collateral.json")),
            Verifier = new QuoteVerifierOptions { TimeProvider = new FixedTime(DateTimeOffset.FromUnixTimeSeconds(1755236700)) },
        };
        await using ServiceHost service = await ServiceHost.StartAsync(options);
        byte[] quote = DcapVectors.Quote("sgx_v3_automata");

        using HttpResponseMessage response = await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2022-08-01", new { quote = Base64UrlEncoder.Encode(quote), nonce = "abc" }, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string token = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("token").GetString()!;

        using HttpResponseMessage certs = await service.Client.GetAsync("/certs", Ct);
        Assert.True(certs.IsSuccessStatusCode, await certs.Content.ReadAsStringAsync(Ct));
        JsonElement jwks = await certs.Content.ReadFromJsonAsync<JsonElement>(Ct);
        JsonElement key = jwks.GetProperty("keys")[0];
        Assert.Equal("RSA", key.GetProperty("kty").GetString());
        using X509Certificate2 signing = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(key.GetProperty("x5c")[0].GetString()!));
        TokenValidationResult validation = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = service.Issuer,
            ValidateAudience = false,
            ValidateLifetime = false, // the service's clock is pinned to the vector's time
            IssuerSigningKey = new X509SecurityKey(signing) { KeyId = key.GetProperty("kid").GetString() },
        });
        Assert.True(validation.IsValid, validation.Exception?.Message);
        Assert.Equal("a4f45c39dac622cb1dd32ddb35a52ec92db41d0fa88a1c911c49e59c534f61cd", validation.Claims["x-ms-sgx-mrenclave"]);
        Assert.Equal("abc", validation.Claims["nonce"]);
        // Issued by the default policy's issuance rules:
        Assert.Equal("sgx", validation.Claims["tee"]);
        Assert.Equal("a4f45c39dac622cb1dd32ddb35a52ec92db41d0fa88a1c911c49e59c534f61cd", validation.Claims["sgx-mrenclave"]);
        Assert.Equal(false, validation.Claims["is-debuggable"]);

        JsonElement openId = await service.Client.GetFromJsonAsync<JsonElement>("/.well-known/openid-configuration", Ct);
        Assert.Equal(service.Issuer + "/certs", openId.GetProperty("jwks_uri").GetString());
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/certs/", Ct)).StatusCode);
    }

    [Fact]
    public async Task Simulated_evidence_with_bound_runtime_data_gets_a_token_only_when_simulation_is_allowed()
    {
        byte[] quote = await SimulatedQuoteAsync(SHA256.HashData(RuntimeBytes));
        var body = new { quote = Base64UrlEncoder.Encode(quote), runtimeData = new { data = Base64UrlEncoder.Encode(RuntimeBytes), dataType = "Binary" } };

        await using (ServiceHost allowed = await ServiceHost.StartAsync(Options(allowSimulation: true)))
        {
            using HttpResponseMessage response = await allowed.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", body, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var jwt = new JsonWebToken((await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("token").GetString());
            Assert.Equal("AQIDBAUG", jwt.GetPayloadValue<string>("x-ms-sgx-ehd"));
            Assert.Equal("RS256", jwt.Alg);
            Assert.Equal(allowed.Issuer + "/certs", jwt.GetHeaderValue<string>("jku"));

            var wrongData = new { quote = Base64UrlEncoder.Encode(quote), runtimeData = new { data = Base64UrlEncoder.Encode([9, 9, 9]), dataType = "Binary" } };
            await AssertErrorAsync(await allowed.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", wrongData, Ct), "InvalidParameter", "SuppliedRuntimeDataDigest");

            var draft = new { quote = Base64UrlEncoder.Encode(quote), draftPolicyForAttestation = "version= 1.0; authorizationrules { => permit(); };" };
            using HttpResponseMessage draftResponse = await allowed.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2022-08-01", draft, Ct);
            Assert.Equal(HttpStatusCode.OK, draftResponse.StatusCode);
            Assert.Equal("none", new JsonWebToken((await draftResponse.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("token").GetString()).Alg);

            // A draft policy that denies debug=false enclaves refuses this one; a syntax error is reported with its position.
            var deny = new { quote = Base64UrlEncoder.Encode(quote), draftPolicyForAttestation = "version= 1.0; authorizationrules { c:[type==\"x-ms-sgx-is-debuggable\", value==true] => permit(); };" };
            await AssertErrorAsync(await allowed.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2022-08-01", deny, Ct), "PolicyEvaluationError", "do not permit");
            var broken = new { quote = Base64UrlEncoder.Encode(quote), draftPolicyForAttestation = "version= 1.0; authorizationrules { => permit() };" };
            await AssertErrorAsync(await allowed.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2022-08-01", broken, Ct), "InvalidPolicy", "Line 1, column");

            byte[] report = [.. OpenEnclaveHeader(quote.Length), .. quote];
            using HttpResponseMessage oe = await allowed.Client.PostAsJsonAsync("/attest/OpenEnclave?api-version=2022-08-01", new { report = Base64UrlEncoder.Encode(report) }, Ct);
            Assert.Equal(HttpStatusCode.OK, oe.StatusCode);
            await AssertErrorAsync(await allowed.Client.PostAsJsonAsync("/attest/OpenEnclave?api-version=2022-08-01", new { report = Base64UrlEncoder.Encode(quote) }, Ct), "InvalidParameter", "Open Enclave");
        }

        await using ServiceHost strict = await ServiceHost.StartAsync(Options(allowSimulation: false));
        await AssertErrorAsync(await strict.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", body, Ct), "InvalidQuote", "SimulationNotAllowed");
    }

    [Fact]
    public async Task Init_time_data_must_be_the_enclaves_config_id_and_kss_enclaves_get_their_extra_identity_claims()
    {
        byte[] initTime = """{"tenant":"contoso"}"""u8.ToArray();
        byte[] configId = [.. SHA256.HashData(initTime), .. new byte[32]];
        var report = new SgxReportBody
        {
            Flags = (ulong)(SgxAttributeFlags.Initted | SgxAttributeFlags.Mode64Bit | SgxAttributeFlags.Kss),
            Xfrm = 0xE7,
            CpuSvn = _platform.TcbComponents,
            MrEnclave = SHA256.HashData("kss"u8),
            MrSigner = SHA256.HashData("s"u8),
            ConfigId = configId,
            ConfigSvn = 5,
            IsvFamilyId = Enumerable.Repeat((byte)0xAB, 16).ToArray(),
        };
        byte[] quote = SimulatedQuoteBuilder.Build(_platform, report);
        await using ServiceHost service = await ServiceHost.StartAsync(Options(allowSimulation: true));

        var bound = new { quote = Base64UrlEncoder.Encode(quote), initTimeData = new { data = Base64UrlEncoder.Encode(initTime), dataType = "JSON" } };
        JsonWebToken token = await MaaAssert.TokenAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2022-08-01", bound, Ct));
        Assert.Equal("contoso", token.GetPayloadValue<JsonElement>("x-ms-inittime").GetProperty("tenant").GetString());
        Assert.Equal(Convert.ToHexStringLower(configId), token.GetPayloadValue<string>("x-ms-sgx-config-id"));
        Assert.Equal(5, token.GetPayloadValue<int>("x-ms-sgx-config-svn"));
        Assert.Equal("abababababababababababababababab", token.GetPayloadValue<string>("x-ms-sgx-isv-family-id"));

        var unbound = new { quote = Base64UrlEncoder.Encode(quote), initTimeData = new { data = Base64UrlEncoder.Encode("other"u8.ToArray()), dataType = "Binary" } };
        await MaaAssert.ErrorAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2022-08-01", unbound, Ct), "InvalidParameter", "CONFIGID");

        // An enclave without KSS has a zero CONFIGID: no init-time data matches, and no KSS claims are issued.
        byte[] plain = await SimulatedQuoteAsync(new byte[32]);
        await MaaAssert.ErrorAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2022-08-01", new { quote = Base64UrlEncoder.Encode(plain), initTimeData = bound.initTimeData }, Ct), "InvalidParameter", "CONFIGID");
        JsonWebToken plainToken = await MaaAssert.TokenAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2022-08-01", new { quote = Base64UrlEncoder.Encode(plain) }, Ct));
        Assert.False(plainToken.TryGetPayloadValue<string>("x-ms-sgx-config-id", out _));
    }

    [Fact]
    public async Task Bad_requests_get_maa_errors_never_a_500_or_a_token()
    {
        await using ServiceHost service = await ServiceHost.StartAsync(Options(allowSimulation: true));
        byte[] quote = await SimulatedQuoteAsync(new byte[32]);

        await AssertErrorAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave", new { quote = "x" }, Ct), "InvalidApiVersion", "required");
        await AssertErrorAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2019-01-01", new { quote = "x" }, Ct), "InvalidApiVersion", "not supported");
        await AssertErrorAsync(await service.Client.PostAsync("/attest/SgxEnclave?api-version=2020-10-01", new StringContent("{not json"), Ct), "InvalidParameter", "not valid JSON");
        await AssertErrorAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", new { quote = "@@@" }, Ct), "InvalidParameter", "base64url");
        await AssertErrorAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", new { }, Ct), "InvalidParameter", "'quote' is required");
        await AssertErrorAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", new { quote = Base64UrlEncoder.Encode(quote[..700]) }, Ct), "InvalidParameter", "MalformedQuote");
        await AssertErrorAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", new { quote = Base64UrlEncoder.Encode(quote), runtimeData = new { data = "AQID", dataType = "Text" } }, Ct), "InvalidParameter", "dataType");
        await AssertErrorAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", new { quote = Base64UrlEncoder.Encode(quote), nonce = new[] { 1 } }, Ct), "InvalidParameter", "nonce");

        // dataType JSON whose data is bound into the quote but is not JSON.
        byte[] notJson = "not json"u8.ToArray();
        byte[] boundQuote = await SimulatedQuoteAsync(SHA256.HashData(notJson));
        await AssertErrorAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", new { quote = Base64UrlEncoder.Encode(boundQuote), runtimeData = new { data = Base64UrlEncoder.Encode(notJson), dataType = "JSON" } }, Ct), "InvalidParameter", "not valid JSON");

        byte[] tampered = quote.ToArray();
        tampered[120] ^= 1;
        await AssertErrorAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", new { quote = Base64UrlEncoder.Encode(tampered) }, Ct), "InvalidQuote", "InvalidQuoteSignature");

        string huge = new('A', 2 * 1024 * 1024);
        using HttpResponseMessage tooLarge = await service.Client.PostAsync("/attest/SgxEnclave?api-version=2020-10-01", new StringContent($"{{\"quote\":\"{huge}\"}}"), Ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        _platform.Dispose();
        _state.Delete(recursive: true);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Behind_a_service_address_tokens_name_the_public_url_as_their_issuer()
    {
        byte[] quote = await SimulatedQuoteAsync(SHA256.HashData(RuntimeBytes));
        await using ServiceHost host = await ServiceHost.StartAsync(Options(allowSimulation: true, publicUrl: new Uri("https://confide-attestation.confide.svc:8443")));
        Assert.Equal("https://confide-attestation.confide.svc:8443", host.Issuer);
        using var client = host.CreateClient();
        client.BaseAddress = new Uri(host.Server.ListenUrl);
        using HttpResponseMessage response = await client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01",
            new { quote = Base64UrlEncoder.Encode(quote), runtimeData = new { data = Base64UrlEncoder.Encode(RuntimeBytes), dataType = "Binary" } }, Ct);
        var jwt = new JsonWebToken((await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("token").GetString());
        Assert.Equal("https://confide-attestation.confide.svc:8443", jwt.Issuer);
        Assert.Equal("https://confide-attestation.confide.svc:8443/certs", jwt.GetHeaderValue<string>("jku"));
        await Assert.ThrowsAsync<ArgumentException>(() => ServiceHost.StartAsync(Options(allowSimulation: true, publicUrl: new Uri("http://plain.example"))));
    }

    private AttestationServiceOptions Options(bool allowSimulation, Uri? publicUrl = null)
    {
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(_platform.RootCertificate);
        return new AttestationServiceOptions { Collateral = new SimulatedCollateralProvider(_platform), Verifier = verifier, AllowSimulation = allowSimulation, PublicUrl = publicUrl };
    }

    private async Task<byte[]> SimulatedQuoteAsync(byte[] reportData)
    {
        using var tee = new SimulationTee(_platform, new TeeIdentity(TeeKind.Simulation, SHA256.HashData("e"u8), SHA256.HashData("s"u8), 1, 1, false));
        return (await tee.GetEvidenceAsync(reportData, Ct)).Data;
    }

    private static byte[] OpenEnclaveHeader(int quoteLength)
    {
        byte[] header = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header, 1);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 2);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), (ulong)quoteLength);
        return header;
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, string code, string messagePart)
    {
        using (response)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            JsonElement error = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("error");
            Assert.Equal(code, error.GetProperty("code").GetString());
            Assert.Contains(messagePart, error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal(code, response.Headers.GetValues("x-ms-error-code").Single());
        }
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
