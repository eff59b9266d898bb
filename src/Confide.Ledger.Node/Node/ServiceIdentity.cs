using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Confide.Ledger.Node;

/// <summary>
/// The service identity, CCF's root of trust: a P-384 key whose self-signed certificate clients
/// pin, and which endorses every trusted node's certificate (TLS, ledger signatures, receipts).
/// </summary>
public sealed class ServiceIdentity : IDisposable
{
    private ServiceIdentity(ECDsa key, X509Certificate2 certificate)
    {
        Key = key;
        Certificate = certificate;
    }

    public ECDsa Key { get; }

    public X509Certificate2 Certificate { get; }

    public static ServiceIdentity Create(string name = "CCF Service")
    {
        ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        X509Certificate2 certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));
        return new ServiceIdentity(key, certificate);
    }

    /// <summary>
    /// A new node key. P-256, as CCF allows for node identities (the service identity stays P-384):
    /// every receipt is verified against a node's signature, and P-256 verifies several times faster.
    /// </summary>
    public static ECDsa CreateNodeKey() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The identity from its key and certificate (owned from now on).</summary>
    public static ServiceIdentity FromKey(ECDsa key, X509Certificate2 certificate) => new(key, certificate);

    /// <summary>The identity from its PEM certificate and PKCS#8 key.</summary>
    public static ServiceIdentity FromPem(string certificatePem, string keyPem)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(keyPem);
        return new ServiceIdentity(key, X509Certificate2.CreateFromPem(certificatePem));
    }

    /// <summary>
    /// Endorses a node's key: a certificate for it issued by the service identity, with the node's
    /// id (hex SHA-256 of its public key) as common name and its addresses as names. Returned with
    /// the private key when <paramref name="nodeKey"/> has it.
    /// </summary>
    public X509Certificate2 EndorseNode(ECDsa nodeKey, IEnumerable<string> hostNames, TimeSpan validity)
    {
        ArgumentNullException.ThrowIfNull(nodeKey);
        string nodeId = Convert.ToHexStringLower(SHA256.HashData(nodeKey.ExportSubjectPublicKeyInfo()));
        var request = new CertificateRequest(new X500DistinguishedName($"CN={nodeId}"), new PublicKey(nodeKey), HashAlgorithmName.SHA384);
        var names = new SubjectAlternativeNameBuilder();
        foreach (string host in hostNames)
        {
            if (System.Net.IPAddress.TryParse(host, out System.Net.IPAddress? address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        DateTimeOffset notAfter = now.Add(validity) < Certificate.NotAfter ? now.Add(validity) : Certificate.NotAfter;
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        X509Certificate2 issued = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(Key), now.AddMinutes(-5), notAfter, serial);
        if (!HasPrivateKey(nodeKey))
        {
            return issued;
        }

        using (issued)
        {
            // A certificate with a private key that Kestrel and SslStream can use on Linux.
            using X509Certificate2 withKey = issued.CopyWithPrivateKey(nodeKey);
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        }
    }

    /// <summary>
    /// CCF's service endorsement: after a recovery, the new identity certifies the previous
    /// identity's key (same subject and key, issued by this identity), so that a receipt signed by a
    /// node of the previous service verifies against the current service certificate alone: node
    /// certificate ← endorsement ← … ← current identity. The validity is the previous identity's,
    /// the period whose receipts it vouches for.
    /// </summary>
    public X509Certificate2 EndorsePreviousIdentity(X509Certificate2 previous)
    {
        ArgumentNullException.ThrowIfNull(previous);
        var request = new CertificateRequest(previous.SubjectName, previous.PublicKey, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(previous.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        return request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(Key), new DateTimeOffset(previous.NotBefore.ToUniversalTime()), new DateTimeOffset(previous.NotAfter.ToUniversalTime()), serial);
    }

    private static bool HasPrivateKey(ECDsa key)
    {
        try
        {
            key.ExportParameters(includePrivateParameters: true);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>True when <paramref name="certificate"/> is valid now and chains to <paramref name="service"/> (its signature checked).</summary>
    public static bool IsIssuedBy(X509Certificate2 certificate, X509Certificate2 service)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(service);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(service);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        return chain.Build(certificate)
            && chain.ChainElements.Count == 2
            && chain.ChainElements[1].Certificate.RawData.AsSpan().SequenceEqual(service.RawData);
    }

    public void Dispose()
    {
        Key.Dispose();
        Certificate.Dispose();
    }
}
