using System.Buffers.Binary;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Tests;

/// <summary>The 16-byte oe_report_header wrapper and <see cref="Quote.ParseEvidence"/>.</summary>
public sealed class OpenEnclaveReportTests
{
    [Theory]
    [InlineData("sgx_v3_phala")]
    [InlineData("tdx_v4_automata")]
    public void WrappedRealQuote_ParsesLikeTheRawQuote(string name)
    {
        byte[] raw = DcapVectors.Quote(name);
        byte[] evidence = OpenEnclaveReport.Wrap(raw);

        Quote fromEvidence = Quote.ParseEvidence(evidence);
        Quote fromRaw = Quote.ParseEvidence(raw);

        Assert.Equal(raw.Length + OpenEnclaveReport.HeaderSize, evidence.Length);
        Assert.Equal(raw, fromEvidence.RawQuote);
        Assert.Equal(fromRaw.Header, fromEvidence.Header);
        Assert.Equal(fromRaw.SignedRegion.ToArray(), fromEvidence.SignedRegion.ToArray());
        Assert.Equal(fromRaw.TrailingByteCount, fromEvidence.TrailingByteCount);
        Assert.Equal(fromRaw.PckCertificateChainPem, fromEvidence.PckCertificateChainPem);
    }

    [Fact]
    public void TryUnwrap_AcceptsRemoteReports_AndNotRawQuotes()
    {
        byte[] raw = new TestQuoteBuilder().Build();
        byte[] evidence = OpenEnclaveReport.Wrap(raw);

        Assert.True(OpenEnclaveReport.HasHeader(evidence));
        Assert.True(OpenEnclaveReport.TryUnwrap(evidence, out ReadOnlySpan<byte> quote));
        Assert.Equal(raw, quote.ToArray());
        Assert.Equal(raw, OpenEnclaveReport.Unwrap(evidence).ToArray());

        Assert.False(OpenEnclaveReport.HasHeader(raw));
        Assert.False(OpenEnclaveReport.TryUnwrap(raw, out _));
        Assert.True(Quote.TryParseEvidence(raw, out Quote? parsed, out _));
        Assert.Equal(raw, parsed!.RawQuote);
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    public void WrongReportSize_IsRejected(long delta)
    {
        byte[] evidence = OpenEnclaveReport.Wrap(new TestQuoteBuilder().Build());
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(evidence.AsSpan(8));
        BinaryPrimitives.WriteUInt64LittleEndian(evidence.AsSpan(8), unchecked(size + (ulong)delta));

        AssertEvidenceError(evidence, QuoteFormatError.InvalidOpenEnclaveHeader, 8);
        Assert.False(OpenEnclaveReport.TryUnwrap(evidence, out _));
    }

    [Fact]
    public void WrappedEmptyQuote_ReportsTheQuoteTruncatedAfterTheHeader()
    {
        AssertEvidenceError(OpenEnclaveReport.Wrap([]), QuoteFormatError.Truncated, OpenEnclaveReport.HeaderSize);
    }

    [Theory]
    [InlineData(OpenEnclaveReport.ReportTypeLocal)]
    [InlineData(0u)]
    [InlineData(3u)]
    public void NonRemoteReportType_IsRejected(uint reportType)
    {
        byte[] evidence = OpenEnclaveReport.Wrap(new TestQuoteBuilder().Build());
        BinaryPrimitives.WriteUInt32LittleEndian(evidence.AsSpan(4), reportType);

        AssertEvidenceError(evidence, QuoteFormatError.InvalidOpenEnclaveHeader, 4);
    }

    [Fact]
    public void ShortHeader_IsTruncated()
    {
        byte[] evidence = OpenEnclaveReport.Wrap(new TestQuoteBuilder().Build())[..10];

        AssertEvidenceError(evidence, QuoteFormatError.Truncated, 10);
        Assert.Throws<QuoteFormatException>(() => OpenEnclaveReport.Unwrap(evidence).ToArray());
    }

    [Fact]
    public void OtherHeaderVersion_IsTreatedAsARawQuote()
    {
        // Only version 1 exists; anything else is not an OE header, and as a quote it is version 2.
        byte[] evidence = OpenEnclaveReport.Wrap(new TestQuoteBuilder().Build());
        evidence[0] = 2;

        AssertEvidenceError(evidence, QuoteFormatError.UnsupportedVersion, 0);
    }

    [Fact]
    public void ErrorsInsideTheQuote_CountTheHeader()
    {
        byte[] quote = QuoteMutation.WithUInt16(new TestQuoteBuilder().Build(), 2, 3);

        AssertEvidenceError(OpenEnclaveReport.Wrap(quote), QuoteFormatError.UnsupportedAttestationKeyType, OpenEnclaveReport.HeaderSize + 2);
    }

    [Fact]
    public void OversizedWrappedQuote_IsTooLarge()
    {
        byte[] quote = new byte[Quote.MaxSize + 1];
        new TestQuoteBuilder().Build().CopyTo(quote, 0);

        AssertEvidenceError(OpenEnclaveReport.Wrap(quote), QuoteFormatError.TooLarge, OpenEnclaveReport.HeaderSize + Quote.MaxSize);
    }

    private static void AssertEvidenceError(byte[] evidence, QuoteFormatError expected, int offset)
    {
        Assert.False(Quote.TryParseEvidence(evidence, out _, out QuoteFormatException? error));
        Assert.Equal(expected, error!.Error);
        Assert.Equal(offset, error.Offset);
    }
}
