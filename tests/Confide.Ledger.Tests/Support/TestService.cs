using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Ledger.Ledger;

namespace Confide.Ledger.Tests.Support;

/// <summary>
/// A service identity (self-signed P-384 CA certificate, as CCF's) and the nodes it endorses, each
/// with a P-384 key and a certificate signed by the service key.
/// </summary>
internal sealed class TestService : IDisposable
{
    private readonly ECDsa _serviceKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private readonly List<IDisposable> _owned = [];

    public TestService(string name = "CCF Network")
    {
        var request = new CertificateRequest($"CN={name}", _serviceKey, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        using X509Certificate2 withKey = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        Certificate = X509CertificateLoader.LoadCertificate(withKey.RawData);
        _owned.Add(Certificate);
    }

    /// <summary>The service identity's private key (for COSE ledger signatures).</summary>
    public ECDsa Key => _serviceKey;

    /// <summary>The service identity certificate (public part only).</summary>
    public X509Certificate2 Certificate { get; }

    public string CertificatePem => Certificate.ExportCertificatePem();

    /// <summary>A node endorsed by this service: its signer, key and certificate.</summary>
    public TestNode CreateNode(string name = "CCF Node")
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        X509Certificate2 certificate = Endorse(key, name);
        _owned.Add(key);
        _owned.Add(certificate);
        return new TestNode(new EcdsaLedgerSigner(key, certificate), key, certificate);
    }

    /// <summary>A certificate for <paramref name="subjectKey"/> signed by the service key.</summary>
    public X509Certificate2 Endorse(ECDsa subjectKey, string name)
    {
        var request = new CertificateRequest($"CN={name}", subjectKey, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        return request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_serviceKey), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
    }

    /// <summary>
    /// This service's endorsement of <paramref name="previous"/>'s identity key, as a recovered service
    /// endorses its previous identity (a receipt's <c>service_endorsements</c>).
    /// </summary>
    public X509Certificate2 EndorsePreviousIdentity(TestService previous)
    {
        X509Certificate2 endorsement = Endorse(previous._serviceKey, "CCF Network (previous identity)");
        _owned.Add(endorsement);
        return endorsement;
    }

    public void Dispose()
    {
        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }

        _serviceKey.Dispose();
    }
}

internal sealed record TestNode(EcdsaLedgerSigner Signer, ECDsa Key, X509Certificate2 Certificate);
