using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.AttestationService.Tokens;
using Confide.KeyRelease.Audit;
using Confide.KeyRelease.Keys;
using Confide.KeyRelease.Policies;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Release;

/// <summary>
/// Secure Key Release, independent of HTTP: verify the attestation token, find the key version,
/// check it is exportable and that its release policy admits the token, check the nonce, wrap the
/// key to the enclave's key from the token, and answer with a JWS signed by the broker. Every
/// outcome, release or refusal, is one audit line.
/// </summary>
public sealed class KeyReleaseEngine
{
    private readonly KeyStore _keys;
    private readonly AttestationTokenVerifier _verifier;
    private readonly NonceCache _nonces;
    private readonly AttestationTokenSigner _signer;
    private readonly AuditLog _audit;
    private readonly string _brokerUrl;
    private readonly bool _requireNonce;
    private readonly TimeSpan _skew;

    public KeyReleaseEngine(KeyStore keys, AttestationTokenVerifier verifier, NonceCache nonces, AttestationTokenSigner signer, AuditLog audit, string brokerUrl, bool requireNonce, TimeSpan clockSkew)
    {
        _keys = keys;
        _verifier = verifier;
        _nonces = nonces;
        _signer = signer;
        _audit = audit;
        _brokerUrl = brokerUrl.TrimEnd('/');
        _requireNonce = requireNonce;
        _skew = clockSkew;
    }

    /// <summary>Releases version <paramref name="version"/> (null: the current one) of <paramref name="name"/>; returns the response JWS.</summary>
    /// <exception cref="KeyBrokerException">Refused; audited with the same reason.</exception>
    public async Task<string> ReleaseAsync(string name, string? version, string apiVersion, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        AuditCaller caller = AuditCaller.Unknown;
        try
        {
            ReleaseRequest request = ReleaseRequest.Parse(body.Span);
            VerifiedToken token = await _verifier.VerifyAsync(request.Target, cancellationToken).ConfigureAwait(false);
            caller = AuditCaller.FromToken(token);

            KeyVersion key = (version is null ? _keys.Current(name) : _keys.Get(name, version))
                ?? throw KeyBrokerException.NotFound(version is null ? $"A key with (name/id) {name} was not found in this key broker." : $"A key with (name/id) {name}/{version} was not found in this key broker.");
            version = key.Version;
            if (!key.Attributes.Exportable || key.ReleasePolicy is null)
            {
                throw KeyBrokerException.Forbidden(KeyBrokerErrorCodes.KeyNotExportable, $"Key {name}/{key.Version} is not exportable: a non-exportable key can never be released.");
            }

            ReleaseDecision decision = key.ReleasePolicy.Policy.Evaluate(token.Issuer, token.Claims);
            if (!decision.Permitted)
            {
                throw KeyBrokerException.Forbidden(KeyBrokerErrorCodes.PolicyNotSatisfied, decision.Reason);
            }

            CheckNonce(request.Nonce, token.Claims);
            (RSA wrappingKey, string wrappingKeyId) = WrappingKeySelector.Select(token.Claims);
            using (wrappingKey)
            {
                if (request.Nonce is not null && _nonces.PredatesMemory(IssuedAt(token.Claims)))
                {
                    throw KeyBrokerException.Forbidden(KeyBrokerErrorCodes.NonceReplayed, "The token was issued before this broker started, so its nonce may already have been used before a restart: attest again for a new token.");
                }

                if (request.Nonce is not null && !_nonces.TryUse(token.Issuer, request.Nonce, token.Expires + _skew))
                {
                    throw KeyBrokerException.Forbidden(KeyBrokerErrorCodes.NonceReplayed, "The nonce was already used for a release: every release needs a new attestation with a new nonce.");
                }

                string jws = Respond(key, apiVersion, request.Encryption, wrappingKey, wrappingKeyId);
                _audit.Append(new AuditEntry("release", name, key.Version, caller, Allowed: true,
                    $"released, wrapped ({KeyWrap.Name(request.Encryption)}) to the enclave key '{wrappingKeyId}'; {decision.Reason}"));
                return jws;
            }
        }
        catch (KeyBrokerException ex) when (ex.Code != KeyBrokerErrorCodes.AuditUnavailable)
        {
            _audit.Append(new AuditEntry("release", name, version, caller, Allowed: false, $"{ex.Code}: {ex.Message}"));
            throw;
        }
    }

