using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.AttestationService;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Tests;

/// <summary>The administrators' API: bearer tokens, Key Vault's shapes, strict bodies, public halves only.</summary>
public sealed class ManagementTests(SkrEnvironment environment) : IAsyncLifetime
{
    private BrokerHost _broker = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _broker = await BrokerHost.StartAsync(environment);

    public async ValueTask DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task Management_without_a_valid_administrator_token_is_401_and_release_needs_none()
    {
        await _broker.CreateKeyAsync("k", ReleaseTests.Exportable("oct", _broker));
        using ECDsa stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string?[] badTokens =
        [
            null,
            environment.Admin.Create(issuer: "https://login.example.test/other"),
            environment.Admin.Create(audience: AdminAuthenticationOptions.DefaultAudience),
            environment.Admin.Create(lifetime: TimeSpan.FromHours(-1)),
            environment.Admin.Create(key: stranger),
            "not.a.token",
        ];
        (HttpMethod Method, string Path)[] routes =
        [
            (HttpMethod.Post, "/keys/k/create"), (HttpMethod.Put, "/keys/k"), (HttpMethod.Post, "/keys/k/rotate"),
            (HttpMethod.Get, "/keys"), (HttpMethod.Get, "/keys/k"), (HttpMethod.Get, "/keys/k/versions"), (HttpMethod.Get, $"/keys/k/{new string('a', 32)}"),
        ];
        foreach (string? token in badTokens)
        {
            foreach ((HttpMethod method, string path) in routes)
            {
                using var request = new HttpRequestMessage(method, path) { Content = new StringContent("{\"kty\":\"oct\"}", Encoding.UTF8, "application/json") };
                if (token is not null)
                {
                    request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
                }

                using HttpResponseMessage response = await _broker.Client.SendAsync(request, Ct);
                Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
                await BrokerHost.ErrorAsync(response, HttpStatusCode.Unauthorized, KeyBrokerErrorCodes.Unauthorized, $"Access to {path} requires a valid administrator bearer token");
            }
        }

        // Nothing was created by the refused calls.
        JsonElement versions = await BrokerHost.SuccessAsync(await _broker.AdminAsync(HttpMethod.Get, "/keys/k/versions"));
        Assert.Equal(1, versions.GetProperty("value").GetArrayLength());

        // A broker with no administrators configured refuses every token.
        await using BrokerHost unmanaged = await BrokerHost.StartAsync(environment, admin: new AdminAuthenticationOptions { Audience = KeyBrokerOptions.DefaultAdminAudience });
        await BrokerHost.ErrorAsync(await unmanaged.AdminAsync(HttpMethod.Get, "/keys"), HttpStatusCode.Unauthorized, KeyBrokerErrorCodes.Unauthorized);
    }

