using System.Buffers.Binary;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Tests;

/// <summary>Every field expected.json gives for the 8 real quotes, checked against the parser.</summary>
public sealed class RealQuoteTests
{
    [Fact]
    public void Names_MatchExpectedJson()
    {
        string[] inJson = DcapVectors.ExpectedVectors().Select(v => v.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(DcapVectors.Names.Order(), inJson.Order());
    }

    [Theory]
    [MemberData(nameof(DcapVectors.All), MemberType = typeof(DcapVectors))]
    public void Parse_SizesAndRegions(string name)
    {
        byte[] bytes = DcapVectors.Quote(name);
        JsonElement expected = DcapVectors.Expected(name);

        Quote quote = Quote.Parse(bytes);

        Assert.Equal(Int(expected, "quote_len"), bytes.Length);
        Assert.Equal(Int(expected, "signed_len"), quote.SignedLength);
        Assert.Equal(Int(expected, "trailing_bytes"), quote.TrailingByteCount);
        Assert.Equal(bytes, quote.RawQuote);
        Assert.Equal(Slice(bytes, 0, quote.SignedLength), quote.SignedRegion.ToArray());

        // The signature data starts right after the signed region with its u32 length; its
        // fixed-position fields (README "Byte offsets") follow from there.
        int signatureData = quote.SignedLength + 4;
        Assert.Equal(
            (uint)(bytes.Length - signatureData - quote.TrailingByteCount),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(quote.SignedLength)));
        Assert.Equal(Slice(bytes, signatureData, 64), quote.Signature);
        Assert.Equal(Slice(bytes, signatureData + 64, 64), quote.AttestationKey);
        int qeReport = signatureData + 128 + (quote.Version == 3 ? 0 : 6);
        Assert.Equal(Slice(bytes, qeReport, 384), quote.QeReportRaw);
        Assert.Equal(Slice(bytes, qeReport + 384, 64), quote.QeReportSignature);
        Assert.Equal(32, quote.QeAuthData.Length);
        Assert.Equal(Slice(bytes, qeReport + 384 + 64 + 2, 32), quote.QeAuthData);

        if (quote.TrailingByteCount > 0)
        {
            // Both padded vectors are zero-padded; the parser must not have read into the padding.
            Assert.All(bytes[^quote.TrailingByteCount..], b => Assert.Equal(0, b));
        }
    }

    [Theory]
    [MemberData(nameof(DcapVectors.All), MemberType = typeof(DcapVectors))]
    public void Parse_Header(string name)
    {
        JsonElement expected = DcapVectors.Expected(name).GetProperty("header");

        QuoteHeader header = Quote.Parse(DcapVectors.Quote(name)).Header;

        Assert.Equal(Int(expected, "version"), header.Version);
        Assert.Equal(Int(expected, "att_key_type"), header.AttestationKeyType);
        Assert.Equal((uint)Int(expected, "tee_type"), (uint)header.TeeType);
        Assert.Equal(Int(expected, "qe_svn"), header.QeSvn);
        Assert.Equal(Int(expected, "pce_svn"), header.PceSvn);
        Hex.Equal(Str(expected, "qe_vendor_id"), header.QeVendorId, "qe_vendor_id");
        Hex.Equal(Str(expected, "user_data"), header.UserData, "user_data");
        Assert.True(header.IsIntelQe);
        Assert.Equal(header.QeVendorId, QuoteHeader.IntelQeVendorId.ToArray());
    }

    [Theory]
    [MemberData(nameof(DcapVectors.All), MemberType = typeof(DcapVectors))]
    public void Parse_BodyFields(string name)
    {
        JsonElement fields = DcapVectors.Expected(name).GetProperty("fields");

        Quote quote = Quote.Parse(DcapVectors.Quote(name));

        Assert.Equal(Int(fields, "version"), quote.Version);
        Assert.Equal(fields.GetProperty("debug").GetBoolean(), quote.IsDebug);
        Hex.Equal(Str(fields, "report_data"), quote.ReportData, "report_data");

        switch (Str(fields, "tee"))
        {
            case "SGX":
                Assert.Equal(TeeType.Sgx, quote.TeeType);
                Assert.Null(quote.TdBody);
                Assert.Null(quote.BodyType);
                AssertSgxBody(fields, quote.SgxBody!);
                break;

            case "TDX":
                Assert.Equal(TeeType.Tdx, quote.TeeType);
                Assert.Null(quote.SgxBody);
                AssertTdBody(fields, quote);
                break;

            default:
                Assert.Fail($"unknown tee {Str(fields, "tee")}");
                break;
        }
    }

