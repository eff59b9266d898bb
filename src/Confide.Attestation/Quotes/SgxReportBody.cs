using System.Buffers.Binary;

namespace Confide.Attestation.Quotes;

/// <summary>SGX enclave attribute flags (the low 64 bits of SECS.ATTRIBUTES).</summary>
[Flags]
public enum SgxAttributeFlags : ulong
{
    None = 0,
    Initted = 0x01,
    Debug = 0x02,
    Mode64Bit = 0x04,
    ProvisionKey = 0x10,
    EInitTokenKey = 0x20,
    Kss = 0x80,
}

/// <summary>
/// An SGX report body (sgx_report_body_t, 384 bytes): the enclave identity in a v3/v4 SGX
/// quote, and the Quoting Enclave's own report inside every quote's signature data.
/// </summary>
/// <remarks>
/// Reserved bytes are not kept: they are zero in every real report, and signatures are
/// checked over the raw bytes (<see cref="Quote.SignedRegion"/>, <see cref="Quote.QeReportRaw"/>),
/// never over a re-serialisation. Byte arrays are copies owned by this object.
/// </remarks>
public sealed class SgxReportBody : IEquatable<SgxReportBody>
{
    public const int Size = 384;

    private const int CpuSvnOffset = 0;
    private const int MiscSelectOffset = 16;
    private const int IsvExtProdIdOffset = 32;
    private const int FlagsOffset = 48;
    private const int XfrmOffset = 56;
    private const int MrEnclaveOffset = 64;
    private const int MrSignerOffset = 128;
    private const int ConfigIdOffset = 192;
    private const int IsvProdIdOffset = 256;
    private const int IsvSvnOffset = 258;
    private const int ConfigSvnOffset = 260;
    private const int IsvFamilyIdOffset = 304;
    private const int ReportDataOffset = 320;

    public const int CpuSvnSize = 16;
    public const int IsvExtProdIdSize = 16;
    public const int MrEnclaveSize = 32;
    public const int MrSignerSize = 32;
    public const int ConfigIdSize = 64;
    public const int IsvFamilyIdSize = 16;
    public const int ReportDataSize = 64;

    public byte[] CpuSvn { get; init; } = ByteFields.Zeros(CpuSvnSize);

    public uint MiscSelect { get; init; }

    public byte[] IsvExtProdId { get; init; } = ByteFields.Zeros(IsvExtProdIdSize);

    /// <summary>Attribute flags; see <see cref="SgxAttributeFlags"/>.</summary>
    public ulong Flags { get; init; }

    /// <summary>XSAVE feature request mask (the high 64 bits of the attributes).</summary>
    public ulong Xfrm { get; init; }

    public byte[] MrEnclave { get; init; } = ByteFields.Zeros(MrEnclaveSize);

    public byte[] MrSigner { get; init; } = ByteFields.Zeros(MrSignerSize);

    public byte[] ConfigId { get; init; } = ByteFields.Zeros(ConfigIdSize);

    public ushort IsvProdId { get; init; }

    public ushort IsvSvn { get; init; }

    public ushort ConfigSvn { get; init; }

    public byte[] IsvFamilyId { get; init; } = ByteFields.Zeros(IsvFamilyIdSize);

    public byte[] ReportData { get; init; } = ByteFields.Zeros(ReportDataSize);

    public SgxAttributeFlags AttributeFlags => (SgxAttributeFlags)Flags;

    /// <summary>A debug enclave's memory is readable by the host: never trust its report for secrets.</summary>
    public bool IsDebug => (Flags & (ulong)SgxAttributeFlags.Debug) != 0;

    /// <summary>Decodes the first 384 bytes of <paramref name="source"/>.</summary>
    /// <exception cref="QuoteFormatException">Fewer than 384 bytes (<see cref="QuoteFormatError.Truncated"/>).</exception>
    public static SgxReportBody Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
        {
            throw new QuoteFormatException(
                QuoteFormatError.Truncated,
                source.Length,
                $"Input truncated: an SGX report body needs {Size} bytes but only {source.Length} are present");
        }

