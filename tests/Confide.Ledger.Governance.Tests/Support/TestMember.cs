using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Ledger.Governance.Requests;

namespace Confide.Ledger.Governance.Tests.Support;

/// <summary>A member (or user) identity: an EC key, its self-signed certificate, and a request signer.</summary>
internal sealed class TestMember : IDisposable
{
    private TestMember(ECDsa key, X509Certificate2 certificate)
    {
        Key = key;
        Certificate = certificate;
        Signer = new GovernanceRequestSigner(key, certificate);
    }

    public ECDsa Key { get; }

    public X509Certificate2 Certificate { get; }

    public GovernanceRequestSigner Signer { get; }

    public string Id => Signer.MemberId;

    public string CertificatePem => Signer.CertificatePem;

    public static TestMember Create(string name, ECCurve? curve = null)
    {
        var key = ECDsa.Create(curve ?? ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        using X509Certificate2 withKey = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return new TestMember(key, X509CertificateLoader.LoadCertificate(withKey.RawData));
    }

    public void Dispose()
    {
        Key.Dispose();
        Certificate.Dispose();
    }
}