    private static DateTimeOffset? IssuedAt(JsonElement claims) =>
        claims.TryGetProperty("iat", out JsonElement iat) && iat.ValueKind == JsonValueKind.Number && iat.TryGetInt64(out long seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    /// <summary>Audits a release refused before it reached the engine (e.g. a body over the size limit).</summary>
    public void RecordRefusal(string name, string? version, KeyBrokerException refusal) =>
        _audit.Append(new AuditEntry("release", name, version, AuditCaller.Unknown, Allowed: false, $"{refusal.Code}: {refusal.Message}"));

    private void CheckNonce(string? requestNonce, JsonElement claims)
    {
        if (requestNonce is null)
        {
            if (_requireNonce)
            {
                throw KeyBrokerException.Forbidden(KeyBrokerErrorCodes.NonceMismatch, "The release request has no 'nonce'; this broker requires the nonce the enclave attested with.");
            }

            return;
        }

        string? tokenNonce = claims.TryGetProperty("nonce", out JsonElement value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        } : null;
        if (tokenNonce is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(tokenNonce), Encoding.UTF8.GetBytes(requestNonce)))
        {
            throw KeyBrokerException.Forbidden(KeyBrokerErrorCodes.NonceMismatch, tokenNonce is null
                ? "The attestation token has no 'nonce' claim; attest with the nonce sent in the release request."
                : "The request's nonce is not the attestation token's 'nonce' claim.");
        }
    }

    /// <summary>Key Vault's <c>KeyReleaseResult</c> value: a JWS whose payload is the request and the wrapped key.</summary>
    private string Respond(KeyVersion key, string apiVersion, KeyWrapAlgorithm encryption, RSA wrappingKey, string wrappingKeyId)
    {
        string enc = KeyWrap.Name(encryption);
        byte[] ciphertext;
        try
        {
            ciphertext = KeyWrap.Wrap(wrappingKey, encryption, key.Material.Secret);
        }
        catch (CryptographicException ex)
        {
            // An RSA key that imports but cannot encrypt (a degenerate exponent, say) is the enclave's problem, not a server error.
            throw KeyBrokerException.Forbidden(KeyBrokerErrorCodes.NoWrappingKey, $"The enclave's wrapping key '{wrappingKeyId}' cannot encrypt with {enc}: {ex.Message}");
        }

        var keyHsm = new JsonObject
        {
            ["schema_version"] = "1.0",
            ["header"] = new JsonObject { ["kid"] = wrappingKeyId, ["alg"] = "dir", ["enc"] = enc },
            ["ciphertext"] = Base64UrlEncoder.Encode(ciphertext),
        };
        JsonObject jwk = key.PublicJwk(_brokerUrl);
        jwk["key_hsm"] = Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(keyHsm.ToJsonString()));
        var payload = new JsonObject
        {
            ["request"] = new JsonObject { ["api-version"] = apiVersion, ["enc"] = enc, ["kid"] = key.KeyId(_brokerUrl) },
            ["response"] = new JsonObject
            {
                ["key"] = new JsonObject
                {
                    ["attributes"] = key.Attributes.ToJson(),
                    ["release_policy"] = key.ReleasePolicy!.ToJson(),
                    ["key"] = jwk,
                },
            },
        };
        return Sign(Encoding.UTF8.GetBytes(payload.ToJsonString()));
    }

    /// <summary>RS256 with the broker's sealed signing key; <c>x5c</c> carries its certificate (subject CN=broker URL, with the broker's evidence).</summary>
    private string Sign(byte[] payload)
    {
        SigningKey signing = _signer.Current;
        byte[] certificate = signing.Certificate.RawData;
        var header = new JsonObject
        {
            ["alg"] = "RS256",
            ["x5c"] = new JsonArray(Convert.ToBase64String(certificate)),
            ["x5t#S256"] = Base64UrlEncoder.Encode(SHA256.HashData(certificate)),
        };
        string signingInput = Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64UrlEncoder.Encode(payload);
        return signingInput + "." + Base64UrlEncoder.Encode(signing.SignRs256(Encoding.ASCII.GetBytes(signingInput)));
    }
}