        return new SgxReportBody
        {
            CpuSvn = source.Slice(CpuSvnOffset, CpuSvnSize).ToArray(),
            MiscSelect = BinaryPrimitives.ReadUInt32LittleEndian(source[MiscSelectOffset..]),
            IsvExtProdId = source.Slice(IsvExtProdIdOffset, IsvExtProdIdSize).ToArray(),
            Flags = BinaryPrimitives.ReadUInt64LittleEndian(source[FlagsOffset..]),
            Xfrm = BinaryPrimitives.ReadUInt64LittleEndian(source[XfrmOffset..]),
            MrEnclave = source.Slice(MrEnclaveOffset, MrEnclaveSize).ToArray(),
            MrSigner = source.Slice(MrSignerOffset, MrSignerSize).ToArray(),
            ConfigId = source.Slice(ConfigIdOffset, ConfigIdSize).ToArray(),
            IsvProdId = BinaryPrimitives.ReadUInt16LittleEndian(source[IsvProdIdOffset..]),
            IsvSvn = BinaryPrimitives.ReadUInt16LittleEndian(source[IsvSvnOffset..]),
            ConfigSvn = BinaryPrimitives.ReadUInt16LittleEndian(source[ConfigSvnOffset..]),
            IsvFamilyId = source.Slice(IsvFamilyIdOffset, IsvFamilyIdSize).ToArray(),
            ReportData = source.Slice(ReportDataOffset, ReportDataSize).ToArray(),
        };
    }

    /// <summary>Writes the 384-byte body; reserved bytes and null arrays become zeros.</summary>
    /// <exception cref="ArgumentException">The destination is shorter than 384 bytes or an array has the wrong length.</exception>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"The destination must hold at least {Size} bytes.", nameof(destination));
        }

        Span<byte> body = destination[..Size];
        body.Clear();
        ByteFields.Write(body.Slice(CpuSvnOffset, CpuSvnSize), CpuSvn, nameof(CpuSvn));
        BinaryPrimitives.WriteUInt32LittleEndian(body[MiscSelectOffset..], MiscSelect);
        ByteFields.Write(body.Slice(IsvExtProdIdOffset, IsvExtProdIdSize), IsvExtProdId, nameof(IsvExtProdId));
        BinaryPrimitives.WriteUInt64LittleEndian(body[FlagsOffset..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(body[XfrmOffset..], Xfrm);
        ByteFields.Write(body.Slice(MrEnclaveOffset, MrEnclaveSize), MrEnclave, nameof(MrEnclave));
        ByteFields.Write(body.Slice(MrSignerOffset, MrSignerSize), MrSigner, nameof(MrSigner));
        ByteFields.Write(body.Slice(ConfigIdOffset, ConfigIdSize), ConfigId, nameof(ConfigId));
        BinaryPrimitives.WriteUInt16LittleEndian(body[IsvProdIdOffset..], IsvProdId);
        BinaryPrimitives.WriteUInt16LittleEndian(body[IsvSvnOffset..], IsvSvn);
        BinaryPrimitives.WriteUInt16LittleEndian(body[ConfigSvnOffset..], ConfigSvn);
        ByteFields.Write(body.Slice(IsvFamilyIdOffset, IsvFamilyIdSize), IsvFamilyId, nameof(IsvFamilyId));
        ByteFields.Write(body.Slice(ReportDataOffset, ReportDataSize), ReportData, nameof(ReportData));
    }

    public byte[] ToArray()
    {
        byte[] bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    public bool Equals(SgxReportBody? other) =>
        other is not null
        && ByteFields.Equal(CpuSvn, other.CpuSvn)
        && MiscSelect == other.MiscSelect
        && ByteFields.Equal(IsvExtProdId, other.IsvExtProdId)
        && Flags == other.Flags
        && Xfrm == other.Xfrm
        && ByteFields.Equal(MrEnclave, other.MrEnclave)
        && ByteFields.Equal(MrSigner, other.MrSigner)
        && ByteFields.Equal(ConfigId, other.ConfigId)
        && IsvProdId == other.IsvProdId
        && IsvSvn == other.IsvSvn
        && ConfigSvn == other.ConfigSvn
        && ByteFields.Equal(IsvFamilyId, other.IsvFamilyId)
        && ByteFields.Equal(ReportData, other.ReportData);

    public override bool Equals(object? obj) => Equals(obj as SgxReportBody);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        ByteFields.Add(ref hash, MrEnclave);
        ByteFields.Add(ref hash, ReportData);
        hash.Add(IsvSvn);
        return hash.ToHashCode();
    }
}
