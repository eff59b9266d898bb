using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Quotes;

namespace Confide.Tee.Simulation;

/// <summary>
/// Issues the simulated platform's certificates in the shape of Intel's SGX PKI: a self-signed
/// root, a PCK Platform CA, a PCK leaf carrying the SGX extension (FMSPC, TCB components, PCESVN,
/// PCE-ID, SGX type), and a TCB Signing certificate for TCB info and QE identity. Subjects say
/// "Simulated" so that nobody mistakes one for Intel's, and the root is a fresh key per machine.
/// </summary>
internal static class SimulatedPki
{
    public const string RootSubject = "CN=Confide Simulated SGX Root CA, O=Confide Simulation (not a TEE), C=US";
    public const string PckCaSubject = "CN=Confide Simulated SGX PCK Platform CA, O=Confide Simulation (not a TEE), C=US";
    public const string PckSubject = "CN=Confide Simulated SGX PCK Certificate, O=Confide Simulation (not a TEE), C=US";
    public const string TcbSigningSubject = "CN=Confide Simulated SGX TCB Signing, O=Confide Simulation (not a TEE), C=US";

    public static SimulatedPlatformState CreatePlatform(DateTimeOffset now)
    {
        using ECDsa rootKey = NewKey();
        using ECDsa pckCaKey = NewKey();
        using ECDsa pckKey = NewKey();
        using ECDsa tcbSigningKey = NewKey();
        using ECDsa attestationKey = NewKey();

        // Intel's CAs run to 2049/2033 and PCK leaves ~7 years; a simulated machine lives as long
        // as the developer keeps its state directory, so its certificates do too.
        DateTimeOffset notBefore = now.AddDays(-1);
        using X509Certificate2 root = CreateCa(RootSubject, rootKey, issuer: null, issuerKey: null, notBefore, now.AddYears(25), pathLength: 1);
        using X509Certificate2 pckCa = CreateCa(PckCaSubject, pckCaKey, root, rootKey, notBefore, now.AddYears(15), pathLength: 0);
        using X509Certificate2 tcbSigning = CreateLeaf(TcbSigningSubject, tcbSigningKey, root, rootKey, notBefore, now.AddYears(7), extension: null);

        byte[] components = [16, 16, 3, 3, 255, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        byte[] fmspc = Convert.FromHexString("C0F1DE000000");
        byte[] pceId = [0, 0];
        byte[] ppid = RandomNumberGenerator.GetBytes(16);
        const ushort pceSvn = 13;
        var sgxExtension = new SgxPckExtensions
        {
            Ppid = ppid,
            TcbComponents = components,
            PceSvn = pceSvn,
            CpuSvn = components,
            PceId = pceId,
            Fmspc = fmspc,
            SgxType = SgxType.Scalable,
            PlatformInstanceId = RandomNumberGenerator.GetBytes(16),
        };
        using X509Certificate2 pck = CreateLeaf(PckSubject, pckKey, pckCa, pckCaKey, notBefore, now.AddYears(7), sgxExtension.Encode());

        return new SimulatedPlatformState
        {
            CreatedAt = now,
            Fmspc = fmspc,
            PceId = pceId,
            PceSvn = pceSvn,
            TcbComponents = components,
            QeSvn = 8,
            QeId = RandomNumberGenerator.GetBytes(16),
            Ppid = ppid,
            RootKey = rootKey.ExportPkcs8PrivateKey(),
            RootCertificate = root.RawData,
            PckCaKey = pckCaKey.ExportPkcs8PrivateKey(),
            PckCaCertificate = pckCa.RawData,
            PckKey = pckKey.ExportPkcs8PrivateKey(),
            PckCertificate = pck.RawData,
            TcbSigningKey = tcbSigningKey.ExportPkcs8PrivateKey(),
            TcbSigningCertificate = tcbSigning.RawData,
            AttestationKey = attestationKey.ExportPkcs8PrivateKey(),
            SealSecret = RandomNumberGenerator.GetBytes(32),
        };
    }

    public static ECDsa NewKey() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public static ECDsa ImportKey(byte[] pkcs8)
    {
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(pkcs8, out _);
        return key;
    }

    private static X509Certificate2 CreateCa(string subject, ECDsa key, X509Certificate2? issuer, ECDsa? issuerKey, DateTimeOffset notBefore, DateTimeOffset notAfter, int pathLength)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, pathLength, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (issuer is null)
        {
            return request.CreateSelfSigned(notBefore, notAfter);
        }

        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        return request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey!), notBefore, notAfter, NewSerial());
    }

    private static X509Certificate2 CreateLeaf(string subject, ECDsa key, X509Certificate2 issuer, ECDsa issuerKey, DateTimeOffset notBefore, DateTimeOffset notAfter, byte[]? extension)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        if (extension is not null)
        {
            request.CertificateExtensions.Add(new X509Extension(SgxPckExtensions.Oid, extension, critical: false));
        }

        return request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey), notBefore, notAfter, NewSerial());
    }

    public static byte[] NewSerial()
    {
        byte[] serial = RandomNumberGenerator.GetBytes(20);
        serial[0] &= 0x7F; // positive INTEGER
        serial[0] |= 0x01;
        return serial;
    }

    public static BigInteger NewCrlNumber(DateTimeOffset now) => new(now.ToUnixTimeSeconds());
}
