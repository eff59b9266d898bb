using System.Buffers.Binary;
using System.Text;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Tests;

/// <summary>
/// Assembles quotes from parts, with every length computed, so tests can cover shapes no real
/// vector has (SGX v4/v5, TD 1.0 in v5, PPID certification data) and corrupt exactly one thing.
/// Signatures are filler bytes: nothing here is verified.
/// </summary>
internal sealed class TestQuoteBuilder
{
    public const string FakePem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

    public ushort Version { get; init; } = 3;

    public TeeType TeeType { get; init; } = TeeType.Sgx;

    /// <summary>v5 only: the descriptor's body type; defaults to the one matching the body.</summary>
    public ushort? BodyType { get; init; }

    /// <summary>v5 only: a descriptor size different from the body's real length.</summary>
    public uint? BodySizeOverride { get; init; }

    public byte[] Body { get; init; } = SampleSgxBody().ToArray();

    public byte[] QeReport { get; init; } = new SgxReportBody { Flags = 0x15, IsvProdId = 1, IsvSvn = 10 }.ToArray();

    public byte[] QeAuthData { get; init; } = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    public ushort CertificationDataType { get; init; } = CertificationDataTypes.PckCertificateChain;

    public byte[] CertificationData { get; init; } = [.. Encoding.ASCII.GetBytes(FakePem), 0];

    public ushort OuterCertificationDataType { get; init; } = CertificationDataTypes.QeReportCertificationData;

    public int TrailingBytes { get; init; }

    public static SgxReportBody SampleSgxBody() => new()
    {
        CpuSvn = Filled(SgxReportBody.CpuSvnSize, 0x0B),
        Flags = (ulong)(SgxAttributeFlags.Initted | SgxAttributeFlags.Mode64Bit),
        Xfrm = 0xE7,
        MrEnclave = Filled(SgxReportBody.MrEnclaveSize, 0xAA),
        MrSigner = Filled(SgxReportBody.MrSignerSize, 0xBB),
        IsvProdId = 7,
        IsvSvn = 3,
        ReportData = Filled(SgxReportBody.ReportDataSize, 0xCC),
    };

    public static TdReportBody SampleTdBody(TdReportVersion version) => new()
    {
        Version = version,
        TeeTcbSvn = Filled(TdReportBody.TeeTcbSvnSize, 0x06),
        MrSeam = Filled(TdReportBody.MeasurementSize, 0x5B),
        TdAttributes = (ulong)TdAttributeFlags.SeptVeDisable,
        Xfam = 0x06E7,
        MrTd = Filled(TdReportBody.MeasurementSize, 0x91),
        Rtmr2 = Filled(TdReportBody.MeasurementSize, 0xD8),
        ReportData = Filled(TdReportBody.ReportDataSize, 0x9A),
        TeeTcbSvn2 = version == TdReportVersion.Td15 ? Filled(TdReportBody.TeeTcbSvnSize, 0x05) : null,
        MrServiceTd = version == TdReportVersion.Td15 ? Filled(TdReportBody.MeasurementSize, 0x38) : null,
    };

    public static byte[] Filled(int size, byte value) => Enumerable.Repeat(value, size).ToArray();

    public byte[] Build()
    {
        var quote = new List<byte>();
        var header = new QuoteHeader
        {
            Version = Version,
            TeeType = TeeType,
            QeSvn = Version == 3 ? (ushort)10 : (ushort)0,
            PceSvn = Version == 3 ? (ushort)15 : (ushort)0,
            QeVendorId = QuoteHeader.IntelQeVendorId.ToArray(),
        };
        quote.AddRange(header.ToArray());

        if (Version == 5)
        {
            ushort bodyType = BodyType ?? Body.Length switch
            {
                SgxReportBody.Size => QuoteBodyTypes.SgxReport,
                TdReportBody.Td10Size => QuoteBodyTypes.TdReport10,
                _ => QuoteBodyTypes.TdReport15,
            };
            AddUInt16(quote, bodyType);
            AddUInt32(quote, BodySizeOverride ?? (uint)Body.Length);
        }

        quote.AddRange(Body);

        var qeBlock = new List<byte>();
        qeBlock.AddRange(QeReport);
        qeBlock.AddRange(Filled(64, 0x33));
        AddUInt16(qeBlock, (ushort)QeAuthData.Length);
        qeBlock.AddRange(QeAuthData);
        AddUInt16(qeBlock, CertificationDataType);
        AddUInt32(qeBlock, (uint)CertificationData.Length);
        qeBlock.AddRange(CertificationData);

        var signatureData = new List<byte>();
        signatureData.AddRange(Filled(64, 0x11));
        signatureData.AddRange(Filled(64, 0x22));
        if (Version == 3)
        {
            signatureData.AddRange(qeBlock);
        }
        else
        {
            AddUInt16(signatureData, OuterCertificationDataType);
            AddUInt32(signatureData, (uint)qeBlock.Count);
            signatureData.AddRange(qeBlock);
        }

        AddUInt32(quote, (uint)signatureData.Count);
        quote.AddRange(signatureData);
        quote.AddRange(new byte[TrailingBytes]);
        return [.. quote];
    }

    private static void AddUInt16(List<byte> target, ushort value)
    {
        Span<byte> bytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
        target.AddRange(bytes);
    }

    private static void AddUInt32(List<byte> target, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        target.AddRange(bytes);
    }
}
