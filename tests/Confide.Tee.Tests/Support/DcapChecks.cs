using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Confide.Attestation.Quotes;

namespace Confide.Tee.Tests.Support;

/// <summary>
/// The cryptographic checks of Intel's quote verification (shared/notes/dcap.md §4), written out
/// with System.Security.Cryptography only, independent of any Confide verifier. Each returns a
/// bool (or the decoded value) so tests can assert both acceptance and rejection.
/// <see cref="DcapChecksOnRealQuoteTests"/> proves they accept real Intel quotes and collateral.
/// </summary>
internal static class DcapChecks
{
    private const string EcdsaWithSha256Oid = "1.2.840.10045.4.3.2";

    /// <summary>§4 step 12: ECDSA-P256-SHA256 by the attestation key (raw x‖y) over [0, signed_len), signature raw r‖s.</summary>
    public static bool QuoteSignatureIsValid(Quote quote)
    {
        using ECDsa attestationKey = ImportRawP256PublicKey(quote.AttestationKey);
        return attestationKey.VerifyData(quote.SignedRegion.Span, quote.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    /// <summary>§4 step 9: the PCK leaf's key signs the 384 raw QE report bytes (r‖s).</summary>
    public static bool QeReportSignatureIsValid(Quote quote, X509Certificate2 pckLeaf)
    {
        using ECDsa pckKey = pckLeaf.GetECDsaPublicKey() ?? throw new InvalidOperationException("The PCK certificate has no EC key.");
        return pckKey.VerifyData(quote.QeReportRaw, quote.QeReportSignature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    /// <summary>§4 step 10: QE report data = SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes.</summary>
    public static bool QeReportDataBindsAttestationKey(Quote quote)
    {
        byte[] expected = SHA256.HashData([.. quote.AttestationKey, .. quote.QeAuthData]);
        byte[] reportData = quote.QeReport.ReportData;
        return reportData.AsSpan(0, 32).SequenceEqual(expected) && reportData.AsSpan(32).IndexOfAnyExcept((byte)0) < 0;
    }

    /// <summary>The certificates of a PEM chain, in order (leaf first).</summary>
    public static X509Certificate2[] ParsePemChain(string pem)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPem(pem);
        return [.. collection];
    }

    /// <summary>
    /// Builds <paramref name="leaf"/> up to <paramref name="trustedRoot"/> as the only trust anchor
    /// (no system roots, no revocation check, no downloads). Returns the chain on success, else null.
    /// </summary>
    public static X509Certificate2[]? BuildChain(X509Certificate2 leaf, X509Certificate2 trustedRoot, IEnumerable<X509Certificate2> intermediates, DateTimeOffset? at = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(trustedRoot);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ExtraStore.AddRange(intermediates.ToArray());
        if (at is { } time)
        {
            chain.ChainPolicy.VerificationTime = time.UtcDateTime;
            chain.ChainPolicy.VerificationTimeIgnored = false;
        }

        if (!chain.Build(leaf))
        {
            return null;
        }

        return [.. chain.ChainElements.Select(element => X509CertificateLoader.LoadCertificate(element.Certificate.RawData))];
    }

    /// <summary>ECDSA-P256-SHA256, raw r‖s in hex, over the UTF-8 bytes of the exact signed text (TCB info, QE identity).</summary>
    public static bool CollateralSignatureIsValid(string signedText, string signatureHex, X509Certificate2 signer)
    {
        using ECDsa key = signer.GetECDsaPublicKey() ?? throw new InvalidOperationException("The signing certificate has no EC key.");
        return key.VerifyData(Encoding.UTF8.GetBytes(signedText), Convert.FromHexString(signatureHex), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    /// <summary>Public key from the raw x‖y (64 bytes) form DCAP quotes carry.</summary>
    public static ECDsa ImportRawP256PublicKey(ReadOnlySpan<byte> xy)
    {
        if (xy.Length != 64)
        {
            throw new ArgumentException($"A raw P-256 public key is 64 bytes, not {xy.Length}.", nameof(xy));
        }

        return ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = xy[..32].ToArray(), Y = xy[32..].ToArray() },
        });
    }

    /// <summary>
    /// Decodes an X.509 CRL (RFC 5280 §5.1) far enough to check it: the DER of the TBS part, the
    /// issuer name, the validity window and the signature.
    /// </summary>
    public static Crl ParseCrl(byte[] der)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER);
        AsnReader certificateList = outer.ReadSequence();
        outer.ThrowIfNotEmpty();

        ReadOnlyMemory<byte> tbs = certificateList.ReadEncodedValue();
        AsnReader signatureAlgorithm = certificateList.ReadSequence();
        string algorithm = signatureAlgorithm.ReadObjectIdentifier();
        byte[] signature = certificateList.ReadBitString(out int unusedBits);
        certificateList.ThrowIfNotEmpty();
        if (unusedBits != 0)
        {
            throw new CryptographicException("The CRL signature BIT STRING has unused bits.");
        }

        AsnReader tbsReader = new AsnReader(tbs, AsnEncodingRules.DER).ReadSequence();
        if (tbsReader.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
        {
            tbsReader.ReadInteger(); // version v2
        }

        string innerAlgorithm = tbsReader.ReadSequence().ReadObjectIdentifier();
        byte[] issuer = tbsReader.ReadEncodedValue().ToArray();
        DateTimeOffset thisUpdate = ReadTime(tbsReader);
        DateTimeOffset? nextUpdate = tbsReader.HasData && IsTime(tbsReader.PeekTag()) ? ReadTime(tbsReader) : null;
        if (innerAlgorithm != algorithm)
        {
            throw new CryptographicException("The CRL's inner and outer signature algorithms differ.");
        }

        return new Crl(tbs.ToArray(), algorithm, signature, new X500DistinguishedName(issuer), thisUpdate, nextUpdate);
    }

    private static bool IsTime(Asn1Tag tag) =>
        tag.HasSameClassAndValue(Asn1Tag.UtcTime) || tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime);

    private static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();

    internal sealed record Crl(byte[] Tbs, string SignatureAlgorithm, byte[] Signature, X500DistinguishedName Issuer, DateTimeOffset ThisUpdate, DateTimeOffset? NextUpdate)
    {
        /// <summary>ecdsa-with-SHA256, DER signature, by <paramref name="issuer"/>'s key over the TBS bytes.</summary>
        public bool IsSignedBy(X509Certificate2 issuer)
        {
            if (SignatureAlgorithm != EcdsaWithSha256Oid)
            {
                return false;
            }

            using ECDsa key = issuer.GetECDsaPublicKey() ?? throw new InvalidOperationException("The issuer has no EC key.");
            return key.VerifyData(Tbs, Signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }

        /// <summary>The raw issuer name equals <paramref name="certificate"/>'s subject (Intel compares raw bytes).</summary>
        public bool IssuerIs(X509Certificate2 certificate) => Issuer.RawData.AsSpan().SequenceEqual(certificate.SubjectName.RawData);
    }
}
