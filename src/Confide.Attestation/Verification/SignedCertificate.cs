using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Confide.Attestation.Verification;

/// <summary>
/// Signature checks for Intel's PKI, done directly with ECDSA over the signed bytes: every
/// certificate and CRL of the DCAP hierarchy is ecdsa-with-SHA256 with a P-256 key, and checking
/// them by hand keeps the verifier free of the platform's chain-building policy and fast.
/// </summary>
internal static class SignedCertificate
{
    private const string EcdsaWithSha256 = "1.2.840.10045.4.3.2";

    /// <summary>True when <paramref name="certificate"/> is signed by <paramref name="issuerKey"/>.</summary>
    public static bool IsSignedBy(ReadOnlyMemory<byte> signedDer, ECDsa issuerKey)
    {
        // Certificate and CertificateList share the shape SEQUENCE { tbs, algorithm, BIT STRING signature }.
        try
        {
            var reader = new AsnReader(signedDer, AsnEncodingRules.DER);
            AsnReader outer = reader.ReadSequence();
            ReadOnlyMemory<byte> tbs = outer.ReadEncodedValue();
            AsnReader algorithm = outer.ReadSequence();
            string oid = algorithm.ReadObjectIdentifier();
            byte[] signature = outer.ReadBitString(out int unused);
            if (oid != EcdsaWithSha256 || unused != 0 || outer.HasData || reader.HasData)
            {
                return false;
            }

            return issuerKey.VerifyData(tbs.Span, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    /// <summary>True when the certificate's basic constraints say it is a CA; false when they are absent or cannot be decoded.</summary>
    public static bool IsCertificateAuthority(X509Certificate2 certificate)
    {
        try
        {
            return certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is { CertificateAuthority: true };
        }
        catch (CryptographicException)
        {
            // Decoded lazily: a corrupted extension of a not yet verified issuer surfaces here.
            return false;
        }
    }

    public static ECDsa PublicKey(X509Certificate2 certificate)
    {
        ECDsa? key;
        try
        {
            key = certificate.GetECDsaPublicKey();
        }
        catch (CryptographicException ex)
        {
            // A key that is not a valid point (or not a valid encoding) is read from an issuer
            // before that issuer's own signature is checked: it is hostile input, not a crash.
            throw new QuoteVerificationException(VerificationError.InvalidCertificateChain, $"'{certificate.Subject}' has an ECDSA key that cannot be decoded: {ex.Message}", ex);
        }

        return key ?? throw new QuoteVerificationException(VerificationError.InvalidCertificateChain, $"'{certificate.Subject}' has no ECDSA key.");
    }
}
