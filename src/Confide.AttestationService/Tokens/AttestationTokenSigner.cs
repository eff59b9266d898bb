using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Tokens;

/// <summary>
/// Signs tokens as Azure Attestation does: RS256 JWTs whose header names the key (<c>kid</c>) and
/// where to find it (<c>jku</c> = issuer + "/certs"), with a random 64-hex <c>jti</c>. Holds the
/// current signing key and the keys it replaced, which stay published in <c>/certs</c> until every
/// token they signed has expired.
/// </summary>
public sealed class AttestationTokenSigner : IDisposable
{
    /// <summary>How long an attestation token is valid.</summary>
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(8);

    /// <summary>How long a retired key stays published: a token's lifetime plus clock skew.</summary>
    public static readonly TimeSpan RetiredKeyRetention = TokenLifetime + TimeSpan.FromMinutes(10);

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly TimeProvider _time;
    private readonly SigningKeyStore? _store;
    private readonly SemaphoreSlim _rotationLock = new(1, 1);
    private volatile KeySet _keys;

    internal AttestationTokenSigner(string issuer, IReadOnlyList<SigningKey> keys, TimeProvider time, SigningKeyStore? store)
    {
        Issuer = issuer.TrimEnd('/');
        _time = time;
        _store = store;
        _keys = KeySet.From(keys);
    }

    public string Issuer { get; }

    /// <summary>The key new tokens are signed with.</summary>
    public SigningKey Current => _keys.Current;

    public string KeyId => Current.KeyId;

    /// <summary>The keys <c>/certs</c> publishes: the current one and those retired less than <see cref="RetiredKeyRetention"/> ago.</summary>
    public IReadOnlyList<SigningKey> PublishedKeys => _keys.Published(_time.GetUtcNow());

    /// <summary>A signer with a new key held in memory only (tests, benchmarks, a throw-away service).</summary>
    public static AttestationTokenSigner Create(string issuer, TimeProvider? timeProvider = null)
    {
        TimeProvider time = timeProvider ?? TimeProvider.System;
        return new AttestationTokenSigner(issuer, [SigningKey.Create(issuer, time.GetUtcNow())], time, store: null);
    }

    /// <summary>
    /// Replaces the current key with a new one (persisted first, when the signer has a store). The
    /// old key keeps verifying the tokens it signed: it stays in <c>/certs</c> for <see cref="RetiredKeyRetention"/>.
    /// </summary>
    public async Task<SigningKey> RotateAsync(CancellationToken cancellationToken = default)
    {
        await _rotationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            DateTimeOffset now = _time.GetUtcNow();
            SigningKey key = _store is not null
                ? await _store.CreateKeyAsync(Issuer, now, cancellationToken).ConfigureAwait(false)
                : SigningKey.Create(Issuer, now);
            _keys = KeySet.From([.. _keys.All, key]);
            return key;
        }
        finally
        {
            _rotationLock.Release();
        }
    }

    /// <summary>Signs <paramref name="claims"/> into a token issued at <paramref name="now"/>, valid for <paramref name="lifetime"/> (default 8 h).</summary>
    public string CreateToken(IDictionary<string, object> claims, DateTimeOffset now, TimeSpan? lifetime = null)
    {
        SigningKey key = Current;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + (lifetime ?? TokenLifetime)).UtcDateTime,
            Claims = new Dictionary<string, object>(claims, StringComparer.Ordinal)
            {
                [JwtRegisteredClaimNames.Jti] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
            },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(key.Key) { KeyId = key.KeyId }, SecurityAlgorithms.RsaSha256),
            AdditionalHeaderClaims = new Dictionary<string, object> { ["jku"] = Issuer + "/certs" },
            TokenType = "JWT",
        };
        return _handler.CreateToken(descriptor);
    }

    /// <summary>An unsigned token (<c>alg: none</c>), what Azure Attestation returns for a draft policy.</summary>
    public string CreateUnsignedToken(IDictionary<string, object> claims, DateTimeOffset now) =>
        _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + TokenLifetime).UtcDateTime,
            Claims = new Dictionary<string, object>(claims, StringComparer.Ordinal),
            TokenType = "JWT",
        });

    /// <summary>The current key as a JWK.</summary>
    public JsonObject ToJwk() => Current.ToJwk();

    /// <summary><c>GET /certs</c>: <c>{"keys":[...]}</c>, newest first.</summary>
    public JsonObject ToJwks() => new() { ["keys"] = new JsonArray([.. PublishedKeys.Select(k => (JsonNode)k.ToJwk())]) };

    public void Dispose()
    {
        foreach (SigningKey key in _keys.All)
        {
            key.Dispose();
        }

        _rotationLock.Dispose();
    }

    /// <summary>The keys ordered newest first; a key is retired when the next one was created.</summary>
    private sealed record KeySet(IReadOnlyList<SigningKey> All)
    {
        public SigningKey Current => All[0];

        public static KeySet From(IEnumerable<SigningKey> keys)
        {
            SigningKey[] ordered = [.. keys.OrderByDescending(k => k.CreatedAt)];
            return ordered.Length > 0 ? new KeySet(ordered) : throw new ArgumentException("A signer needs at least one key.", nameof(keys));
        }

        public IReadOnlyList<SigningKey> Published(DateTimeOffset now)
        {
            var published = new List<SigningKey> { All[0] };
            for (int i = 1; i < All.Count; i++)
            {
                DateTimeOffset retiredAt = All[i - 1].CreatedAt;
                if (now - retiredAt < RetiredKeyRetention)
                {
                    published.Add(All[i]);
                }
            }

            return published;
        }
    }
}
