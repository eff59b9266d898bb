using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Confide.Tls.Evidence;

/// <summary>
/// How evidence names the certificate's key: EGo and Gramine hash the DER SubjectPublicKeyInfo;
/// Open Enclave hashes its PEM ("-----BEGIN PUBLIC KEY-----...") with the C string's NUL.
/// </summary>
public static class PublicKeyBinding
{
    public static byte[] SubjectPublicKeyInfo(X509Certificate2 certificate) => certificate.PublicKey.ExportSubjectPublicKeyInfo();

    /// <summary>SHA-256 of the DER SubjectPublicKeyInfo (EGo, Gramine, the interoperable claims).</summary>
    public static byte[] DerHash(ReadOnlySpan<byte> subjectPublicKeyInfo) => SHA256.HashData(subjectPublicKeyInfo);

    /// <summary>SHA-256 of the PEM of the SubjectPublicKeyInfo followed by a NUL byte (Open Enclave).</summary>
    public static byte[] OpenEnclavePemHash(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        string pem = PemEncoding.WriteString("PUBLIC KEY", subjectPublicKeyInfo) + "\n";
        return SHA256.HashData([.. Encoding.ASCII.GetBytes(pem), 0]);
    }

    /// <summary>True when <paramref name="reportData"/> starts with either hash of the key.</summary>
    public static bool IsBound(ReadOnlySpan<byte> reportData, ReadOnlySpan<byte> subjectPublicKeyInfo) =>
        reportData.Length >= 32
        && (CryptographicOperations.FixedTimeEquals(reportData[..32], DerHash(subjectPublicKeyInfo))
            || CryptographicOperations.FixedTimeEquals(reportData[..32], OpenEnclavePemHash(subjectPublicKeyInfo)));
}