    [Theory]
    [MemberData(nameof(DcapVectors.All), MemberType = typeof(DcapVectors))]
    public void Parse_QeReport(string name)
    {
        JsonElement expected = DcapVectors.Expected(name).GetProperty("qe_report");

        SgxReportBody qe = Quote.Parse(DcapVectors.Quote(name)).QeReport;

        Hex.Equal(Str(expected, "mrenclave"), qe.MrEnclave, "qe mrenclave");
        Hex.Equal(Str(expected, "mrsigner"), qe.MrSigner, "qe mrsigner");
        Assert.Equal(Int(expected, "isvprodid"), qe.IsvProdId);
        Assert.Equal(Int(expected, "isvsvn"), qe.IsvSvn);
        Assert.False(qe.IsDebug);
        Assert.True(qe.AttributeFlags.HasFlag(SgxAttributeFlags.ProvisionKey));
    }

    [Theory]
    [MemberData(nameof(DcapVectors.All), MemberType = typeof(DcapVectors))]
    public void Parse_PckCertificateChainAndExtension(string name)
    {
        JsonElement expected = DcapVectors.Expected(name).GetProperty("pck");
        Quote quote = Quote.Parse(DcapVectors.Quote(name));

        Assert.Equal(CertificationDataTypes.PckCertificateChain, quote.CertificationDataType);
        string pem = quote.PckCertificateChainPem!;
        Assert.DoesNotContain('\0', pem);
        Assert.EndsWith("-----END CERTIFICATE-----\n", pem, StringComparison.Ordinal);

        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(pem);
        Assert.Equal(3, chain.Count);
        X509Certificate2 leaf = chain[0];

        string ca = Str(expected, "ca")!;
        string expectedIssuer = ca switch
        {
            "processor" => "Intel SGX PCK Processor CA",
            "platform" => "Intel SGX PCK Platform CA",
            _ => throw new InvalidOperationException(ca),
        };
        Assert.Equal(expectedIssuer, leaf.GetNameInfo(X509NameType.SimpleName, forIssuer: true));
        // X509Certificate2.SerialNumber keeps the DER sign byte (00) that expected.json drops.
        Assert.Equal(
            Str(expected, "serial")!.Replace("0x", string.Empty, StringComparison.Ordinal).TrimStart('0'),
            leaf.SerialNumber.TrimStart('0'),
            ignoreCase: true);

        SgxPckExtensions pck = SgxPckExtensions.FromCertificate(leaf);
        Hex.Equal(Str(expected, "fmspc"), pck.Fmspc, "fmspc");
        Hex.Equal(Str(expected, "pceid"), pck.PceId, "pceid");
        Hex.Equal(Str(expected, "ppid"), pck.Ppid, "ppid");
        Assert.Equal(Int(expected, "pcesvn"), pck.PceSvn);
        Hex.Equal(Str(expected, "cpusvn"), pck.CpuSvn, "cpusvn");
        Assert.Equal(
            expected.GetProperty("tcb_components").EnumerateArray().Select(c => (byte)c.GetInt32()).ToArray(),
            pck.TcbComponents);
        Assert.Equal(Int(expected, "sgx_type"), (int)pck.SgxType);

        // Platform-CA certificates carry the instance id and configuration; Processor-CA ones do not.
        bool platform = ca == "platform";
        Assert.Equal(platform, pck.PlatformInstanceId is not null);
        Assert.Equal(platform, pck.DynamicPlatform is not null);
        Assert.Equal(platform, pck.CachedKeys is not null);
        Assert.Equal(platform, pck.SmtEnabled is not null);
    }

