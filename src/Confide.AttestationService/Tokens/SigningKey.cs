using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;

namespace Confide.AttestationService.Tokens;

/// <summary>
/// One token-signing key: RSA-2048 with a self-signed certificate whose subject is
/// <c>CN=&lt;issuer&gt;</c> (what Azure-Samples validators check), valid for a year as Azure
/// Attestation's are. <see cref="KeyId"/> is the base64 SHA-256 of the certificate.
/// </summary>
public sealed class SigningKey : IDisposable
{
    /// <summary>How long a signing certificate is valid.</summary>
    public static readonly TimeSpan CertificateLifetime = TimeSpan.FromDays(365);

    /// <summary>
    /// Azure Attestation's certificate extension that carries the quote of the enclave holding the
    /// key (maa.md §1.6); here its report data starts with SHA-256 of the certificate's public key.
    /// </summary>
    public const string EvidenceExtensionOid = "1.2.840.113556.10.1.1";

    internal SigningKey(RSA key, X509Certificate2 certificate, DateTimeOffset createdAt)
    {
        Key = key;
        Certificate = certificate;
        CreatedAt = createdAt;
        KeyId = Convert.ToBase64String(SHA256.HashData(certificate.RawData));
    }

    public string KeyId { get; }

    public X509Certificate2 Certificate { get; }

    public DateTimeOffset CreatedAt { get; }

    internal RSA Key { get; }

    /// <summary>
    /// A key for <paramref name="issuer"/>: <paramref name="key"/> (default a new RSA-2048) and its
    /// certificate, which embeds <paramref name="evidence"/> if given (a quote whose report data is
    /// <see cref="PublicKeyDigest"/>).
    /// </summary>
    public static SigningKey Create(string issuer, DateTimeOffset now, RSA? key = null, byte[]? evidence = null)
    {
        key ??= RSA.Create(2048);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + issuer.TrimEnd('/')), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, critical: true));
        if (evidence is not null)
        {
            request.CertificateExtensions.Add(new X509Extension(EvidenceExtensionOid, evidence, critical: false));
        }

        using X509Certificate2 certificate = request.CreateSelfSigned(now.AddMinutes(-5), now + CertificateLifetime);
        return new SigningKey(key, X509CertificateLoader.LoadCertificate(certificate.RawData), now);
    }

    /// <summary>What the embedded evidence binds: SHA-256 of the key's SubjectPublicKeyInfo.</summary>
    public static byte[] PublicKeyDigest(RSA key) => SHA256.HashData(key.ExportSubjectPublicKeyInfo());

    /// <summary>
    /// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) over <paramref name="data"/>: for services that sign
    /// their own JWS with this key and its certificate (the key broker's release responses), without
    /// the private key leaving this object.
    /// </summary>
    public byte[] SignRs256(ReadOnlySpan<byte> data) => Key.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    /// <summary>This key as Azure Attestation publishes it in <c>/certs</c>: exactly x5c (base64 DER), kid and kty.</summary>
    public JsonObject ToJwk() => new()
    {
        ["x5c"] = new JsonArray(Convert.ToBase64String(Certificate.RawData)),
        ["kid"] = KeyId,
        ["kty"] = "RSA",
    };

    public void Dispose()
    {
        Key.Dispose();
        Certificate.Dispose();
    }
}
