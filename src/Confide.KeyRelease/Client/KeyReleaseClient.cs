using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.AttestationService.Client;
using Confide.AttestationService.Tokens;
using Confide.KeyRelease.Keys;
using Confide.KeyRelease.Release;
using Confide.Tee;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Client;

/// <summary>
/// Releases keys into this enclave: makes an ephemeral RSA-2048 wrapping key, attests with its
/// public half as runtime data and a fresh nonce, asks the broker to release the key wrapped to it,
/// verifies the broker's signed answer, and unwraps the key here. The wrapping key never leaves
/// the enclave and lives only for one release.
/// </summary>
public sealed class KeyReleaseClient
{
    private readonly KeyReleaseClientOptions _options;
    private readonly string _brokerUrl;

    /// <exception cref="ArgumentException">No way to trust the broker's responses is configured.</exception>
    public KeyReleaseClient(KeyReleaseClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.TrustedBrokerCertificates.Count == 0 && options.ValidateBrokerCertificate is null)
        {
            throw new ArgumentException("Configure TrustedBrokerCertificates or ValidateBrokerCertificate: a release response signed by an unknown key must be refused.", nameof(options));
        }

        _options = options;
        _brokerUrl = options.BrokerUrl.ToString().TrimEnd('/');
    }

    /// <summary>Releases version <paramref name="version"/> (null: the current one) of key <paramref name="name"/>.</summary>
    /// <exception cref="KeyReleaseException">The broker refused (its code), attestation failed, or the answer did not verify.</exception>
    public async Task<ReleasedKey> ReleaseAsync(string name, string? version = null, CancellationToken cancellationToken = default)
    {
        if (!KeyVersion.IsValidName(name) || (version is not null && !KeyVersion.IsValidVersion(version)))
        {
            throw new ArgumentException($"'{name}{(version is null ? "" : "/" + version)}' is not a key name (letters, digits, dashes) with an optional 32-hex version.", nameof(name));
        }

        using EnclaveWrappingKey wrappingKey = EnclaveWrappingKey.Create();
        string nonce = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(24));
        string token = await AttestAsync(wrappingKey, nonce, cancellationToken).ConfigureAwait(false);
        string enc = KeyWrap.Name(_options.Encryption);

        string path = version is null ? $"keys/{name}/release" : $"keys/{name}/{version}/release";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{_brokerUrl}/{path}?api-version={Uri.EscapeDataString(_options.ApiVersion)}"))
        {
            Content = JsonContent.Create(new JsonObject { ["target"] = token, ["nonce"] = nonce, ["enc"] = enc }),
        };
        using HttpResponseMessage response = await _options.BrokerHttpClient.SendAsync(request, cancellationToken).ConfigureAwait(false);
        string text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw BrokerError((int)response.StatusCode, text);
        }

        JsonElement payload = VerifyResponse(text);
        return Unwrap(payload, wrappingKey, name, version, enc);
    }

    private async Task<string> AttestAsync(EnclaveWrappingKey wrappingKey, string nonce, CancellationToken cancellationToken)
    {
        try
        {
            TeeEvidence evidence = await _options.Tee.GetEvidenceAsync(wrappingKey.ReportData, cancellationToken).ConfigureAwait(false);
            var runtimeData = new RuntimeData(wrappingKey.RuntimeData, RuntimeDataType.Json);
            AttestationResult result = evidence.Format switch
            {
                EvidenceFormat.SgxQuote => await _options.Attestation.AttestSgxEnclaveAsync(evidence.Data, runtimeData, nonce, cancellationToken: cancellationToken).ConfigureAwait(false),
                EvidenceFormat.TdxQuote => await _options.Attestation.AttestTdxVmAsync(evidence.Data, runtimeData, nonce, cancellationToken).ConfigureAwait(false),
                _ => throw new KeyReleaseException("AttestationFailed", $"{evidence.Format} evidence cannot be attested by an Azure-Attestation-compatible service here; SGX and TDX can."),
            };
            return result.Token;
        }
        catch (AttestationClientException ex)
        {
            throw new KeyReleaseException("AttestationFailed", $"Attestation failed ({ex.ErrorCode}): {ex.Message}", ex.Status, ex);
        }
        catch (TeeException ex)
        {
            throw new KeyReleaseException("AttestationFailed", $"The TEE gave no evidence ({ex.Error}): {ex.Message}", inner: ex);
        }
    }

    /// <summary>The response JWS, verified: RS256 by a trusted broker certificate whose subject is the broker's URL; its payload.</summary>
    private JsonElement VerifyResponse(string text)
    {
        string compact;
        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            compact = document.RootElement.GetProperty("value").GetString() ?? throw new JsonException("'value' is null");
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new KeyReleaseException("InvalidResponse", $"The broker's answer has no release value: {ex.Message}");
        }

        Jws jws;
        try
        {
            jws = Jws.Parse(compact);
        }
        catch (JwsException ex)
        {
            throw new KeyReleaseException("InvalidResponse", $"The release response is not a valid JWS: {ex.Message}");
        }

        using X509Certificate2 signer = jws.Signer ?? throw new KeyReleaseException("UntrustedBroker", "The release response is unsigned.");
        if (jws.Algorithm != "RS256")
        {
            throw new KeyReleaseException("InvalidResponse", $"The release response is signed with {jws.Algorithm}; the broker signs RS256.");
        }

        bool trusted = _options.TrustedBrokerCertificates.Any(c => c.RawData.AsSpan().SequenceEqual(signer.RawData))
            || (_options.ValidateBrokerCertificate?.Invoke(signer) ?? false);
        if (!trusted)
        {
            throw new KeyReleaseException("UntrustedBroker", $"The release response is signed by '{signer.Subject}' (SHA-256 {signer.GetCertHashString(HashAlgorithmName.SHA256)}), which this client does not trust.");
        }

        DateTime now = _options.TimeProvider.GetUtcNow().UtcDateTime;
        if (signer.Subject != "CN=" + _brokerUrl || now < signer.NotBefore.ToUniversalTime() || now > signer.NotAfter.ToUniversalTime())
        {
            throw new KeyReleaseException("UntrustedBroker", $"The broker's signing certificate is for '{signer.Subject}' valid {signer.NotBefore:O} to {signer.NotAfter:O}; expected CN={_brokerUrl}, valid now.");
        }

        try
        {
            using JsonDocument payload = JsonDocument.Parse(jws.Payload);
            return payload.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new KeyReleaseException("InvalidResponse", $"The release response's payload is not JSON: {ex.Message}");
        }
    }

    /// <summary>Checks the payload is the answer to this request and unwraps the key inside it.</summary>
    private ReleasedKey Unwrap(JsonElement payload, EnclaveWrappingKey wrappingKey, string name, string? version, string enc)
    {
        string kid, kty, ciphertext;
        List<string> operations;
        JsonElement key;
        try
        {
            JsonElement request = payload.GetProperty("request");
            kid = Text(request, "kid");
            string prefix = $"{_brokerUrl}/keys/{name}/";
            if (Text(request, "enc") != enc || !kid.StartsWith(prefix, StringComparison.Ordinal) || (version is not null && kid != prefix + version))
            {
                throw new KeyReleaseException("InvalidResponse", $"The release response is for '{kid}' with {Text(request, "enc")}, not for key {name}{(version is null ? "" : "/" + version)} with {enc}.");
            }

            key = payload.GetProperty("response").GetProperty("key").GetProperty("key");
            if (Text(key, "kid") != kid)
            {
                throw new KeyReleaseException("InvalidResponse", "The released key's kid is not the requested key's.");
            }

            kty = Text(key, "kty");
            operations = key.TryGetProperty("key_ops", out JsonElement ops) ? [.. ops.EnumerateArray().Select(o => o.GetString() ?? throw new JsonException("key_ops holds a null"))] : [];
            using JsonDocument keyHsm = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(Text(key, "key_hsm")));
            JsonElement header = keyHsm.RootElement.GetProperty("header");
            if (Text(keyHsm.RootElement, "schema_version") != "1.0" || Text(header, "enc") != enc || Text(header, "kid") != wrappingKey.KeyId)
            {
                throw new KeyReleaseException("InvalidResponse", "The released key is not wrapped to this request's enclave key with the requested algorithm (key_hsm header).");
            }

            ciphertext = Text(keyHsm.RootElement, "ciphertext");
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new KeyReleaseException("InvalidResponse", $"The release response is not Key Vault's release result: {ex.Message}");
        }

        KeyKind kind = KeyType.Parse(kty).Kind;
        ReleasedKey released;
        try
        {
            KeyWrap.TryParse(enc, out KeyWrapAlgorithm algorithm);
            byte[] bytes = wrappingKey.Unwrap(algorithm, Base64UrlEncoder.DecodeBytes(ciphertext));
            released = ReleasedKey.FromReleasedBytes(kid, kty, kind, operations, bytes);
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or KeyBrokerException)
        {
            throw new KeyReleaseException("UnwrapFailed", $"The released key cannot be unwrapped: {ex.Message}", inner: ex);
        }

        // The private key must be the one whose public half the broker reports for this key version.
        if (!PublicHalfMatches(released, key))
        {
            released.Dispose();
            throw new KeyReleaseException("UnwrapFailed", "The unwrapped private key does not match the public key the broker reports for it.");
        }

        return released;
    }

    private static string Text(JsonElement parent, string name) =>
        parent.GetProperty(name).GetString() ?? throw new JsonException($"'{name}' is null");

    private static bool PublicHalfMatches(ReleasedKey released, JsonElement jwk)
    {
        static bool Same(JsonElement jwk, string member, byte[]? actual) =>
            jwk.TryGetProperty(member, out JsonElement value) && actual is not null && Base64UrlEncoder.DecodeBytes(value.GetString()!).AsSpan().SequenceEqual(actual);

        switch (released.Kind)
        {
            case KeyKind.Rsa:
                RSAParameters rsa = released.Rsa.ExportParameters(false);
                return Same(jwk, "n", rsa.Modulus) && Same(jwk, "e", rsa.Exponent);
            case KeyKind.Ec:
                ECParameters ec = released.ECDsa.ExportParameters(false);
                return Same(jwk, "x", ec.Q.X) && Same(jwk, "y", ec.Q.Y);
            default:
                return true;
        }
    }

    private static KeyReleaseException BrokerError(int status, string text)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            JsonElement error = document.RootElement.GetProperty("error");
            return new KeyReleaseException(error.GetProperty("code").GetString() ?? "Unknown", error.GetProperty("message").GetString() ?? "", status);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return new KeyReleaseException("Unknown", $"HTTP {status}: {text}", status);
        }
    }
}