    [Fact]
    public async Task Keys_are_created_listed_read_rotated_and_only_their_public_half_is_shown()
    {
        JsonElement created = await _broker.CreateKeyAsync("app-key", ReleaseTests.Exportable("RSA-HSM", _broker, keySize: 3072));
        JsonElement key = created.GetProperty("key");
        string kid = key.GetProperty("kid").GetString()!;
        Assert.Matches($"^{_broker.Url}/keys/app-key/[0-9a-f]{{32}}$", kid);
        Assert.Equal("RSA-HSM", key.GetProperty("kty").GetString());
        Assert.Equal(384, Base64UrlEncoder.DecodeBytes(key.GetProperty("n").GetString()!).Length);
        Assert.False(key.TryGetProperty("d", out _));
        Assert.True(created.GetProperty("attributes").GetProperty("exportable").GetBoolean());
        Assert.Equal("application/json; charset=utf-8", created.GetProperty("release_policy").GetProperty("contentType").GetString());

        JsonElement aes = await _broker.CreateKeyAsync("aes", new JsonObject { ["kty"] = "oct" });
        Assert.Equal(["kid", "kty", "key_ops"], aes.GetProperty("key").EnumerateObject().Select(p => p.Name));
        Assert.False(aes.GetProperty("attributes").GetProperty("exportable").GetBoolean());

        JsonElement ec = await _broker.CreateKeyAsync("ec", new JsonObject { ["kty"] = "EC-HSM", ["crv"] = "P-256", ["key_ops"] = new JsonArray("sign") });
        Assert.Equal(["sign"], ec.GetProperty("key").GetProperty("key_ops").EnumerateArray().Select(o => o.GetString()));
        Assert.False(ec.GetProperty("key").TryGetProperty("d", out _));

        foreach (string apiVersion in new[] { "", "?api-version=7.3", "?api-version=7.4", "?api-version=7.5" })
        {
            JsonElement read = await BrokerHost.SuccessAsync(await _broker.AdminAsync(HttpMethod.Get, "/keys/app-key" + apiVersion));
            Assert.Equal(kid, read.GetProperty("key").GetProperty("kid").GetString());
        }

        JsonElement byVersion = await BrokerHost.SuccessAsync(await _broker.AdminAsync(HttpMethod.Get, "/keys/app-key/" + kid.Split('/')[^1]));
        Assert.Equal(key.GetProperty("n").GetString(), byVersion.GetProperty("key").GetProperty("n").GetString());

        JsonElement rotated = await BrokerHost.SuccessAsync(await _broker.AdminAsync(HttpMethod.Post, "/keys/app-key/rotate?api-version=7.4"));
        Assert.NotEqual(kid, rotated.GetProperty("key").GetProperty("kid").GetString());
        Assert.Equal(384, Base64UrlEncoder.DecodeBytes(rotated.GetProperty("key").GetProperty("n").GetString()!).Length);
        Assert.Equal(created.GetProperty("release_policy").GetProperty("data").GetString(), rotated.GetProperty("release_policy").GetProperty("data").GetString());

        JsonElement list = await BrokerHost.SuccessAsync(await _broker.AdminAsync(HttpMethod.Get, "/keys"));
        Assert.Equal([$"{_broker.Url}/keys/aes", $"{_broker.Url}/keys/app-key", $"{_broker.Url}/keys/ec"], list.GetProperty("value").EnumerateArray().Select(k => k.GetProperty("kid").GetString()));
        JsonElement versions = await BrokerHost.SuccessAsync(await _broker.AdminAsync(HttpMethod.Get, "/keys/app-key/versions"));
        Assert.Equal(2, versions.GetProperty("value").GetArrayLength());

        await BrokerHost.ErrorAsync(await _broker.AdminAsync(HttpMethod.Get, "/keys/nope"), HttpStatusCode.NotFound, KeyBrokerErrorCodes.KeyNotFound);
        await BrokerHost.ErrorAsync(await _broker.AdminAsync(HttpMethod.Get, $"/keys/app-key/{new string('0', 32)}"), HttpStatusCode.NotFound, KeyBrokerErrorCodes.KeyNotFound);
        await BrokerHost.ErrorAsync(await _broker.AdminAsync(HttpMethod.Post, "/keys/nope/rotate"), HttpStatusCode.NotFound, KeyBrokerErrorCodes.KeyNotFound);
        await BrokerHost.ErrorAsync(await _broker.AdminAsync(HttpMethod.Get, "/keys?api-version=7.2"), HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter, "api-version '7.2' is not supported");
    }

    [Fact]
    public async Task Imports_check_the_private_key_against_its_public_half()
    {
        using RSA rsa = RSA.Create(2048);
        RSAParameters p = rsa.ExportParameters(true);
        JsonObject Jwk(RSAParameters k) => new()
        {
            ["kty"] = "RSA", ["n"] = Base64UrlEncoder.Encode(k.Modulus), ["e"] = Base64UrlEncoder.Encode(k.Exponent), ["d"] = Base64UrlEncoder.Encode(k.D),
            ["p"] = Base64UrlEncoder.Encode(k.P), ["q"] = Base64UrlEncoder.Encode(k.Q), ["dp"] = Base64UrlEncoder.Encode(k.DP), ["dq"] = Base64UrlEncoder.Encode(k.DQ), ["qi"] = Base64UrlEncoder.Encode(k.InverseQ),
        };

        JsonElement imported = await _broker.ImportKeyAsync("imported", new JsonObject { ["key"] = Jwk(p), ["Hsm"] = true });
        Assert.Equal("RSA-HSM", imported.GetProperty("key").GetProperty("kty").GetString());
        Assert.Equal(Base64UrlEncoder.Encode(p.Modulus), imported.GetProperty("key").GetProperty("n").GetString());

        using RSA other = RSA.Create(2048);
        JsonObject mismatched = Jwk(p);
        mismatched["n"] = Base64UrlEncoder.Encode(other.ExportParameters(false).Modulus);
        await BrokerHost.ErrorAsync(await _broker.AdminAsync(HttpMethod.Put, "/keys/bad", new JsonObject { ["key"] = mismatched }), HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter, "'key'");

        JsonObject missing = Jwk(p);
        missing.Remove("qi");
        await BrokerHost.ErrorAsync(await _broker.AdminAsync(HttpMethod.Put, "/keys/bad", new JsonObject { ["key"] = missing }), HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter, "'key.qi' is required");

        using ECDsa ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using ECDsa otherEc = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        ECParameters e = ec.ExportParameters(true);
        var wrongD = new JsonObject { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = Base64UrlEncoder.Encode(e.Q.X), ["y"] = Base64UrlEncoder.Encode(e.Q.Y), ["d"] = Base64UrlEncoder.Encode(otherEc.ExportParameters(true).D) };
        await BrokerHost.ErrorAsync(await _broker.AdminAsync(HttpMethod.Put, "/keys/bad", new JsonObject { ["key"] = wrongD }), HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter, "'key'");
        await BrokerHost.ErrorAsync(await _broker.AdminAsync(HttpMethod.Put, "/keys/bad", new JsonObject { ["key"] = new JsonObject { ["kty"] = "oct", ["k"] = Base64UrlEncoder.Encode(new byte[16]) } }),
            HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter, "oct keys are AES-256 (32 bytes)");
        await BrokerHost.ErrorAsync(await _broker.AdminAsync(HttpMethod.Put, "/keys/bad", new JsonObject { ["key"] = new JsonObject { ["kty"] = "RSA-HSM", ["key_hsm"] = "x" } }),
            HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter, "BYOK");
        await BrokerHost.ErrorAsync(await _broker.AdminAsync(HttpMethod.Get, "/keys/bad"), HttpStatusCode.NotFound, KeyBrokerErrorCodes.KeyNotFound);
    }

