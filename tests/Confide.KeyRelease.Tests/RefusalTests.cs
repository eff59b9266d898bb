using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Confide.KeyRelease.Client;
using System.Text.Json.Nodes;
using Confide.Attestation.Verification;
using Confide.AttestationService.Client;
using Confide.AttestationService.Tokens;
using Confide.Tee.Simulation;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Tests;

/// <summary>Releases that must be refused, each with its precise code and reason; a refusal never leaks a key.</summary>
public sealed class RefusalTests(SkrEnvironment environment) : IAsyncLifetime
{
    private BrokerHost _broker = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _broker = await BrokerHost.StartAsync(environment);
        await _broker.CreateKeyAsync("k", ReleaseTests.Exportable("oct-HSM", _broker));
    }

    public async ValueTask DisposeAsync() => await _broker.DisposeAsync();

    [Theory]
    [InlineData("other-enclave", "signer", false, "x-ms-sgx-mrenclave")]
    [InlineData("enclave", "other-signer", false, "x-ms-sgx-mrsigner")]
    public async Task An_enclave_the_policy_does_not_name_is_refused(string enclave, string signer, bool debug, string failedClaim)
    {
        using SimulationTee tee = environment.Enclave(enclave, signer, debug);
        using EnclaveSession session = await EnclaveSession.AttestAsync(environment, tee);
        string message = await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", session.Body()), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.PolicyNotSatisfied);
        Assert.Contains($"claim '{failedClaim}' equals is not met", message, StringComparison.Ordinal);
        Assert.DoesNotContain(SkrEnvironment.Hex("enclave"), message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_debug_enclave_is_refused_even_with_a_genuine_token_of_the_authority()
    {
        // Confide's attestation service refuses debug evidence outright...
        using SimulationTee debug = environment.Enclave(debug: true);
        Assert.Contains("DebugEnclave", (await Assert.ThrowsAsync<AttestationClientException>(() => EnclaveSession.AttestAsync(environment, debug))).Message, StringComparison.Ordinal);

        // ...but an authority may well vouch for one (Azure Attestation does, with is-debuggable true):
        // a token signed with the trusted authority's own key, for the right enclave, in debug mode.
        using EnclaveWrappingKey key = EnclaveWrappingKey.Create();
        var claims = new Dictionary<string, object>
        {
            ["x-ms-attestation-type"] = "sgx",
            ["x-ms-sgx-mrenclave"] = SkrEnvironment.Hex("enclave"),
            ["x-ms-sgx-mrsigner"] = SkrEnvironment.Hex("signer"),
            ["x-ms-sgx-is-debuggable"] = true,
            ["x-ms-sgx-svn"] = 1,
            ["x-ms-runtime"] = JsonDocument.Parse(key.RuntimeData).RootElement.Clone(),
            ["nonce"] = "debug-nonce",
        };
        string token = environment.Simulation.Signer.CreateToken(claims, DateTimeOffset.UtcNow);
        var body = new JsonObject { ["target"] = token, ["nonce"] = "debug-nonce", ["enc"] = "RSA_AES_KEY_WRAP_384" };
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", body), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.PolicyNotSatisfied, "claim 'x-ms-sgx-is-debuggable' equals is not met");

        // The same token with is-debuggable false is released: the refusal was the debug flag's alone.
        claims["x-ms-sgx-is-debuggable"] = false;
        claims["nonce"] = "release-nonce";
        body = new JsonObject { ["target"] = environment.Simulation.Signer.CreateToken(claims, DateTimeOffset.UtcNow), ["nonce"] = "release-nonce", ["enc"] = "RSA_AES_KEY_WRAP_384" };
        await BrokerHost.SuccessAsync(await _broker.ReleaseAsync("k", body));
    }

    [Fact]
    public async Task A_simulation_token_cannot_open_a_key_whose_policy_requires_the_production_authority()
    {
        await _broker.CreateKeyAsync("production-only", ReleaseTests.Exportable("oct", _broker, policy: _broker.EnclavePolicy(authority: environment.Production.Issuer)));
        using SimulationTee tee = environment.Enclave();

        // The production authority will not attest simulated evidence at all...
        using (var production = new AttestationClient(new Uri(environment.Production.Issuer), new AttestationClientOptions { HttpClient = environment.AttestationHttp }))
        {
            byte[] quote = (await tee.GetEvidenceAsync(new byte[32], Ct)).Data;
            Assert.Equal("InvalidQuote", (await Assert.ThrowsAsync<AttestationClientException>(() => production.AttestSgxEnclaveAsync(quote, cancellationToken: Ct))).ErrorCode);
        }

        // ...and the simulation authority's token, though trusted by the broker, is not the policy's authority.
        using EnclaveSession session = await EnclaveSession.AttestAsync(environment, tee);
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("production-only", session.Body()), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.PolicyNotSatisfied,
            $"No authority of the release policy is the token's issuer '{environment.Simulation.Issuer}'");
    }

    [Fact]
    public async Task Expired_and_not_yet_valid_tokens_are_refused()
    {
        using SimulationTee tee = environment.Enclave();
        using EnclaveSession session = await EnclaveSession.AttestAsync(environment, tee);
        await using (BrokerHost late = await BrokerHost.StartAsync(environment, clock: new PinnedTimeProvider(DateTimeOffset.UtcNow.AddHours(8).AddMinutes(2))))
        {
            await late.CreateKeyAsync("k", ReleaseTests.Exportable("oct", late));
            await BrokerHost.ErrorAsync(await late.ReleaseAsync("k", session.Body()), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.InvalidToken, "The attestation token expired at");
        }

        await using BrokerHost early = await BrokerHost.StartAsync(environment, clock: new PinnedTimeProvider(DateTimeOffset.UtcNow.AddMinutes(-5)));
        await early.CreateKeyAsync("k", ReleaseTests.Exportable("oct", early));
        await BrokerHost.ErrorAsync(await early.ReleaseAsync("k", session.Body()), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.InvalidToken, "is not valid before");
    }

    [Fact]
    public async Task Tampered_forged_unsigned_and_untrusted_tokens_are_refused()
    {
        using SimulationTee tee = environment.Enclave(enclave: "stranger");
        using EnclaveSession session = await EnclaveSession.AttestAsync(environment, tee);

        // The stranger rewrites its token to claim the expected MRENCLAVE: the signature no longer verifies.
        string[] parts = session.Token.Split('.');
        string payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace(SkrEnvironment.Hex("stranger"), SkrEnvironment.Hex("enclave"), StringComparison.Ordinal);
        string tampered = $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", session.Body(token: tampered)), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.InvalidToken, "signature does not verify");

        // Signed by a key of its own under the trusted issuer's name: not a key the authority publishes.
        var claims = new Dictionary<string, object>
        {
            ["x-ms-sgx-mrenclave"] = SkrEnvironment.Hex("enclave"),
            ["x-ms-sgx-mrsigner"] = SkrEnvironment.Hex("signer"),
            ["x-ms-sgx-is-debuggable"] = false,
            ["x-ms-sgx-svn"] = 1,
            ["nonce"] = session.Nonce,
        };
        using (AttestationTokenSigner impostor = AttestationTokenSigner.Create(environment.Simulation.Issuer))
        {
            await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", session.Body(token: impostor.CreateToken(claims, DateTimeOffset.UtcNow))), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.InvalidToken, "does not publish");
        }

        // An authority the broker does not trust.
        using (AttestationTokenSigner untrusted = AttestationTokenSigner.Create("https://127.0.0.1:1"))
        {
            await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", session.Body(token: untrusted.CreateToken(claims, DateTimeOffset.UtcNow))), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.UntrustedAuthority, "'https://127.0.0.1:1' is not a trusted attestation authority");
        }

        // Unsigned (a draft-policy token), and not a JWT at all.
        string unsigned = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor { Issuer = environment.Simulation.Issuer, Claims = claims, Expires = DateTime.UtcNow.AddHours(1) });
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", session.Body(token: unsigned)), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.InvalidToken, "algorithm is 'none'");
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", session.Body(token: "not-a-token")), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.InvalidToken, "not a JWT");
    }

    [Fact]
    public async Task An_authority_whose_TLS_certificate_is_not_the_pinned_one_cannot_vouch_for_tokens()
    {
        TrustedAuthority mispinned = new(new Uri(environment.Simulation.Issuer), environment.ProductionTls);
        await using BrokerHost broker = await BrokerHost.StartAsync(environment, authorities: [mispinned]);
        await broker.CreateKeyAsync("k", ReleaseTests.Exportable("oct", broker));
        using SimulationTee tee = environment.Enclave();
        using EnclaveSession session = await EnclaveSession.AttestAsync(environment, tee);
        await BrokerHost.ErrorAsync(await broker.ReleaseAsync("k", session.Body()), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.AuthorityUnavailable, "/certs failed");
    }

    [Fact]
    public async Task A_nonce_is_required_must_be_the_tokens_and_works_once()
    {
        using SimulationTee tee = environment.Enclave();
        using EnclaveSession session = await EnclaveSession.AttestAsync(environment, tee);

        JsonObject withoutNonce = session.Body();
        withoutNonce.Remove("nonce");
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", withoutNonce), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.NonceMismatch, "has no 'nonce'");
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", session.Body(nonce: "another")), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.NonceMismatch, "not the attestation token's 'nonce'");

        await BrokerHost.SuccessAsync(await _broker.ReleaseAsync("k", session.Body()));
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", session.Body()), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.NonceReplayed, "already used");
    }

    [Fact]
    public async Task A_token_without_an_enclave_encryption_key_gets_nothing()
    {
        using SimulationTee tee = environment.Enclave();
        using EnclaveSession session = await EnclaveSession.AttestAsync(environment, tee, binary: true);
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", session.Body()), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.NoWrappingKey, "no 'x-ms-runtime.keys'");
    }

    [Theory]
    [InlineData("AQ", "exponent must be odd and at least 3")] // e = 1: RSA would be the identity
    [InlineData("AAE", "exponent must be odd and at least 3")]
    [InlineData("AQAA", "exponent must be odd and at least 3")] // even
    [InlineData("%%", "not an RSA public key")]
    public async Task An_enclave_key_that_would_not_protect_the_release_is_refused(string exponent, string reason)
    {
        using RSA rsa = RSA.Create(2048);
        var runtime = new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject { ["kty"] = "RSA", ["kid"] = "weak", ["key_ops"] = new JsonArray("encrypt"), ["n"] = Base64UrlEncoder.Encode(rsa.ExportParameters(false).Modulus), ["e"] = exponent }),
        };
        var claims = new Dictionary<string, object>
        {
            ["x-ms-sgx-mrenclave"] = SkrEnvironment.Hex("enclave"),
            ["x-ms-sgx-mrsigner"] = SkrEnvironment.Hex("signer"),
            ["x-ms-sgx-is-debuggable"] = false,
            ["x-ms-sgx-svn"] = 1,
            ["x-ms-runtime"] = JsonDocument.Parse(runtime.ToJsonString()).RootElement.Clone(),
            ["nonce"] = "weak-" + exponent,
        };
        var body = new JsonObject { ["target"] = environment.Simulation.Signer.CreateToken(claims, DateTimeOffset.UtcNow), ["nonce"] = "weak-" + exponent };
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", body), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.NoWrappingKey, reason);
    }

    [Fact]
    public async Task Non_exportable_and_unknown_keys_are_refused()
    {
        await _broker.CreateKeyAsync("vault-only", new JsonObject { ["kty"] = "RSA", ["key_size"] = 2048 });
        await _broker.CreateKeyAsync("locked", new JsonObject { ["kty"] = "oct", ["attributes"] = new JsonObject { ["exportable"] = false }, ["release_policy"] = _broker.EnclavePolicy() });
        using SimulationTee tee = environment.Enclave();
        using EnclaveSession session = await EnclaveSession.AttestAsync(environment, tee);

        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("vault-only", session.Body()), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.KeyNotExportable, "can never be released");
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("locked", session.Body()), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.KeyNotExportable, "can never be released");
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("missing", session.Body()), HttpStatusCode.NotFound, KeyBrokerErrorCodes.KeyNotFound, "missing was not found");
        await BrokerHost.ErrorAsync(await _broker.ReleaseAsync("k", session.Body(), version: new string('0', 32)), HttpStatusCode.NotFound, KeyBrokerErrorCodes.KeyNotFound, "k/00000000000000000000000000000000 was not found");
    }

    [Fact]
    public async Task Malformed_and_oversized_requests_get_precise_errors()
    {
        async Task<string> Raw(string body, HttpStatusCode status, string code, string apiVersion = "7.5")
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            return await BrokerHost.ErrorAsync(await _broker.Client.PostAsync($"/keys/k/release?api-version={apiVersion}", content, Ct), status, code);
        }

        Assert.Contains("not valid JSON", await Raw("{\"target\":", HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter), StringComparison.Ordinal);
        Assert.Contains("must be a JSON object", await Raw("[]", HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter), StringComparison.Ordinal);
        Assert.Contains("'target' is required", await Raw("{\"nonce\":\"n\"}", HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter), StringComparison.Ordinal);
        Assert.Contains("'target' must be a string", await Raw("{\"target\":5}", HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter), StringComparison.Ordinal);
        Assert.Contains("'enc' 'RSA_OAEP' is not supported", await Raw("{\"target\":\"t\",\"enc\":\"RSA_OAEP\"}", HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter), StringComparison.Ordinal);
        Assert.Contains("'tenant' is not a release parameter", await Raw("{\"target\":\"t\",\"tenant\":1}", HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter), StringComparison.Ordinal);
        Assert.Contains("api-version '2016-10-01' is not supported", await Raw("{}", HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter, apiVersion: "2016-10-01"), StringComparison.Ordinal);
        Assert.Contains("exceeds 262144 bytes", await Raw($"{{\"target\":\"{new string('a', 300 * 1024)}\"}}", HttpStatusCode.RequestEntityTooLarge, KeyBrokerErrorCodes.RequestTooLarge), StringComparison.Ordinal);
        Assert.Contains("at most 65536 are accepted", await Raw($"{{\"target\":\"{new string('a', 70 * 1024)}\",\"nonce\":\"n\"}}", HttpStatusCode.Forbidden, KeyBrokerErrorCodes.InvalidToken), StringComparison.Ordinal);

        // A body without Content-Length (chunked) is limited while it is read.
        using var chunked = new StreamContent(new MemoryStream(new byte[300 * 1024]));
        chunked.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/keys/k/release") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        await BrokerHost.ErrorAsync(await _broker.Client.SendAsync(request, Ct), HttpStatusCode.RequestEntityTooLarge, KeyBrokerErrorCodes.RequestTooLarge);
    }
}
