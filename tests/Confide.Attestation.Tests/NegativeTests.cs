using Confide.Attestation.Quotes;
using static Confide.Attestation.Tests.QuoteMutation;

namespace Confide.Attestation.Tests;

/// <summary>Malformed quotes: each gets a <see cref="QuoteFormatException"/> with the right error and offset.</summary>
public sealed class NegativeTests
{
    private const string V3 = "sgx_v3_phala";
    private const string V4 = "tdx_v4_phala";
    private const string V5 = "tdx_v5_automata";

    [Theory]
    [InlineData(V3)]
    [InlineData(V4)]
    [InlineData(V5)]
    public void Truncation_AtEveryLength_IsATruncationError(string name)
    {
        byte[] bytes = DcapVectors.Quote(name);
        Quote full = Quote.Parse(bytes);
        int end = bytes.Length - full.TrailingByteCount;

        for (int length = 0; length < bytes.Length; length++)
        {
            bool parsed = Quote.TryParse(bytes.AsSpan(0, length), out Quote? quote, out QuoteFormatException? error);
            if (length >= end)
            {
                // Cutting into the padding only shortens the tolerated tail.
                Assert.True(parsed, $"length {length}: {error?.Message}");
                Assert.Equal(length - end, quote!.TrailingByteCount);
                continue;
            }

            if (parsed || !error!.IsTruncation
                || error.Error is not (QuoteFormatError.Truncated or QuoteFormatError.SignatureDataLengthOutOfRange)
                || error.Offset < 0 || error.Offset > length)
            {
                Assert.Fail($"length {length}: expected a truncation error, got {(parsed ? "success" : error!.Message)}");
            }
        }
    }

    [Fact]
    public void EmptyInput_IsTruncatedAtZero() => AssertError([], QuoteFormatError.Truncated, 0);

    [Theory]
    [InlineData(V3, 0)]
    [InlineData(V3, 2)]
    [InlineData(V3, 6)]
    [InlineData(V4, 1)]
    [InlineData(V4, 0xFFFF)]
    public void BadVersion(string name, int version) =>
        AssertError(WithUInt16(DcapVectors.Quote(name), 0, (ushort)version), QuoteFormatError.UnsupportedVersion, 0);

    [Theory]
    [InlineData(V3, 3)]
    [InlineData(V3, 0)]
    [InlineData(V4, 1)]
    [InlineData(V5, 0xFFFF)]
    public void BadAttestationKeyType(string name, int keyType) =>
        AssertError(WithUInt16(DcapVectors.Quote(name), 2, (ushort)keyType), QuoteFormatError.UnsupportedAttestationKeyType, 2);

