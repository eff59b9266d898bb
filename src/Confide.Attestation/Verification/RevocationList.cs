using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Confide.Attestation.Verification;

/// <summary>
/// An X.509 CRL (RFC 5280 CertificateList) as the DCAP checks need it: issuer name, validity
/// window, revoked serial numbers, and its signature. .NET builds CRLs but does not read them.
/// </summary>
internal sealed class RevocationList
{
    private readonly byte[] _der;

    private RevocationList(byte[] der, byte[] issuer, DateTimeOffset thisUpdate, DateTimeOffset? nextUpdate, HashSet<BigInteger> revoked)
    {
        _der = der;
        IssuerRaw = issuer;
        ThisUpdate = thisUpdate;
        NextUpdate = nextUpdate;
        RevokedSerials = revoked;
    }

    public byte[] IssuerRaw { get; }

    public X500DistinguishedName Issuer => new(IssuerRaw);

    public DateTimeOffset ThisUpdate { get; }

    public DateTimeOffset? NextUpdate { get; }

    public IReadOnlySet<BigInteger> RevokedSerials { get; }

    public static RevocationList Parse(byte[] der, string name)
    {
        try
        {
            var reader = new AsnReader(der, AsnEncodingRules.DER);
            AsnReader list = reader.ReadSequence();
            AsnReader tbs = list.ReadSequence();
            if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            {
                tbs.ReadInteger();
            }

            tbs.ReadSequence(); // signature algorithm, checked with the outer one
            byte[] issuer = tbs.ReadEncodedValue().ToArray();
            DateTimeOffset thisUpdate = ReadTime(tbs);
            DateTimeOffset? nextUpdate = tbs.HasData && IsTime(tbs.PeekTag()) ? ReadTime(tbs) : null;
            var revoked = new HashSet<BigInteger>();
            if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            {
                AsnReader entries = tbs.ReadSequence();
                while (entries.HasData)
                {
                    AsnReader entry = entries.ReadSequence();
                    revoked.Add(entry.ReadInteger());
                }
            }

            return new RevocationList(der, issuer, thisUpdate, nextUpdate, revoked);
        }
        catch (Exception ex) when (ex is AsnContentException or CryptographicException)
        {
            throw new QuoteVerificationException(VerificationError.InvalidCrl, $"The {name} is not a valid DER CRL: {ex.Message}", ex);
        }
    }

    public bool IsSignedBy(X509Certificate2 issuer)
    {
        using ECDsa key = SignedCertificate.PublicKey(issuer);
        return IssuerRaw.AsSpan().SequenceEqual(issuer.SubjectName.RawData) && SignedCertificate.IsSignedBy(_der, key);
    }

    public bool Revokes(X509Certificate2 certificate) =>
        RevokedSerials.Contains(new BigInteger(certificate.SerialNumberBytes.Span, isUnsigned: false, isBigEndian: true));

    private static bool IsTime(Asn1Tag tag) => tag.HasSameClassAndValue(Asn1Tag.UtcTime) || tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime);

    private static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();
}
