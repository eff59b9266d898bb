using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Confide.KeyRelease.Policies;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Release;

/// <summary>A verified attestation token: its issuer (a trusted authority), claims and expiry.</summary>
public sealed record VerifiedToken(string Issuer, JsonElement Claims, DateTimeOffset Expires);

/// <summary>
/// Verifies attestation tokens for a release: RS256, signed by a key the issuing authority
/// publishes at <c>/certs</c> (fetched over HTTPS, cached by <c>kid</c>, refetched on a miss at
/// most every <see cref="KeyBrokerOptions.KeyRefreshInterval"/>), the issuer one of the trusted
/// authorities, and within its lifetime by the broker's clock with a small skew. Fails closed:
/// anything it cannot check is a refusal.
/// </summary>
public sealed class AttestationTokenVerifier : IDisposable
{
    /// <summary>Largest token accepted (an SGX token with runtime keys is a few KiB).</summary>
    public const int MaxTokenLength = 64 * 1024;

    /// <summary>Largest <c>/certs</c> response read.</summary>
    public const int MaxKeySetBytes = 1024 * 1024;

    private readonly IReadOnlyList<Authority> _authorities;
    private readonly TimeProvider _time;
    private readonly TimeSpan _skew;

    public AttestationTokenVerifier(IEnumerable<TrustedAuthority> authorities, TimeProvider time, TimeSpan skew, TimeSpan refreshInterval)
    {
        _authorities = [.. authorities.Select(a => new Authority(a, time, refreshInterval))];
        _time = time;
        _skew = skew;
    }

