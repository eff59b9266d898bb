using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Tests;

/// <summary>Read(Write(x)) == x for constructed values, Write(Read(bytes)) == bytes for real ones.</summary>
public sealed class RoundTripTests
{
    [Theory]
    [MemberData(nameof(DcapVectors.All), MemberType = typeof(DcapVectors))]
    public void RealQuote_HeaderBodyAndQeReport_WriteReproducesBytes(string name)
    {
        byte[] bytes = DcapVectors.Quote(name);
        Quote quote = Quote.Parse(bytes);

        Assert.Equal(bytes[..QuoteHeader.Size], quote.Header.ToArray());
        Assert.Equal(quote.Header, QuoteHeader.Read(quote.Header.ToArray()));

        int bodyStart = quote.Version == 5 ? QuoteHeader.Size + 6 : QuoteHeader.Size;
        byte[] body = bytes[bodyStart..quote.SignedLength];
        if (quote.SgxBody is { } sgx)
        {
            Assert.Equal(body, sgx.ToArray());
            Assert.Equal(sgx, SgxReportBody.Read(body));
        }
        else
        {
            TdReportBody td = quote.TdBody!;
            Assert.Equal(body, td.ToArray());
            Assert.Equal(td, TdReportBody.Read(body));
            Assert.Equal(td.GetHashCode(), TdReportBody.Read(body).GetHashCode());
        }

        Assert.Equal(quote.QeReportRaw, quote.QeReport.ToArray());
        Assert.Equal(quote.QeReport, SgxReportBody.Read(quote.QeReportRaw));
    }

    [Theory]
    [MemberData(nameof(DcapVectors.All), MemberType = typeof(DcapVectors))]
    public void RealPckExtension_EncodeReproducesDer(string name)
    {
        Quote quote = Quote.Parse(DcapVectors.Quote(name));
        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(quote.PckCertificateChainPem!);
        byte[] der = chain[0].Extensions[SgxPckExtensions.Oid]!.RawData;

        SgxPckExtensions decoded = SgxPckExtensions.Decode(der);

        Assert.Equal(der, decoded.Encode());
        Assert.Equal(decoded, SgxPckExtensions.Decode(decoded.Encode()));
    }

    [Fact]
    public void QuoteHeader_ReadOfWrite_IsEqual()
    {
        var header = new QuoteHeader
        {
            Version = 3,
            TeeType = TeeType.Sgx,
            QeSvn = 0xFFFE,
            PceSvn = 0x0102,
            QeVendorId = QuoteHeader.IntelQeVendorId.ToArray(),
            UserData = RandomBytes(QuoteHeader.UserDataSize, 1),
        };

        QuoteHeader read = QuoteHeader.Read(header.ToArray());

        Assert.Equal(header, read);
        Assert.Equal(header.GetHashCode(), read.GetHashCode());
        Assert.Equal(QuoteHeader.EcdsaP256KeyType, read.AttestationKeyType);
    }

    [Fact]
    public void QuoteHeader_V4_HasNoSvns()
    {
        // Bytes 8..12 are reserved from v4 on: whatever a writer put there is not an SVN.
        var written = new QuoteHeader { Version = 4, TeeType = TeeType.Tdx, QeSvn = 9, PceSvn = 9 };

        QuoteHeader read = QuoteHeader.Read(written.ToArray());

        Assert.Equal(0, read.QeSvn);
        Assert.Equal(0, read.PceSvn);
        Assert.False(read.IsIntelQe);
    }

    [Fact]
    public void SgxReportBody_ReadOfWrite_IsEqual()
    {
        var body = new SgxReportBody
        {
            CpuSvn = RandomBytes(16, 2),
            MiscSelect = 0xDEADBEEF,
            IsvExtProdId = RandomBytes(16, 3),
            Flags = (ulong)(SgxAttributeFlags.Initted | SgxAttributeFlags.Debug | SgxAttributeFlags.Kss),
            Xfrm = 0x8000_0000_0000_00E7,
            MrEnclave = RandomBytes(32, 4),
            MrSigner = RandomBytes(32, 5),
            ConfigId = RandomBytes(64, 6),
            IsvProdId = 0xFFFF,
            IsvSvn = 0x8001,
            ConfigSvn = 2,
            IsvFamilyId = RandomBytes(16, 7),
            ReportData = RandomBytes(64, 8),
        };

        SgxReportBody read = SgxReportBody.Read(body.ToArray());

        Assert.Equal(body, read);
        Assert.True(read.IsDebug);
        Assert.Equal(SgxAttributeFlags.Initted | SgxAttributeFlags.Debug | SgxAttributeFlags.Kss, read.AttributeFlags);
    }

    [Fact]
    public void SgxReportBody_ReadsOnlyTheFirst384Bytes()
    {
        byte[] bytes = [.. TestQuoteBuilder.SampleSgxBody().ToArray(), .. new byte[10]];

        Assert.Equal(TestQuoteBuilder.SampleSgxBody(), SgxReportBody.Read(bytes));
    }

