using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.AttestationService.Client;
using Confide.AttestationService.Tokens;
using Confide.KeyRelease.Client;
using Confide.KeyRelease.Keys;
using Confide.KeyRelease.Release;
using Confide.Tee.Simulation;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Tests;

/// <summary>Releases that succeed: the wire format unwrapped independently, and the in-enclave client end to end.</summary>
public sealed class ReleaseTests(SkrEnvironment environment)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_key_type_and_wrapping_unwraps_with_plain_RSA_OAEP_and_AES_KWP()
    {
        // One token for all releases: this broker does not require a nonce (the option's other side).
        await using BrokerHost broker = await BrokerHost.StartAsync(environment, requireNonce: false);
        byte[] aes = RandomNumberGenerator.GetBytes(32);
        var keys = new Dictionary<string, JsonElement>
        {
            ["aes"] = await broker.ImportKeyAsync("aes", new JsonObject
            {
                ["key"] = new JsonObject { ["kty"] = "oct-HSM", ["k"] = Base64UrlEncoder.Encode(aes) },
                ["attributes"] = new JsonObject { ["exportable"] = true },
                ["release_policy"] = broker.EnclavePolicy(),
            }),
            ["rsa2048"] = await broker.CreateKeyAsync("rsa2048", Exportable("RSA-HSM", broker, keySize: 2048)),
            ["rsa3072"] = await broker.CreateKeyAsync("rsa3072", Exportable("RSA", broker, keySize: 3072)),
            ["ec"] = await broker.CreateKeyAsync("ec", Exportable("EC-HSM", broker, curve: "P-256")),
        };

        // The enclave's key set: an EC key and a signing-only RSA key come first and must be skipped;
        // the RSA-3072 key marked use "enc" is the first suitable one.
        using RSA enclaveKey = RSA.Create(3072);
        using RSA signingKey = RSA.Create(2048);
        using ECDsa ecKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        ECParameters ec = ecKey.ExportParameters(false);
        var runtime = new JsonObject
        {
            ["keys"] = new JsonArray(
                new JsonObject { ["kty"] = "EC", ["kid"] = "ec", ["key_ops"] = new JsonArray("encrypt"), ["crv"] = "P-256", ["x"] = Base64UrlEncoder.Encode(ec.Q.X), ["y"] = Base64UrlEncoder.Encode(ec.Q.Y) },
                Rsa(signingKey, "signing", ops: "sign"),
                Rsa(enclaveKey, "mine", use: "enc")),
        };
        byte[] runtimeBytes = Encoding.UTF8.GetBytes(runtime.ToJsonString());
        using SimulationTee tee = environment.Enclave();
        byte[] quote = (await tee.GetEvidenceAsync(SHA256.HashData(runtimeBytes), Ct)).Data;
        using AttestationClient attestation = environment.Attestation();
        string token = (await attestation.AttestSgxEnclaveAsync(quote, new RuntimeData(runtimeBytes, RuntimeDataType.Json), cancellationToken: Ct)).Token;

        foreach ((string name, JsonElement bundle) in keys)
        {
            foreach ((string enc, RSAEncryptionPadding padding) in new[] { ("CKM_RSA_AES_KEY_WRAP", RSAEncryptionPadding.OaepSHA1), ("RSA_AES_KEY_WRAP_256", RSAEncryptionPadding.OaepSHA256), ("RSA_AES_KEY_WRAP_384", RSAEncryptionPadding.OaepSHA384) })
            {
                JsonElement result = await BrokerHost.SuccessAsync(await broker.ReleaseAsync(name, new JsonObject { ["target"] = token, ["enc"] = enc }, apiVersion: "7.3"));
                JsonElement payload = VerifiedPayload(result.GetProperty("value").GetString()!, broker.Server.SigningCertificate);
                string kid = bundle.GetProperty("key").GetProperty("kid").GetString()!;
                Assert.Equal("7.3", payload.GetProperty("request").GetProperty("api-version").GetString());
                Assert.Equal(enc, payload.GetProperty("request").GetProperty("enc").GetString());
                Assert.Equal(kid, payload.GetProperty("request").GetProperty("kid").GetString());
                JsonElement key = payload.GetProperty("response").GetProperty("key");
                Assert.True(key.GetProperty("attributes").GetProperty("exportable").GetBoolean());
                Assert.Equal(bundle.GetProperty("release_policy").GetProperty("data").GetString(), key.GetProperty("release_policy").GetProperty("data").GetString());
                Assert.Equal(kid, key.GetProperty("key").GetProperty("kid").GetString());

                JsonElement keyHsm = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(key.GetProperty("key").GetProperty("key_hsm").GetString()!)).RootElement;
                Assert.Equal("1.0", keyHsm.GetProperty("schema_version").GetString());
                Assert.Equal("mine", keyHsm.GetProperty("header").GetProperty("kid").GetString());
                Assert.Equal("dir", keyHsm.GetProperty("header").GetProperty("alg").GetString());
                Assert.Equal(enc, keyHsm.GetProperty("header").GetProperty("enc").GetString());

                // Independently of the broker's code: RSA-OAEP for the first modulus-length bytes, then RFC 5649.
                byte[] ciphertext = Base64UrlEncoder.DecodeBytes(keyHsm.GetProperty("ciphertext").GetString()!);
                byte[] ephemeral = enclaveKey.Decrypt(ciphertext[..384], padding);
                Assert.Equal(32, ephemeral.Length);
                using Aes kwp = Aes.Create();
                kwp.Key = ephemeral;
                byte[] target = kwp.DecryptKeyWrapPadded(ciphertext[384..]);
                AssertIsKey(name, target, aes, bundle.GetProperty("key"));
            }
        }
    }

    [Fact]
    public async Task The_in_enclave_client_releases_each_key_type_and_a_given_version()
    {
        await using BrokerHost broker = await BrokerHost.StartAsync(environment);
        byte[] aes = RandomNumberGenerator.GetBytes(32);
        await broker.ImportKeyAsync("disk-key", new JsonObject
        {
            ["key"] = new JsonObject { ["kty"] = "oct", ["k"] = Base64UrlEncoder.Encode(aes) },
            ["Hsm"] = true,
            ["attributes"] = new JsonObject { ["exportable"] = true },
            ["release_policy"] = broker.EnclavePolicy(),
        });
        JsonElement rsa = await broker.CreateKeyAsync("signing", Exportable("RSA-HSM", broker));
        JsonElement ec = await broker.CreateKeyAsync("ecdh", Exportable("EC", broker));

        using SimulationTee tee = environment.Enclave();
        using AttestationClient attestation = environment.Attestation();
        KeyReleaseClient client = Client(broker, tee, attestation);

        using (ReleasedKey released = await client.ReleaseAsync("disk-key", cancellationToken: Ct))
        {
            Assert.Equal(KeyKind.Oct, released.Kind);
            Assert.Equal("oct-HSM", released.KeyType);
            Assert.Equal(aes, released.SymmetricKey.ToArray());
            Assert.StartsWith(broker.Url + "/keys/disk-key/", released.KeyId, StringComparison.Ordinal);
            Assert.Throws<InvalidOperationException>(() => released.Rsa);
        }

        using (ReleasedKey released = await client.ReleaseAsync("signing", cancellationToken: Ct))
        {
            Assert.Equal(KeyKind.Rsa, released.Kind);
            byte[] signature = released.Rsa.SignData("hello"u8.ToArray(), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using RSA published = RSA.Create(new RSAParameters
            {
                Modulus = Base64UrlEncoder.DecodeBytes(rsa.GetProperty("key").GetProperty("n").GetString()!),
                Exponent = Base64UrlEncoder.DecodeBytes(rsa.GetProperty("key").GetProperty("e").GetString()!),
            });
            Assert.True(published.VerifyData("hello"u8.ToArray(), signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        }

        ReleasedKey ecReleased = await client.ReleaseAsync("ecdh", cancellationToken: Ct);
        Assert.Equal(ec.GetProperty("key").GetProperty("x").GetString(), Base64UrlEncoder.Encode(ecReleased.ECDsa.ExportParameters(false).Q.X));
        ecReleased.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ecReleased.ECDsa);

        // After a rotation the current version is new; the old one can still be asked for by version.
        string oldVersion = rsa.GetProperty("key").GetProperty("kid").GetString()!.Split('/')[^1];
        JsonElement rotated = await BrokerHost.SuccessAsync(await broker.AdminAsync(HttpMethod.Post, "/keys/signing/rotate"));
        string newVersion = rotated.GetProperty("key").GetProperty("kid").GetString()!.Split('/')[^1];
        Assert.NotEqual(oldVersion, newVersion);
        using ReleasedKey current = await client.ReleaseAsync("signing", cancellationToken: Ct);
        using ReleasedKey old = await client.ReleaseAsync("signing", oldVersion, Ct);
        Assert.EndsWith(newVersion, current.KeyId, StringComparison.Ordinal);
        Assert.EndsWith(oldVersion, old.KeyId, StringComparison.Ordinal);
        Assert.NotEqual(current.Rsa.ExportParameters(false).Modulus, old.Rsa.ExportParameters(false).Modulus);
    }

    [Fact]
    public async Task The_client_refuses_a_broker_it_does_not_trust_and_surfaces_refusals()
    {
        await using BrokerHost broker = await BrokerHost.StartAsync(environment);
        await broker.CreateKeyAsync("k", Exportable("oct", broker));
        using SimulationTee tee = environment.Enclave();
        using AttestationClient attestation = environment.Attestation();

        using var impostor = SigningKey.Create(broker.Url, DateTimeOffset.UtcNow);
        KeyReleaseClient distrustful = Client(broker, tee, attestation, trusted: impostor.Certificate);
        KeyReleaseException untrusted = await Assert.ThrowsAsync<KeyReleaseException>(() => distrustful.ReleaseAsync("k", cancellationToken: Ct));
        Assert.Equal("UntrustedBroker", untrusted.ErrorCode);

        using SimulationTee stranger = environment.Enclave(enclave: "stranger");
        KeyReleaseException refused = await Assert.ThrowsAsync<KeyReleaseException>(() => Client(broker, stranger, attestation).ReleaseAsync("k", cancellationToken: Ct));
        Assert.Equal(KeyBrokerErrorCodes.PolicyNotSatisfied, refused.ErrorCode);
        Assert.Equal(403, refused.Status);

        Assert.Throws<ArgumentException>(() => new KeyReleaseClient(new KeyReleaseClientOptions { BrokerUrl = new Uri(broker.Url), BrokerHttpClient = broker.Client, Tee = tee, Attestation = attestation }));
    }

    internal static JsonObject Exportable(string kty, BrokerHost broker, int? keySize = null, string? curve = null, JsonObject? policy = null)
    {
        var body = new JsonObject
        {
            ["kty"] = kty,
            ["attributes"] = new JsonObject { ["exportable"] = true },
            ["release_policy"] = policy ?? broker.EnclavePolicy(),
        };
        if (keySize is not null)
        {
            body["key_size"] = keySize;
        }

        if (curve is not null)
        {
            body["crv"] = curve;
        }

        return body;
    }

    internal static KeyReleaseClient Client(BrokerHost broker, SimulationTee tee, AttestationClient attestation, X509Certificate2? trusted = null) => new(new KeyReleaseClientOptions
    {
        BrokerUrl = new Uri(broker.Url),
        BrokerHttpClient = broker.Client,
        Tee = tee,
        Attestation = attestation,
        TrustedBrokerCertificates = [trusted ?? broker.Server.SigningCertificate],
    });

    private static JsonObject Rsa(RSA key, string kid, string? ops = null, string? use = null)
    {
        RSAParameters p = key.ExportParameters(false);
        var jwk = new JsonObject { ["kty"] = "RSA", ["kid"] = kid, ["n"] = Base64UrlEncoder.Encode(p.Modulus), ["e"] = Base64UrlEncoder.Encode(p.Exponent) };
        if (ops is not null)
        {
            jwk["key_ops"] = new JsonArray(ops);
        }

        if (use is not null)
        {
            jwk["use"] = use;
        }

        return jwk;
    }

    /// <summary>The JWS is RS256 by the broker's signing certificate, carried in x5c; its payload.</summary>
    private static JsonElement VerifiedPayload(string jws, X509Certificate2 brokerCertificate)
    {
        string[] parts = jws.Split('.');
        JsonElement header = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(parts[0])).RootElement;
        Assert.Equal("RS256", header.GetProperty("alg").GetString());
        Assert.Equal(Convert.ToBase64String(brokerCertificate.RawData), header.GetProperty("x5c")[0].GetString());
        using RSA key = brokerCertificate.GetRSAPublicKey()!;
        Assert.True(key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64UrlEncoder.DecodeBytes(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        return JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(parts[1])).RootElement;
    }

    private static void AssertIsKey(string name, byte[] target, byte[] aes, JsonElement publicJwk)
    {
        switch (name)
        {
            case "aes":
                Assert.Equal(aes, target);
                break;
            case "ec":
                using (var ec = ECDsa.Create())
                {
                    ec.ImportPkcs8PrivateKey(target, out int read);
                    Assert.Equal(target.Length, read);
                    Assert.Equal(publicJwk.GetProperty("x").GetString(), Base64UrlEncoder.Encode(ec.ExportParameters(false).Q.X));
                }

                break;
            default:
                using (var rsa = RSA.Create())
                {
                    rsa.ImportPkcs8PrivateKey(target, out int read);
                    Assert.Equal(target.Length, read);
                    Assert.Equal(name == "rsa2048" ? 2048 : 3072, rsa.KeySize);
                    Assert.Equal(publicJwk.GetProperty("n").GetString(), Base64UrlEncoder.Encode(rsa.ExportParameters(false).Modulus));
                }

                break;
        }
    }
}
