using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;
using Confide.AttestationService.Tokens;
using Confide.Tee;
using Confide.Tee.Simulation;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Tests;

/// <summary>The token-signing keys: sealed to the service's identity, attested in their certificates, rotated.</summary>
public sealed class SigningKeyTests : IDisposable
{
    private const string Issuer = "https://127.0.0.1:8443";

    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("confide-signing-tests-");
    private readonly SimulatedPlatform _platform;
    private readonly MovableTime _time = new(DateTimeOffset.UtcNow);

    public SigningKeyTests() => _platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_state.FullName, "sim"));

    private string KeyDirectory => Path.Combine(_state.FullName, "signing-keys");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_key_is_created_once_sealed_and_reopened_by_the_same_service_identity_only()
    {
        string keyId;
        using (SimulationTee tee = Tee("service"))
        using (AttestationTokenSigner first = await SigningKeyStore.OpenSignerAsync(KeyDirectory, Issuer, tee, _time, Ct))
        {
            keyId = first.KeyId;
            Assert.Equal("CN=" + Issuer, first.Current.Certificate.Subject);

            // The certificate carries the service's quote over the key, as Azure Attestation's do.
            X509Extension evidence = first.Current.Certificate.Extensions[SigningKey.EvidenceExtensionOid]!;
            Quote quote = Quote.Parse(evidence.RawData);
            using RSA publicKey = first.Current.Certificate.GetRSAPublicKey()!;
            Assert.Equal(SHA256.HashData(publicKey.ExportSubjectPublicKeyInfo()), quote.ReportData[..32]);
            Assert.Equal(tee.Identity.UniqueId, quote.SgxBody!.MrEnclave);
        }

        string file = Assert.Single(Directory.GetFiles(KeyDirectory, "*.sealed"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));

        // A newer build from the same signer (product policy) opens it; another signer cannot.
        using (SimulationTee upgraded = Tee("service", uniqueId: "service v2"))
        using (AttestationTokenSigner reopened = await SigningKeyStore.OpenSignerAsync(KeyDirectory, Issuer, upgraded, _time, Ct))
        {
            Assert.Equal(keyId, reopened.KeyId);
            Assert.Single(reopened.PublishedKeys);
        }

        using SimulationTee impostor = Tee("someone else");
        InvalidDataException refused = await Assert.ThrowsAsync<InvalidDataException>(() => SigningKeyStore.OpenSignerAsync(KeyDirectory, Issuer, impostor, _time, Ct));
        Assert.Contains("WrongIdentity", refused.Message);

        // The service at another URL is another issuer: its own key, the first one left alone.
        using (SimulationTee tee = Tee("service"))
        using (AttestationTokenSigner elsewhere = await SigningKeyStore.OpenSignerAsync(KeyDirectory, "https://10.0.0.1", tee, _time, Ct))
        {
            Assert.NotEqual(keyId, elsewhere.KeyId);
        }

        Assert.Equal(2, Directory.GetFiles(KeyDirectory, "*.sealed").Length);

        byte[] tampered = File.ReadAllBytes(file);
        tampered[^1] ^= 1;
        File.WriteAllBytes(file, tampered);
        using SimulationTee again = Tee("service");
        Assert.Contains("Tampered", (await Assert.ThrowsAsync<InvalidDataException>(() => SigningKeyStore.OpenSignerAsync(KeyDirectory, Issuer, again, _time, Ct))).Message);
    }

    [Fact]
    public async Task Rotation_keeps_the_old_key_published_until_its_tokens_have_expired()
    {
        using SimulationTee tee = Tee("service");
        string oldKeyId, newKeyId, oldToken;
        using (AttestationTokenSigner signer = await SigningKeyStore.OpenSignerAsync(KeyDirectory, Issuer, tee, _time, Ct))
        {
            oldKeyId = signer.KeyId;
            oldToken = signer.CreateToken(new Dictionary<string, object> { ["x"] = 1 }, _time.GetUtcNow());
            _time.Advance(TimeSpan.FromMinutes(1));
            newKeyId = (await signer.RotateAsync(Ct)).KeyId;
            Assert.NotEqual(oldKeyId, newKeyId);
            Assert.Equal(newKeyId, new JsonWebToken(signer.CreateToken(new Dictionary<string, object>(), _time.GetUtcNow())).Kid);
            Assert.Equal([newKeyId, oldKeyId], signer.PublishedKeys.Select(k => k.KeyId));
            Assert.True(await ValidatesAsync(oldToken, signer.ToJwks()));
        }

        // Both survive a restart; the newest is current.
        _time.Advance(TimeSpan.FromHours(7));
        using (AttestationTokenSigner reopened = await SigningKeyStore.OpenSignerAsync(KeyDirectory, Issuer, tee, _time, Ct))
        {
            Assert.Equal(newKeyId, reopened.KeyId);
            Assert.Equal([newKeyId, oldKeyId], reopened.PublishedKeys.Select(k => k.KeyId));
        }

        // Once every token of the old key has expired, it is unpublished and deleted.
        _time.Advance(TimeSpan.FromHours(1.5));
        using (AttestationTokenSigner later = await SigningKeyStore.OpenSignerAsync(KeyDirectory, Issuer, tee, _time, Ct))
        {
            Assert.Equal([newKeyId], later.PublishedKeys.Select(k => k.KeyId));
            Assert.False(await ValidatesAsync(oldToken, later.ToJwks()));
        }

        Assert.Single(Directory.GetFiles(KeyDirectory, "*.sealed"));

        // A certificate close to expiry is renewed on start, the old key staying published meanwhile.
        _time.Advance(SigningKey.CertificateLifetime - SigningKeyStore.RenewBefore);
        using AttestationTokenSigner renewed = await SigningKeyStore.OpenSignerAsync(KeyDirectory, Issuer, tee, _time, Ct);
        Assert.NotEqual(newKeyId, renewed.KeyId);
        Assert.Equal([renewed.KeyId, newKeyId], renewed.PublishedKeys.Select(k => k.KeyId));
    }

    [Fact]
    public async Task The_service_publishes_its_sealed_key_in_certs_and_keeps_it_across_restarts()
    {
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(_platform.RootCertificate);
        using SimulationTee tee = Tee("service");
        var options = new AttestationServiceOptions { Collateral = new SimulatedCollateralProvider(_platform), Verifier = verifier, AllowSimulation = true, Tee = tee };
        string data = Path.Combine(_state.FullName, "service");
        int port = FreePort();

        string keyId;
        await using (ServiceHost service = await ServiceHost.StartAsync(options, data, $"https://127.0.0.1:{port}"))
        {
            keyId = service.Server.Signer.KeyId;
            JsonElement jwks = await service.Client.GetFromJsonAsync<JsonElement>("/certs", Ct);
            Assert.Equal(keyId, Assert.Single(jwks.GetProperty("keys").EnumerateArray()).GetProperty("kid").GetString());
            await service.Server.Signer.RotateAsync(Ct);
            jwks = await service.Client.GetFromJsonAsync<JsonElement>("/certs", Ct);
            Assert.Equal(2, jwks.GetProperty("keys").GetArrayLength());
        }

        await using ServiceHost restarted = await ServiceHost.StartAsync(options, data, $"https://127.0.0.1:{port}");
        JsonElement after = await restarted.Client.GetFromJsonAsync<JsonElement>("/certs", Ct);
        Assert.Contains(keyId, after.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()));
        Assert.Equal(2, after.GetProperty("keys").GetArrayLength());
    }

    public void Dispose()
    {
        _platform.Dispose();
        _state.Delete(recursive: true);
    }

    private SimulationTee Tee(string signer, string? uniqueId = null) =>
        new(_platform, new TeeIdentity(TeeKind.Simulation, SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(uniqueId ?? signer)), SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(signer)), 7, 1, false));

    private static async Task<bool> ValidatesAsync(string token, System.Text.Json.Nodes.JsonObject jwks)
    {
        var keys = new JsonWebKeySet(jwks.ToJsonString()).GetSigningKeys();
        TokenValidationResult result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidateAudience = false,
            ValidateLifetime = false,
            IssuerSigningKeys = keys,
        });
        return result.IsValid;
    }

    private static int FreePort() => Confide.Tests.LoopbackPorts.Next();

    private sealed class MovableTime(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
