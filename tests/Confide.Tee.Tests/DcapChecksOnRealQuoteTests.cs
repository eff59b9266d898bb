using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Tee.Tests.Support;

namespace Confide.Tee.Tests;

/// <summary>
/// The hand-written checks in <see cref="DcapChecks"/> are what the simulated evidence is judged
/// by, so they must first be shown to accept a real Intel quote with its real collateral (and to
/// reject it once altered). Otherwise a simulation bug and a test bug could agree with each other.
/// </summary>
public sealed class DcapChecksOnRealQuoteTests
{
    private const string Vector = "sgx_v3_phala";

    [Fact]
    public void RealQuote_PassesQuoteSignature_QeReportSignature_AndKeyBinding()
    {
        Quote quote = Quote.Parse(DcapVectors.Quote(Vector));
        X509Certificate2[] pemChain = DcapChecks.ParsePemChain(quote.PckCertificateChainPem!);

        Assert.True(DcapChecks.QuoteSignatureIsValid(quote));
        Assert.True(DcapChecks.QeReportSignatureIsValid(quote, pemChain[0]));
        Assert.True(DcapChecks.QeReportDataBindsAttestationKey(quote));
    }

    [Fact]
    public void RealQuote_WithAFlippedMrEnclaveByte_FailsTheQuoteSignature()
    {
        byte[] bytes = DcapVectors.Quote(Vector);
        bytes[QuoteHeader.Size + 64] ^= 0x01; // MRENCLAVE starts at body offset 64

        Assert.False(DcapChecks.QuoteSignatureIsValid(Quote.Parse(bytes)));
    }

    [Fact]
    public void RealPckChain_BuildsToTheIntelRoot_AtTheVectorsVerificationTime()
    {
        Quote quote = Quote.Parse(DcapVectors.Quote(Vector));
        X509Certificate2[] pemChain = DcapChecks.ParsePemChain(quote.PckCertificateChainPem!);
        using X509Certificate2 intelRoot = DcapVectors.IntelRootCertificate();
        DateTimeOffset verifyAt = DateTimeOffset.FromUnixTimeSeconds(DcapVectors.Expected(Vector).GetProperty("verify_at").GetInt64());

        X509Certificate2[]? built = DcapChecks.BuildChain(pemChain[0], intelRoot, pemChain[1..], verifyAt);

        Assert.NotNull(built);
        Assert.Equal(3, built.Length);
        Assert.Equal(intelRoot.RawData, built[^1].RawData);
    }

    [Fact]
    public void RealCollateral_SignaturesAndCrlIssuersCheckOut()
    {
        QuoteCollateral collateral = QuoteCollateral.FromJson(DcapVectors.CollateralJson(Vector));
        Quote quote = Quote.Parse(DcapVectors.Quote(Vector));
        X509Certificate2 pckLeaf = DcapChecks.ParsePemChain(quote.PckCertificateChainPem!)[0];
        X509Certificate2 tcbSigning = DcapChecks.ParsePemChain(collateral.TcbInfoIssuerChain)[0];
        X509Certificate2 qeIdentitySigning = DcapChecks.ParsePemChain(collateral.QeIdentityIssuerChain)[0];
        X509Certificate2 pckCa = DcapChecks.ParsePemChain(collateral.PckCrlIssuerChain)[0];
        using X509Certificate2 intelRoot = DcapVectors.IntelRootCertificate();

        Assert.True(DcapChecks.CollateralSignatureIsValid(collateral.TcbInfo, collateral.TcbInfoSignature, tcbSigning));
        Assert.True(DcapChecks.CollateralSignatureIsValid(collateral.QeIdentity, collateral.QeIdentitySignature, qeIdentitySigning));
        Assert.False(DcapChecks.CollateralSignatureIsValid(collateral.TcbInfo + " ", collateral.TcbInfoSignature, tcbSigning));

        DcapChecks.Crl rootCrl = DcapChecks.ParseCrl(Convert.FromHexString(collateral.RootCaCrl));
        DcapChecks.Crl pckCrl = DcapChecks.ParseCrl(Convert.FromHexString(collateral.PckCrl));
        Assert.True(rootCrl.IssuerIs(intelRoot));
        Assert.True(rootCrl.IsSignedBy(intelRoot));
        Assert.True(pckCrl.IssuerIs(pckCa));
        Assert.True(pckCrl.IsSignedBy(pckCa));
        Assert.Equal(pckLeaf.IssuerName.RawData, pckCrl.Issuer.RawData);
        Assert.False(pckCrl.IsSignedBy(intelRoot));
    }
}
