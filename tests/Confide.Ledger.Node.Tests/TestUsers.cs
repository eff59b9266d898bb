using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Confide.Ledger.Node.Tests;

/// <summary>Client certificates for users and other callers: P-256, self-signed, a day long, with their private key.</summary>
internal static class TestUsers
{
    public static X509Certificate2 Create(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 certificate = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }
}