    private static void AssertSgxBody(JsonElement fields, SgxReportBody body)
    {
        Hex.Equal(Str(fields, "mrenclave"), body.MrEnclave, "mrenclave");
        Hex.Equal(Str(fields, "mrsigner"), body.MrSigner, "mrsigner");
        Assert.Equal(Int(fields, "isvprodid"), body.IsvProdId);
        Assert.Equal(Int(fields, "isvsvn"), body.IsvSvn);
        Assert.Equal(Str(fields, "attributes"), Hex.OfLittleEndian(body.Flags) + Hex.OfLittleEndian(body.Xfrm), ignoreCase: true);
        Assert.Equal(fields.GetProperty("debug").GetBoolean(), body.IsDebug);
        Assert.Equal(body.IsDebug, body.AttributeFlags.HasFlag(SgxAttributeFlags.Debug));
        Hex.Equal(Str(fields, "cpusvn"), body.CpuSvn, "cpusvn");
        Assert.Equal((uint)Int(fields, "miscselect"), body.MiscSelect);
        Assert.Equal(Int(fields, "config_svn"), body.ConfigSvn);
        Hex.Equal(Str(fields, "isv_ext_prod_id"), body.IsvExtProdId, "isv_ext_prod_id");
        Hex.Equal(Str(fields, "isv_family_id"), body.IsvFamilyId, "isv_family_id");
        Hex.Equal(Str(fields, "report_data"), body.ReportData, "report_data");
    }

    private static void AssertTdBody(JsonElement fields, Quote quote)
    {
        TdReportBody body = quote.TdBody!;
        bool td15 = Str(fields, "body") == "TD15";
        Assert.Equal(td15 ? TdReportVersion.Td15 : TdReportVersion.Td10, body.Version);
        ushort? expectedBodyType = quote.Version == 5 ? (td15 ? QuoteBodyTypes.TdReport15 : QuoteBodyTypes.TdReport10) : null;
        Assert.Equal(expectedBodyType, quote.BodyType);

        Hex.Equal(Str(fields, "tee_tcb_svn"), body.TeeTcbSvn, "tee_tcb_svn");
        Hex.Equal(Str(fields, "mr_seam"), body.MrSeam, "mr_seam");
        Hex.Equal(Str(fields, "mr_signer_seam"), body.MrSignerSeam, "mr_signer_seam");
        Assert.Equal(Str(fields, "seam_attributes"), Hex.OfLittleEndian(body.SeamAttributes), ignoreCase: true);
        Assert.Equal(Str(fields, "td_attributes"), Hex.OfLittleEndian(body.TdAttributes), ignoreCase: true);
        Assert.Equal(Str(fields, "xfam"), Hex.OfLittleEndian(body.Xfam), ignoreCase: true);
        Hex.Equal(Str(fields, "mr_td"), body.MrTd, "mr_td");
        Hex.Equal(Str(fields, "mr_config_id"), body.MrConfigId, "mr_config_id");
        Hex.Equal(Str(fields, "mr_owner"), body.MrOwner, "mr_owner");
        Hex.Equal(Str(fields, "mr_owner_config"), body.MrOwnerConfig, "mr_owner_config");
        for (int i = 0; i < TdReportBody.RtmrCount; i++)
        {
            Hex.Equal(Str(fields, $"rtmr{i}"), body.Rtmrs[i], $"rtmr{i}");
        }

        Hex.Equal(Str(fields, "rtmr0"), body.Rtmr0, "rtmr0");
        Hex.Equal(Str(fields, "rtmr3"), body.Rtmr3, "rtmr3");
        Hex.Equal(Str(fields, "report_data"), body.ReportData, "report_data");
        Assert.Equal(fields.GetProperty("debug").GetBoolean(), body.IsDebug);
        Assert.True(body.AttributeFlags.HasFlag(TdAttributeFlags.SeptVeDisable));

        if (td15)
        {
            Hex.Equal(Str(fields, "tee_tcb_svn2"), body.TeeTcbSvn2, "tee_tcb_svn2");
            Hex.Equal(Str(fields, "mr_service_td"), body.MrServiceTd, "mr_service_td");
        }
        else
        {
            Assert.False(fields.TryGetProperty("tee_tcb_svn2", out _));
            Assert.Null(body.TeeTcbSvn2);
            Assert.Null(body.MrServiceTd);
        }
    }

    private static byte[] Slice(byte[] bytes, int offset, int length) => bytes.AsSpan(offset, length).ToArray();

    private static int Int(JsonElement element, string property) => element.GetProperty(property).GetInt32();

    private static string? Str(JsonElement element, string property) => element.GetProperty(property).GetString();
}