    /// <exception cref="KeyBrokerException">The token is refused; the code and message say why.</exception>
    public async Task<VerifiedToken> VerifyAsync(string token, CancellationToken cancellationToken)
    {
        if (token.Length > MaxTokenLength)
        {
            throw Invalid($"The attestation token is {token.Length} characters; at most {MaxTokenLength} are accepted.");
        }

        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (ArgumentException ex)
        {
            throw Invalid($"The attestation token is not a JWT: {ex.Message}");
        }

        if (jwt.Alg != SecurityAlgorithms.RsaSha256)
        {
            throw Invalid($"The attestation token's algorithm is '{jwt.Alg}'; attestation tokens are RS256.");
        }

        string issuer = jwt.TryGetPayloadValue("iss", out string? iss) && !string.IsNullOrEmpty(iss)
            ? iss
            : throw Invalid("The attestation token has no issuer ('iss').");
        Authority authority = _authorities.FirstOrDefault(a => AuthorityRule.Matches(a.Trusted.Issuer, issuer))
            ?? throw KeyBrokerException.Forbidden(KeyBrokerErrorCodes.UntrustedAuthority, $"The attestation token's issuer '{issuer}' is not a trusted attestation authority of this broker.");
        if (string.IsNullOrEmpty(jwt.Kid))
        {
            throw Invalid("The attestation token's header has no 'kid' naming its signing key.");
        }

        SecurityKey key = await authority.KeyAsync(jwt.Kid, cancellationToken).ConfigureAwait(false)
            ?? throw Invalid($"The attestation token is signed with key '{jwt.Kid}', which {authority.Trusted.Issuer}/certs does not publish.");

        TokenValidationResult result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidateAudience = false,
            ValidateLifetime = false, // below, with the broker's clock and precise messages
            RequireSignedTokens = true,
            RequireExpirationTime = false,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            IssuerSigningKey = key,
            TryAllIssuerSigningKeys = false,
        }).ConfigureAwait(false);
        if (!result.IsValid)
        {
            throw Invalid($"The attestation token's signature does not verify with {authority.Trusted.Issuer}'s key '{jwt.Kid}'.");
        }

        DateTimeOffset now = _time.GetUtcNow();
        DateTimeOffset expires = Seconds(jwt, "exp") ?? throw Invalid("The attestation token has no expiry ('exp').");
        if (now - _skew >= expires)
        {
            throw Invalid($"The attestation token expired at {expires:O}.");
        }

        if (Seconds(jwt, "nbf") is { } notBefore && notBefore > now + _skew)
        {
            throw Invalid($"The attestation token is not valid before {notBefore:O}.");
        }

        JsonElement claims;
        try
        {
            using JsonDocument payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.Split('.')[1]));
            claims = payload.RootElement.Clone();
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            throw Invalid($"The attestation token's payload is not JSON: {ex.Message}");
        }

        return new VerifiedToken(issuer, claims, expires);
    }

    public void Dispose()
    {
        foreach (Authority authority in _authorities)
        {
            authority.Dispose();
        }
    }

    private static DateTimeOffset? Seconds(JsonWebToken jwt, string claim) =>
        jwt.TryGetPayloadValue(claim, out long seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;

    private static KeyBrokerException Invalid(string message) => KeyBrokerException.Forbidden(KeyBrokerErrorCodes.InvalidToken, message);

    /// <summary>One trusted authority: its HTTPS client (pinned if configured) and its keys by kid.</summary>
    private sealed class Authority : IDisposable
    {
        private readonly HttpClient _http;
        private readonly TimeProvider _time;
        private readonly TimeSpan _refreshInterval;
        private readonly SemaphoreSlim _fetch = new(1, 1);
        private volatile IReadOnlyDictionary<string, SecurityKey> _keys = new Dictionary<string, SecurityKey>();
        private DateTimeOffset? _fetchedAt;
        private string? _lastFailure;

        public Authority(TrustedAuthority trusted, TimeProvider time, TimeSpan refreshInterval)
        {
            Trusted = trusted;
            _time = time;
            _refreshInterval = refreshInterval;
            SocketsHttpHandler handler = trusted.CreateHandler();

            _http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(15), MaxResponseContentBufferSize = MaxKeySetBytes };
        }

        public TrustedAuthority Trusted { get; }

        /// <summary>The key with <paramref name="kid"/>, fetching the key set when it is unknown (rate-limited); null if the authority does not publish it.</summary>
        /// <exception cref="KeyBrokerException">The key set could not be fetched or read (AuthorityUnavailable).</exception>
        public async Task<SecurityKey?> KeyAsync(string kid, CancellationToken cancellationToken)
        {
            if (_keys.TryGetValue(kid, out SecurityKey? key))
            {
                return key;
            }

            await _fetch.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_keys.TryGetValue(kid, out key))
                {
                    return key;
                }

                DateTimeOffset now = _time.GetUtcNow();
                if (_fetchedAt is { } last && now - last < _refreshInterval)
                {
                    return _lastFailure is { } failure ? throw Unavailable(failure) : null;
                }

                _fetchedAt = now;
                try
                {
                    _keys = await FetchAsync(cancellationToken).ConfigureAwait(false);
                    _lastFailure = null;
                }
                catch (KeyBrokerException ex)
                {
                    _lastFailure = ex.Data["failure"] as string;
                    throw;
                }

                return _keys.GetValueOrDefault(kid);
            }
            finally
            {
                _fetch.Release();
            }
        }

        public void Dispose()
        {
            _http.Dispose();
            _fetch.Dispose();
        }

        private async Task<IReadOnlyDictionary<string, SecurityKey>> FetchAsync(CancellationToken cancellationToken)
        {
            string url = Trusted.Issuer + "/certs";
            string text;
            try
            {
                using HttpResponseMessage response = await _http.GetAsync(url, cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw Unavailable($"GET {url} answered {(int)response.StatusCode}.");
                }

                text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw Unavailable($"GET {url} failed: {ex.Message}");
            }

            var keys = new Dictionary<string, SecurityKey>(StringComparer.Ordinal);
            try
            {
                using JsonDocument document = JsonDocument.Parse(text);
                foreach (JsonElement jwk in document.RootElement.GetProperty("keys").EnumerateArray())
                {
                    if (jwk.ValueKind == JsonValueKind.Object
                        && jwk.TryGetProperty("kid", out JsonElement kid) && kid.ValueKind == JsonValueKind.String
                        && jwk.TryGetProperty("kty", out JsonElement kty) && kty.GetString() == "RSA"
                        && RsaKey(jwk) is { } key)
                    {
                        key.KeyId = kid.GetString();
                        keys.TryAdd(kid.GetString()!, key);
                    }
                }
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or CryptographicException)
            {
                throw Unavailable($"{url} is not a JSON Web Key Set: {ex.Message}");
            }

            return keys;
        }

        /// <summary>The key of a JWK's x5c certificate (what Azure Attestation publishes), else of its n and e.</summary>
        private static SecurityKey? RsaKey(JsonElement jwk)
        {
            if (jwk.TryGetProperty("x5c", out JsonElement x5c) && x5c.ValueKind == JsonValueKind.Array && x5c.GetArrayLength() > 0)
            {
                X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(x5c[0].GetString()!));
                return certificate.GetRSAPublicKey() is null ? null : new X509SecurityKey(certificate);
            }

            if (jwk.TryGetProperty("n", out JsonElement n) && jwk.TryGetProperty("e", out JsonElement e))
            {
                return new RsaSecurityKey(new RSAParameters { Modulus = Base64UrlEncoder.DecodeBytes(n.GetString()!), Exponent = Base64UrlEncoder.DecodeBytes(e.GetString()!) });
            }

            return null;
        }

        /// <summary>The refusal for a key set that cannot be had; the failure is kept to answer the same until the next fetch is allowed.</summary>
        private static KeyBrokerException Unavailable(string failure)
        {
            var exception = KeyBrokerException.Forbidden(KeyBrokerErrorCodes.AuthorityUnavailable, $"The attestation token cannot be verified: {failure}");
            exception.Data["failure"] = failure;
            return exception;
        }

        /// <summary>TLS trust for a pinned authority: the host name must match, and the chain must end at the pinned certificate.</summary>
    }
}
