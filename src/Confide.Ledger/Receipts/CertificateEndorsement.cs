using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Confide.Ledger.Receipts;

/// <summary>
/// Checks that one certificate's signature was made by another's key: CCF's "endorsement"
/// (python ccf.receipt.check_endorsement). Only the signature is checked, not names, extensions or
/// validity periods: a receipt stays verifiable after the certificates that signed it expire.
/// </summary>
public static class CertificateEndorsement
{
    /// <summary>True when <paramref name="endorser"/>'s ECDSA key signed <paramref name="endorsee"/>.</summary>
    /// <exception cref="CryptographicException">The endorsee is not a well-formed certificate, or uses an algorithm other than ECDSA with SHA-2.</exception>
    public static bool IsEndorsedBy(X509Certificate2 endorsee, X509Certificate2 endorser)
    {
        (byte[] toBeSigned, string algorithm, byte[] signature) = Split(endorsee.RawData);
        HashAlgorithmName hash = algorithm switch
        {
            "1.2.840.10045.4.3.2" => HashAlgorithmName.SHA256, // ecdsa-with-SHA256
            "1.2.840.10045.4.3.3" => HashAlgorithmName.SHA384, // ecdsa-with-SHA384
            "1.2.840.10045.4.3.4" => HashAlgorithmName.SHA512, // ecdsa-with-SHA512
            _ => throw new CryptographicException($"Certificate signature algorithm {algorithm} is not ECDSA with SHA-2."),
        };

        using ECDsa? key = endorser.GetECDsaPublicKey();
        return key is not null && key.VerifyData(toBeSigned, signature, hash, DSASignatureFormat.Rfc3279DerSequence);
    }

    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }
    private static (byte[] ToBeSigned, string Algorithm, byte[] Signature) Split(byte[] certificate)
    {
        try
        {
            var reader = new AsnReader(certificate, AsnEncodingRules.DER);
            AsnReader sequence = reader.ReadSequence();
            byte[] toBeSigned = sequence.ReadEncodedValue().ToArray();
            AsnReader algorithm = sequence.ReadSequence();
            string oid = algorithm.ReadObjectIdentifier();
            byte[] signature = sequence.ReadBitString(out int unusedBits);
            if (unusedBits != 0 || sequence.HasData || reader.HasData)
            {
                throw new CryptographicException("Malformed certificate signature.");
            }

            return (toBeSigned, oid, signature);
        }
        catch (AsnContentException exception)
        {
            throw new CryptographicException("Malformed certificate.", exception);
        }
    }
}
