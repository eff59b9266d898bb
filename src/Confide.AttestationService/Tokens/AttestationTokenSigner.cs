using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Tokens;

/// <summary>
/// Signs attestation tokens as Azure Attestation does: RS256 JWTs whose header names the key
/// (<c>kid</c>, the base64 SHA-256 of its certificate) and where to find it (<c>jku</c> =
/// issuer + "/certs"), valid for 8 hours, with a random 64-hex <c>jti</c>. The key's self-signed
/// certificate has CN = issuer, which is what Azure-Samples validators check.
/// </summary>
public sealed class AttestationTokenSigner : IDisposable
{
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(8);

    private readonly RSA _key;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    private AttestationTokenSigner(string issuer, RSA key, X509Certificate2 certificate)
    {
        Issuer = issuer.TrimEnd('/');
        _key = key;
        Certificate = certificate;
        KeyId = Convert.ToBase64String(SHA256.HashData(certificate.RawData));
    }

    public string Issuer { get; }

    public string KeyId { get; }

    /// <summary>The signing key's self-signed certificate (CN = issuer); published in /certs as x5c.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>A new RSA-2048 signing key and its self-signed certificate for <paramref name="issuer"/>.</summary>
    public static AttestationTokenSigner Create(string issuer, TimeProvider? timeProvider = null)
    {
        DateTimeOffset now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        var key = RSA.Create(2048);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + issuer.TrimEnd('/')), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        X509Certificate2 certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(2));
        return new AttestationTokenSigner(issuer, key, X509CertificateLoader.LoadCertificate(certificate.RawData));
    }

    /// <summary>Signs <paramref name="claims"/> into a token issued at <paramref name="now"/>.</summary>
    public string CreateToken(IDictionary<string, object> claims, DateTimeOffset now)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + TokenLifetime).UtcDateTime,
            Claims = new Dictionary<string, object>(claims, StringComparer.Ordinal)
            {
                [JwtRegisteredClaimNames.Jti] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
            },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(_key) { KeyId = KeyId }, SecurityAlgorithms.RsaSha256),
            AdditionalHeaderClaims = new Dictionary<string, object> { ["jku"] = Issuer + "/certs" },
            TokenType = "JWT",
        };
        return _handler.CreateToken(descriptor);
    }

    /// <summary>This key as Azure Attestation publishes it in <c>/certs</c>: exactly x5c (base64 DER), kid and kty.</summary>
    public JsonObject ToJwk() => new()
    {
        ["x5c"] = new JsonArray(Convert.ToBase64String(Certificate.RawData)),
        ["kid"] = KeyId,
        ["kty"] = "RSA",
    };

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

    public void Dispose()
    {
        _key.Dispose();
        Certificate.Dispose();
    }
}