    [Theory]
    [InlineData("""{"kty":"oct","attributes":{"exportable":true}}""", "An exportable key requires a release policy")]
    [InlineData("""{"kty":"AES"}""", "'kty' 'AES' is not supported")]
    [InlineData("""{}""", "'kty' is required")]
    [InlineData("""{"kty":"RSA","key_size":1024}""", "'key_size' 1024 is not supported for RSA keys")]
    [InlineData("""{"kty":"oct","key_size":128}""", "only AES-256")]
    [InlineData("""{"kty":"EC","crv":"P-384"}""", "'crv' 'P-384' is not supported")]
    [InlineData("""{"kty":"RSA","crv":"P-256"}""", "'crv' applies to EC keys")]
    [InlineData("""{"kty":"oct","tags":{}}""", "'tags' is not supported here")]
    [InlineData("""{"kty":"oct","key_ops":["fly"]}""", "unknown operation 'fly'")]
    [InlineData("""{"kty":"oct","attributes":{"exportable":"yes"}}""", "'attributes.exportable' must be true or false")]
    [InlineData("""{"kty":"oct","attributes":{"enabled":false}}""", "false is not supported")]
    [InlineData("""{"kty":"oct","attributes":{"exportable":true},"release_policy":{"data":"eyJ2ZXJzaW9uIjoiMS4wLjAiLCJhbnlPZiI6W3siYXV0aG9yaXR5IjoiaHR0cHM6Ly9hIiwiYWxsT2YiOlt7ImNsYWltIjoiYyIsImVxdWFsIjoxfV19XX0"}}""",
        "release policy release_policy.data.anyOf[0].allOf[0].equal: unknown property")]
    [InlineData("""{"kty":""", "not valid JSON")]
    public async Task Bad_key_requests_are_refused_with_the_reason(string body, string reason)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/keys/k/create") { Content = content };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", environment.Admin.Create());
        await BrokerHost.ErrorAsync(await _broker.Client.SendAsync(request, Ct), HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter, reason);
    }

    [Fact]
    public async Task Key_names_are_key_vaults_and_an_immutable_policy_never_changes()
    {
        await BrokerHost.ErrorAsync(await _broker.AdminAsync(HttpMethod.Post, "/keys/bad_name/create", new JsonObject { ["kty"] = "oct" }), HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter, "not a valid key name");

        JsonObject immutable = _broker.EnclavePolicy();
        immutable["immutable"] = true;
        await _broker.CreateKeyAsync("pinned", ReleaseTests.Exportable("oct", _broker, policy: immutable));
        JsonElement rotated = await BrokerHost.SuccessAsync(await _broker.AdminAsync(HttpMethod.Post, "/keys/pinned/rotate"));
        Assert.True(rotated.GetProperty("release_policy").GetProperty("immutable").GetBoolean());

        await BrokerHost.ErrorAsync(await _broker.AdminAsync(HttpMethod.Post, "/keys/pinned/create", ReleaseTests.Exportable("oct", _broker, policy: _broker.EnclavePolicy(enclave: "other"))),
            HttpStatusCode.Conflict, KeyBrokerErrorCodes.PolicyImmutable, "immutable release policy");
        JsonObject same = _broker.EnclavePolicy();
        same["immutable"] = true;
        await _broker.CreateKeyAsync("pinned", ReleaseTests.Exportable("oct", _broker, policy: same));
    }
}