    [Theory]
    [InlineData(TdReportVersion.Td10)]
    [InlineData(TdReportVersion.Td15)]
    public void TdReportBody_ReadOfWrite_IsEqual(TdReportVersion version)
    {
        var body = new TdReportBody
        {
            Version = version,
            TeeTcbSvn = RandomBytes(16, 10),
            MrSeam = RandomBytes(48, 11),
            MrSignerSeam = RandomBytes(48, 12),
            SeamAttributes = 1,
            TdAttributes = (ulong)(TdAttributeFlags.Debug | TdAttributeFlags.PerfMon),
            Xfam = 0x0000_0000_0006_02E7,
            MrTd = RandomBytes(48, 13),
            MrConfigId = RandomBytes(48, 14),
            MrOwner = RandomBytes(48, 15),
            MrOwnerConfig = RandomBytes(48, 16),
            Rtmr0 = RandomBytes(48, 17),
            Rtmr1 = RandomBytes(48, 18),
            Rtmr2 = RandomBytes(48, 19),
            Rtmr3 = RandomBytes(48, 20),
            ReportData = RandomBytes(64, 21),
            TeeTcbSvn2 = version == TdReportVersion.Td15 ? RandomBytes(16, 22) : null,
            MrServiceTd = version == TdReportVersion.Td15 ? RandomBytes(48, 23) : null,
        };

        byte[] bytes = body.ToArray();
        TdReportBody read = TdReportBody.Read(bytes);

        Assert.Equal(TdReportBody.SizeOf(version), bytes.Length);
        Assert.Equal(body, read);
        Assert.Equal(body, TdReportBody.Read([.. bytes, 0, 0], version));
        Assert.True(read.IsDebug);
        Assert.Equal(body.Rtmr2, read.Rtmrs[2]);
    }

    [Fact]
    public void UnsetArrays_AreWrittenAsZeros()
    {
        Assert.All(new SgxReportBody().ToArray(), b => Assert.Equal(0, b));
        Assert.All(new TdReportBody { Version = TdReportVersion.Td15 }.ToArray(), b => Assert.Equal(0, b));
        Assert.All(new SgxReportBody { MrEnclave = null! }.ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(TdReportBody.Td15Size, new TdReportBody { Version = TdReportVersion.Td15 }.ToArray().Length);
    }

    [Fact]
    public void WrongLengthArraysOrDestination_ThrowArgumentException()
    {
        Assert.Throws<ArgumentException>(() => new SgxReportBody { MrEnclave = new byte[31] }.ToArray());
        Assert.Throws<ArgumentException>(() => new SgxReportBody { ReportData = new byte[65] }.ToArray());
        Assert.Throws<ArgumentException>(() => new SgxReportBody().WriteTo(new byte[383]));
        Assert.Throws<ArgumentException>(() => new TdReportBody { Rtmr3 = new byte[32] }.ToArray());
        Assert.Throws<ArgumentException>(() => new TdReportBody { Version = TdReportVersion.Td15 }.WriteTo(new byte[TdReportBody.Td10Size]));
        Assert.Throws<ArgumentException>(() => new TdReportBody { MrServiceTd = new byte[48] }.ToArray());
        Assert.Throws<ArgumentException>(() => new QuoteHeader { UserData = new byte[16] }.ToArray());
        Assert.Throws<ArgumentException>(() => new SgxPckExtensions { Fmspc = new byte[5] }.Encode());
        Assert.Throws<ArgumentException>(() => new SgxPckExtensions { PlatformInstanceId = new byte[15] }.Encode());
    }

    [Fact]
    public void SgxPckExtensions_DecodeOfEncode_IsEqual_WithEdgeValues()
    {
        // 255 and 0x80.. values need a leading 00 in DER; the decoder must undo it.
        var extensions = new SgxPckExtensions
        {
            Ppid = RandomBytes(16, 30),
            TcbComponents = [255, 128, 127, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 200],
            PceSvn = 0xFFFF,
            CpuSvn = [255, 128, 127, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 200],
            PceId = [0, 0],
            Fmspc = [0x00, 0x60, 0x6A, 0x00, 0x00, 0x00],
            SgxType = SgxType.ScalableWithIntegrity,
            PlatformInstanceId = RandomBytes(16, 31),
            DynamicPlatform = true,
            SmtEnabled = false,
        };

        SgxPckExtensions decoded = SgxPckExtensions.Decode(extensions.Encode());

        Assert.Equal(extensions, decoded);
        Assert.Null(decoded.CachedKeys);
        Assert.Equal(extensions.GetHashCode(), decoded.GetHashCode());
    }

    [Fact]
    public void SgxPckExtensions_MinimalProcessorCaShape_RoundTrips()
    {
        var extensions = new SgxPckExtensions { PceSvn = 0x80, SgxType = SgxType.Standard };

        SgxPckExtensions decoded = SgxPckExtensions.Decode(extensions.Encode());

        Assert.Equal(extensions, decoded);
        Assert.Null(decoded.PlatformInstanceId);
        Assert.Null(decoded.DynamicPlatform);
    }

    [Fact]
    public void SgxPckExtensions_IssuedCertificate_IsFoundAgain()
    {
        // What a simulated PCK issuer does: put the extension on a certificate, then read it back.
        var extensions = new SgxPckExtensions
        {
            Ppid = RandomBytes(16, 40),
            TcbComponents = [14, 14, 3, 3, 255, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            PceSvn = 13,
            CpuSvn = [14, 14, 3, 3, 255, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            Fmspc = [0x00, 0x60, 0x6A, 0x00, 0x00, 0x00],
            SgxType = SgxType.Scalable,
            PlatformInstanceId = RandomBytes(16, 41),
            DynamicPlatform = true,
            CachedKeys = false,
            SmtEnabled = false,
        };
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Simulated SGX PCK Certificate", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(extensions.ToExtension());
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(100));

        using X509Certificate2 reloaded = X509CertificateLoader.LoadCertificate(certificate.RawData);

        Assert.Equal(extensions, SgxPckExtensions.FromCertificate(reloaded));
        Assert.False(reloaded.Extensions[SgxPckExtensions.Oid]!.Critical);
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