    [Theory]
    [InlineData(V3, 0x81u)]
    [InlineData(V3, 1u)]
    [InlineData(V4, 0x80u)]
    [InlineData(V4, 0xFFFFFFFFu)]
    [InlineData(V5, 0x8100u)]
    public void BadTeeType(string name, uint teeType) =>
        AssertError(WithUInt32(DcapVectors.Quote(name), 4, teeType), QuoteFormatError.UnsupportedTeeType, 4);

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(0xFFFF)]
    public void V5_UnknownBodyType(int bodyType) =>
        AssertError(WithUInt16(DcapVectors.Quote(V5), 48, (ushort)bodyType), QuoteFormatError.UnsupportedBodyType, 48);

    [Fact]
    public void V5_SgxBodyTypeInTdxQuote_IsMismatch() =>
        AssertError(WithUInt16(DcapVectors.Quote(V5), 48, QuoteBodyTypes.SgxReport), QuoteFormatError.BodyTypeMismatch, 48);

    [Theory]
    [InlineData(584u)]
    [InlineData(384u)]
    [InlineData(649u)]
    [InlineData(0u)]
    [InlineData(0xFFFFFFFFu)]
    public void V5_WrongBodySize(uint bodySize) =>
        AssertError(WithUInt32(DcapVectors.Quote(V5), 50, bodySize), QuoteFormatError.BodySizeMismatch, 50);

    [Fact]
    public void V5_TdReport10TypeWithTd15Size_IsSizeMismatch() =>
        AssertError(WithUInt16(DcapVectors.Quote(V5), 48, QuoteBodyTypes.TdReport10), QuoteFormatError.BodySizeMismatch, 50);

    [Theory]
    [InlineData(V3)]
    [InlineData(V4)]
    public void SignatureDataLength_BeyondBuffer(string name)
    {
        byte[] bytes = DcapVectors.Quote(name);
        int at = Quote.Parse(bytes).SignedLength;
        uint available = (uint)(bytes.Length - at - 4);

        AssertError(WithUInt32(bytes, at, available + 1), QuoteFormatError.SignatureDataLengthOutOfRange, at);
        AssertError(WithUInt32(bytes, at, uint.MaxValue), QuoteFormatError.SignatureDataLengthOutOfRange, at);
        AssertError(WithUInt32(bytes, at, 0x8000_0000), QuoteFormatError.SignatureDataLengthOutOfRange, at);
        Assert.True(ParseError(WithUInt32(bytes, at, available + 1)).IsTruncation);
    }

    [Fact]
    public void SignatureDataLength_LongerThanItsContents_IsMismatch()
    {
        // tdx_v4_phala has 70 bytes of padding, so a larger length still fits in the buffer.
        byte[] bytes = DcapVectors.Quote(V4);
        Quote quote = Quote.Parse(bytes);
        int at = quote.SignedLength;
        uint declared = UInt32At(bytes, at);
        int end = bytes.Length - quote.TrailingByteCount;

        AssertError(WithUInt32(bytes, at, declared + 1), QuoteFormatError.SignatureDataLengthMismatch, end);
    }

    [Fact]
    public void SignatureDataLength_TooShortForTheQeReport_IsMismatch()
    {
        byte[] bytes = DcapVectors.Quote(V3);

        // 128 bytes hold the signature and key; the QE report at 564 then runs past the end.
        AssertError(WithUInt32(bytes, 432, 128), QuoteFormatError.SignatureDataLengthMismatch, 564);
        AssertError(WithUInt32(bytes, 432, 0), QuoteFormatError.SignatureDataLengthMismatch, 436);
    }

    [Theory]
    [InlineData(V3)]
    [InlineData(V4)]
    public void SignatureDataLength_OneShort_CutsTheCertificationData(string name)
    {
        byte[] bytes = DcapVectors.Quote(name);
        Quote quote = Quote.Parse(bytes);
        QuoteLayout layout = Layout(quote);
        int at = quote.SignedLength;
        int sizeField = layout.OuterCertificationSize ?? layout.CertificationSize;

        AssertError(WithUInt32(bytes, at, UInt32At(bytes, at) - 1), QuoteFormatError.CertificationDataTruncated, sizeField);
    }

    [Theory]
    [InlineData((ushort)6)]
    [InlineData((ushort)7)]
    [InlineData((ushort)0)]
    [InlineData((ushort)0xFFFF)]
    public void V3_WrongCertificationDataType(ushort type) =>
        AssertError(WithUInt16(DcapVectors.Quote(V3), 1046, type), QuoteFormatError.UnsupportedCertificationDataType, 1046);

    [Theory]
    [InlineData((ushort)5)]
    [InlineData((ushort)1)]
    [InlineData((ushort)0)]
    public void V4_OuterCertificationDataTypeMustBe6(ushort type) =>
        AssertError(WithUInt16(DcapVectors.Quote(V4), 764, type), QuoteFormatError.UnsupportedCertificationDataType, 764);

    [Theory]
    [InlineData((ushort)6)]
    [InlineData((ushort)7)]
    [InlineData((ushort)8)]
    public void V4_InnerCertificationDataType_MustBe1To5(ushort type) =>
        AssertError(WithUInt16(DcapVectors.Quote(V4), 1252, type), QuoteFormatError.UnsupportedCertificationDataType, 1252);

    [Fact]
    public void V5_CertificationDataOffsetsAreShiftedBy70() =>
        AssertError(WithUInt16(DcapVectors.Quote(V5), 1252 + 70, 6), QuoteFormatError.UnsupportedCertificationDataType, 1252 + 70);

    [Fact]
    public void V3_CertificationDataSize_TooLargeOrTooSmall()
    {
        byte[] bytes = DcapVectors.Quote(V3);
        uint size = UInt32At(bytes, 1048);

        AssertError(WithUInt32(bytes, 1048, size + 1), QuoteFormatError.CertificationDataTruncated, 1048);
        AssertError(WithUInt32(bytes, 1048, uint.MaxValue), QuoteFormatError.CertificationDataTruncated, 1048);

        // One byte of signature data is then left over after the certification data.
        AssertError(WithUInt32(bytes, 1048, size - 1), QuoteFormatError.SignatureDataLengthMismatch, bytes.Length - 1);
    }

    [Fact]
    public void V4_InnerCertificationDataSize_TooLargeOrTooSmall()
    {
        byte[] bytes = DcapVectors.Quote(V4);
        uint size = UInt32At(bytes, 1254);
        int endOfType6 = 1258 + (int)size;

        AssertError(WithUInt32(bytes, 1254, size + 1), QuoteFormatError.CertificationDataTruncated, 1254);
        AssertError(WithUInt32(bytes, 1254, size - 1), QuoteFormatError.CertificationDataLengthMismatch, endOfType6 - 1);
    }

    [Fact]
    public void V4_OuterCertificationDataSize_TooLargeOrTooSmall()
    {
        byte[] bytes = DcapVectors.Quote(V4);
        uint size = UInt32At(bytes, 766);

        AssertError(WithUInt32(bytes, 766, size + 1), QuoteFormatError.CertificationDataTruncated, 766);
        AssertError(WithUInt32(bytes, 766, size - 1), QuoteFormatError.CertificationDataTruncated, 1254);
        AssertError(WithUInt32(bytes, 766, 10), QuoteFormatError.CertificationDataLengthMismatch, 770);
    }

    [Fact]
    public void QeAuthDataSize_RunningPastItsRegion()
    {
        AssertError(WithUInt16(DcapVectors.Quote(V3), 1012, 0xFFFF), QuoteFormatError.SignatureDataLengthMismatch, 1014);
        AssertError(WithUInt16(DcapVectors.Quote(V4), 1218, 0xFFFF), QuoteFormatError.CertificationDataLengthMismatch, 1220);
    }

    [Fact]
    public void PemChain_WithNonAsciiOrEmbeddedNul_IsRejected()
    {
        byte[] bytes = DcapVectors.Quote(V3);

        AssertError(WithByte(bytes, 1152, 0x80), QuoteFormatError.InvalidPckCertificateChain, 1152);
        AssertError(WithByte(bytes, 1152, 0x00), QuoteFormatError.InvalidPckCertificateChain, 1152);
    }

    [Fact]
    public void Input_OverTheCap_IsTooLarge_AndAtTheCap_IsAccepted()
    {
        byte[] bytes = DcapVectors.Quote(V3);
        byte[] padded = new byte[Quote.MaxSize];
        bytes.CopyTo(padded, 0);

        Assert.Equal(Quote.MaxSize - bytes.Length, Quote.Parse(padded).TrailingByteCount);
        AssertError([.. padded, 0], QuoteFormatError.TooLarge, Quote.MaxSize);
    }

    [Fact]
    public void Errors_NameTheField()
    {
        Assert.Contains("signature_data_len", ParseError(WithUInt32(DcapVectors.Quote(V3), 432, uint.MaxValue)).Message, StringComparison.Ordinal);
        Assert.Contains("QE report", ParseError(WithUInt32(DcapVectors.Quote(V3), 432, 128)).Message, StringComparison.Ordinal);
        Assert.Contains("quote header", ParseError(new byte[47]).Message, StringComparison.Ordinal);
        Assert.Contains("v5 body size", ParseError(WithUInt32(DcapVectors.Quote(V5), 50, 1)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ThrowsTheSameErrorTryParseReports()
    {
        byte[] bytes = WithUInt16(DcapVectors.Quote(V3), 0, 9);

        QuoteFormatException thrown = Assert.Throws<QuoteFormatException>(() => Quote.Parse(bytes));

        Assert.IsAssignableFrom<FormatException>(thrown);
        Assert.Equal(ParseError(bytes).Message, thrown.Message);
    }

    [Fact]
    public void StandaloneReaders_ReportTruncationAndBadSizes()
    {
        Assert.Equal(QuoteFormatError.Truncated, Assert.Throws<QuoteFormatException>(() => SgxReportBody.Read(new byte[383])).Error);
        Assert.Equal(QuoteFormatError.Truncated, Assert.Throws<QuoteFormatException>(() => QuoteHeader.Read(new byte[47])).Error);
        Assert.Equal(QuoteFormatError.Truncated, Assert.Throws<QuoteFormatException>(() => TdReportBody.Read(new byte[600], TdReportVersion.Td15)).Error);
        Assert.Equal(QuoteFormatError.BodySizeMismatch, Assert.Throws<QuoteFormatException>(() => TdReportBody.Read(new byte[600])).Error);
        Assert.Equal(QuoteFormatError.UnsupportedVersion, Assert.Throws<QuoteFormatException>(() => QuoteHeader.Read(new byte[48])).Error);
    }
}
