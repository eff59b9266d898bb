using System.Text;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Tests;

/// <summary>Quote shapes the real vectors lack, assembled by <see cref="TestQuoteBuilder"/>.</summary>
public sealed class SyntheticQuoteTests
{
    [Fact]
    public void V3_Sgx_DefaultBuild_Parses()
    {
        Quote quote = Quote.Parse(new TestQuoteBuilder().Build());

        Assert.Equal(TestQuoteBuilder.SampleSgxBody(), quote.SgxBody);
        Assert.Equal(432, quote.SignedLength);
        Assert.Equal(10, quote.Header.QeSvn);
        Assert.Equal(15, quote.Header.PceSvn);
        Assert.Equal(TestQuoteBuilder.FakePem, quote.PckCertificateChainPem);
        Assert.Equal(10, quote.QeReport.IsvSvn);
    }

    [Fact]
    public void V4_Sgx_Parses()
    {
        Quote quote = Quote.Parse(new TestQuoteBuilder { Version = 4 }.Build());

        Assert.Equal(TeeType.Sgx, quote.TeeType);
        Assert.Equal(TestQuoteBuilder.SampleSgxBody(), quote.SgxBody);
        Assert.Null(quote.BodyType);
        Assert.Equal(432, quote.SignedLength);
        Assert.Equal(0, quote.Header.QeSvn);
    }

    [Fact]
    public void V5_Sgx_Parses()
    {
        Quote quote = Quote.Parse(new TestQuoteBuilder { Version = 5 }.Build());

        Assert.Equal(QuoteBodyTypes.SgxReport, quote.BodyType);
        Assert.Equal(TestQuoteBuilder.SampleSgxBody(), quote.SgxBody);
        Assert.Equal(48 + 6 + 384, quote.SignedLength);
        Assert.Equal(TestQuoteBuilder.SampleSgxBody().ReportData, quote.ReportData);
    }

    [Theory]
    [InlineData(TdReportVersion.Td10, QuoteBodyTypes.TdReport10)]
    [InlineData(TdReportVersion.Td15, QuoteBodyTypes.TdReport15)]
    public void V5_Td_Parses(TdReportVersion version, ushort bodyType)
    {
        TdReportBody body = TestQuoteBuilder.SampleTdBody(version);

        Quote quote = Quote.Parse(new TestQuoteBuilder { Version = 5, TeeType = TeeType.Tdx, Body = body.ToArray() }.Build());

        Assert.Equal(bodyType, quote.BodyType);
        Assert.Equal(body, quote.TdBody);
        Assert.Equal(48 + 6 + body.Size, quote.SignedLength);
        Assert.False(quote.IsDebug);
    }

    [Fact]
    public void V5_SgxBodyInTdxQuote_IsMismatch()
    {
        byte[] bytes = new TestQuoteBuilder { Version = 5, TeeType = TeeType.Tdx }.Build();

        QuoteMutation.AssertError(bytes, QuoteFormatError.BodyTypeMismatch, 48);
    }

    [Fact]
    public void V5_TdBodyInSgxQuote_IsMismatch()
    {
        byte[] bytes = new TestQuoteBuilder
        {
            Version = 5,
            TeeType = TeeType.Sgx,
            Body = TestQuoteBuilder.SampleTdBody(TdReportVersion.Td10).ToArray(),
        }.Build();

        QuoteMutation.AssertError(bytes, QuoteFormatError.BodyTypeMismatch, 48);
    }

    [Theory]
    [InlineData(CertificationDataTypes.PpidCleartext)]
    [InlineData(CertificationDataTypes.PpidRsa2048Encrypted)]
    [InlineData(CertificationDataTypes.PpidRsa3072Encrypted)]
    [InlineData(CertificationDataTypes.PckLeafCertificate)]
    public void NonChainCertificationData_IsKeptRaw(ushort type)
    {
        byte[] data = [1, 2, 3, 0xFF, 0];

        Quote quote = Quote.Parse(new TestQuoteBuilder { Version = 4, CertificationDataType = type, CertificationData = data }.Build());

        Assert.Equal(type, quote.CertificationDataType);
        Assert.Equal(data, quote.CertificationData);
        Assert.Null(quote.PckCertificateChainPem);
    }

    [Fact]
    public void PlatformManifest_IsNotAPckIdentifier()
    {
        byte[] bytes = new TestQuoteBuilder { CertificationDataType = CertificationDataTypes.PlatformManifest }.Build();

        Assert.Equal(QuoteFormatError.UnsupportedCertificationDataType, QuoteMutation.ParseError(bytes).Error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void PemChain_TrailingNulsAreStripped(int nulCount)
    {
        byte[] data = [.. Encoding.ASCII.GetBytes(TestQuoteBuilder.FakePem), .. new byte[nulCount]];

        Quote quote = Quote.Parse(new TestQuoteBuilder { CertificationData = data }.Build());

        Assert.Equal(TestQuoteBuilder.FakePem, quote.PckCertificateChainPem);
        Assert.Equal(data, quote.CertificationData);
    }

    [Fact]
    public void EmptyAuthDataAndEmptyChain_Parse()
    {
        Quote quote = Quote.Parse(new TestQuoteBuilder { QeAuthData = [], CertificationData = [] }.Build());

        Assert.Empty(quote.QeAuthData);
        Assert.Equal(string.Empty, quote.PckCertificateChainPem);
    }

    [Fact]
    public void TrailingBytes_AreCountedAndKept()
    {
        byte[] bytes = new TestQuoteBuilder { TrailingBytes = 3065 }.Build();

        Quote quote = Quote.Parse(bytes);

        Assert.Equal(3065, quote.TrailingByteCount);
        Assert.Equal(bytes, quote.RawQuote);
    }

    [Fact]
    public void ParsedArrays_AreCopies()
    {
        byte[] bytes = new TestQuoteBuilder().Build();
        Quote quote = Quote.Parse(bytes);

        bytes.AsSpan().Clear();

        Assert.Equal(TestQuoteBuilder.SampleSgxBody(), quote.SgxBody);
        Assert.Equal(0x11, quote.Signature[0]);
        Assert.Equal(3, quote.SignedRegion.Span[0]);
        Assert.Equal(3, quote.RawQuote[0]);
    }
}
