using System.Buffers.Binary;

namespace Confide.Attestation.Quotes;

/// <summary>Which TD report layout a <see cref="TdReportBody"/> has.</summary>
public enum TdReportVersion
{
    /// <summary>TD report 1.0 (TDX module 1.0; v4 quotes, v5 body type 2): 584 bytes.</summary>
    Td10 = 10,

    /// <summary>TD report 1.5 (TDX module 1.5; v5 body type 3): 648 bytes, adds TEE_TCB_SVN2 and MRSERVICETD.</summary>
    Td15 = 15,
}

/// <summary>TD attribute bits (td_attributes, little-endian u64).</summary>
[Flags]
public enum TdAttributeFlags : ulong
{
    None = 0,
    Debug = 1UL << 0,
    SeptVeDisable = 1UL << 28,
    Pks = 1UL << 30,
    KeyLocker = 1UL << 31,
    PerfMon = 1UL << 63,
}

/// <summary>
/// The TD report body of a TDX quote: the TDX module identity, the TD's build-time
/// measurement (MRTD), its four runtime measurement registers and its report data.
/// </summary>
/// <remarks>
/// There are no reserved bytes in this structure, so Write(Read(bytes)) reproduces the input.
/// The TD 1.5 fields are null on a 1.0 body.
/// </remarks>
public sealed class TdReportBody : IEquatable<TdReportBody>
{
    public const int Td10Size = 584;
    public const int Td15Size = 648;

    public const int TeeTcbSvnSize = 16;
    public const int MeasurementSize = 48;
    public const int ReportDataSize = 64;
    public const int RtmrCount = 4;

    private const int TeeTcbSvnOffset = 0;
    private const int MrSeamOffset = 16;
    private const int MrSignerSeamOffset = 64;
    private const int SeamAttributesOffset = 112;
    private const int TdAttributesOffset = 120;
    private const int XfamOffset = 128;
    private const int MrTdOffset = 136;
    private const int MrConfigIdOffset = 184;
    private const int MrOwnerOffset = 232;
    private const int MrOwnerConfigOffset = 280;
    private const int Rtmr0Offset = 328;
    private const int ReportDataOffset = 520;
    private const int TeeTcbSvn2Offset = 584;
    private const int MrServiceTdOffset = 600;

    public TdReportVersion Version { get; init; } = TdReportVersion.Td10;

    /// <summary>Serialized length for <see cref="Version"/>: 584 or 648.</summary>
    public int Size => SizeOf(Version);

    /// <summary>[0] TDX module SVN, [1] module major version, [2] late microcode SVN; matched against TCB info.</summary>
    public byte[] TeeTcbSvn { get; init; } = ByteFields.Zeros(TeeTcbSvnSize);

    /// <summary>Measurement of the TDX module.</summary>
    public byte[] MrSeam { get; init; } = ByteFields.Zeros(MeasurementSize);

    /// <summary>Signer of the TDX module; all zero for Intel's module.</summary>
    public byte[] MrSignerSeam { get; init; } = ByteFields.Zeros(MeasurementSize);

    public ulong SeamAttributes { get; init; }

    /// <summary>See <see cref="TdAttributeFlags"/>.</summary>
    public ulong TdAttributes { get; init; }

    public ulong Xfam { get; init; }

    /// <summary>Build-time measurement of the TD (firmware image and initial memory).</summary>
    public byte[] MrTd { get; init; } = ByteFields.Zeros(MeasurementSize);

    public byte[] MrConfigId { get; init; } = ByteFields.Zeros(MeasurementSize);

    public byte[] MrOwner { get; init; } = ByteFields.Zeros(MeasurementSize);

    public byte[] MrOwnerConfig { get; init; } = ByteFields.Zeros(MeasurementSize);

    public byte[] Rtmr0 { get; init; } = ByteFields.Zeros(MeasurementSize);

    public byte[] Rtmr1 { get; init; } = ByteFields.Zeros(MeasurementSize);

    public byte[] Rtmr2 { get; init; } = ByteFields.Zeros(MeasurementSize);

    public byte[] Rtmr3 { get; init; } = ByteFields.Zeros(MeasurementSize);

    public byte[] ReportData { get; init; } = ByteFields.Zeros(ReportDataSize);

    /// <summary>TD 1.5 only: TEE TCB SVN of the module the TD was launched on (differs from <see cref="TeeTcbSvn"/> after a module update).</summary>
    public byte[]? TeeTcbSvn2 { get; init; }

    /// <summary>TD 1.5 only: measurement of a bound service TD; all zero when none is bound.</summary>
    public byte[]? MrServiceTd { get; init; }

    /// <summary>RTMR0..RTMR3 in index order (the same arrays as the individual properties).</summary>
    public IReadOnlyList<byte[]> Rtmrs => [Rtmr0, Rtmr1, Rtmr2, Rtmr3];

    public TdAttributeFlags AttributeFlags => (TdAttributeFlags)TdAttributes;

    /// <summary>TUD.DEBUG: the host can read and modify the TD's state.</summary>
    public bool IsDebug => (TdAttributes & (ulong)TdAttributeFlags.Debug) != 0;

    public static int SizeOf(TdReportVersion version) => version switch
    {
        TdReportVersion.Td10 => Td10Size,
        TdReportVersion.Td15 => Td15Size,
        _ => throw new ArgumentOutOfRangeException(nameof(version), version, "Unknown TD report version."),
    };

    /// <summary>Decodes a TD report whose version is given by its exact length (584 or 648 bytes).</summary>
    /// <exception cref="QuoteFormatException">The length is neither (<see cref="QuoteFormatError.BodySizeMismatch"/>).</exception>
    public static TdReportBody Read(ReadOnlySpan<byte> source)
    {
        TdReportVersion version = source.Length switch
        {
            Td10Size => TdReportVersion.Td10,
            Td15Size => TdReportVersion.Td15,
            _ => throw new QuoteFormatException(
                QuoteFormatError.BodySizeMismatch,
                0,
                $"A TD report body is {Td10Size} (1.0) or {Td15Size} (1.5) bytes, not {source.Length}"),
        };
        return Read(source, version);
    }

    /// <summary>Decodes the first 584 (1.0) or 648 (1.5) bytes of <paramref name="source"/>.</summary>
    /// <exception cref="QuoteFormatException">The source is too short (<see cref="QuoteFormatError.Truncated"/>).</exception>
    public static TdReportBody Read(ReadOnlySpan<byte> source, TdReportVersion version)
    {
        if (version is not (TdReportVersion.Td10 or TdReportVersion.Td15))
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, "Unknown TD report version.");
        }

        int size = SizeOf(version);
        if (source.Length < size)
        {
            throw new QuoteFormatException(
                QuoteFormatError.Truncated,
                source.Length,
                $"Input truncated: a TD report {(version == TdReportVersion.Td15 ? "1.5" : "1.0")} body needs {size} bytes but only {source.Length} are present");
        }

        bool isTd15 = version == TdReportVersion.Td15;
        return new TdReportBody
        {
            Version = version,
            TeeTcbSvn = source.Slice(TeeTcbSvnOffset, TeeTcbSvnSize).ToArray(),
            MrSeam = Measurement(source, MrSeamOffset),
            MrSignerSeam = Measurement(source, MrSignerSeamOffset),
            SeamAttributes = BinaryPrimitives.ReadUInt64LittleEndian(source[SeamAttributesOffset..]),
            TdAttributes = BinaryPrimitives.ReadUInt64LittleEndian(source[TdAttributesOffset..]),
            Xfam = BinaryPrimitives.ReadUInt64LittleEndian(source[XfamOffset..]),
            MrTd = Measurement(source, MrTdOffset),
            MrConfigId = Measurement(source, MrConfigIdOffset),
            MrOwner = Measurement(source, MrOwnerOffset),
            MrOwnerConfig = Measurement(source, MrOwnerConfigOffset),
            Rtmr0 = Measurement(source, Rtmr0Offset),
            Rtmr1 = Measurement(source, Rtmr0Offset + MeasurementSize),
            Rtmr2 = Measurement(source, Rtmr0Offset + (2 * MeasurementSize)),
            Rtmr3 = Measurement(source, Rtmr0Offset + (3 * MeasurementSize)),
            ReportData = source.Slice(ReportDataOffset, ReportDataSize).ToArray(),
            TeeTcbSvn2 = isTd15 ? source.Slice(TeeTcbSvn2Offset, TeeTcbSvnSize).ToArray() : null,
            MrServiceTd = isTd15 ? Measurement(source, MrServiceTdOffset) : null,
        };
    }

    /// <summary>Writes <see cref="Size"/> bytes; null arrays become zeros.</summary>
    /// <exception cref="ArgumentException">
    /// The destination is too short, an array has the wrong length, or a 1.0 body sets a 1.5-only field
    /// (it would be silently dropped otherwise).
    /// </exception>
    public void WriteTo(Span<byte> destination)
    {
        int size = Size;
        if (destination.Length < size)
        {
            throw new ArgumentException($"The destination must hold at least {size} bytes.", nameof(destination));
        }

        if (Version == TdReportVersion.Td10 && (TeeTcbSvn2 is not null || MrServiceTd is not null))
        {
            throw new ArgumentException($"{nameof(TeeTcbSvn2)} and {nameof(MrServiceTd)} exist only in TD report 1.5; set {nameof(Version)} = {nameof(TdReportVersion.Td15)}.");
        }

        Span<byte> body = destination[..size];
        body.Clear();
        ByteFields.Write(body.Slice(TeeTcbSvnOffset, TeeTcbSvnSize), TeeTcbSvn, nameof(TeeTcbSvn));
        ByteFields.Write(body.Slice(MrSeamOffset, MeasurementSize), MrSeam, nameof(MrSeam));
        ByteFields.Write(body.Slice(MrSignerSeamOffset, MeasurementSize), MrSignerSeam, nameof(MrSignerSeam));
        BinaryPrimitives.WriteUInt64LittleEndian(body[SeamAttributesOffset..], SeamAttributes);
        BinaryPrimitives.WriteUInt64LittleEndian(body[TdAttributesOffset..], TdAttributes);
        BinaryPrimitives.WriteUInt64LittleEndian(body[XfamOffset..], Xfam);
        ByteFields.Write(body.Slice(MrTdOffset, MeasurementSize), MrTd, nameof(MrTd));
        ByteFields.Write(body.Slice(MrConfigIdOffset, MeasurementSize), MrConfigId, nameof(MrConfigId));
        ByteFields.Write(body.Slice(MrOwnerOffset, MeasurementSize), MrOwner, nameof(MrOwner));
        ByteFields.Write(body.Slice(MrOwnerConfigOffset, MeasurementSize), MrOwnerConfig, nameof(MrOwnerConfig));
        ByteFields.Write(body.Slice(Rtmr0Offset, MeasurementSize), Rtmr0, nameof(Rtmr0));
        ByteFields.Write(body.Slice(Rtmr0Offset + MeasurementSize, MeasurementSize), Rtmr1, nameof(Rtmr1));
        ByteFields.Write(body.Slice(Rtmr0Offset + (2 * MeasurementSize), MeasurementSize), Rtmr2, nameof(Rtmr2));
        ByteFields.Write(body.Slice(Rtmr0Offset + (3 * MeasurementSize), MeasurementSize), Rtmr3, nameof(Rtmr3));
        ByteFields.Write(body.Slice(ReportDataOffset, ReportDataSize), ReportData, nameof(ReportData));
        if (Version == TdReportVersion.Td15)
        {
            ByteFields.Write(body.Slice(TeeTcbSvn2Offset, TeeTcbSvnSize), TeeTcbSvn2, nameof(TeeTcbSvn2));
            ByteFields.Write(body.Slice(MrServiceTdOffset, MeasurementSize), MrServiceTd, nameof(MrServiceTd));
        }
    }

    public byte[] ToArray()
    {
        byte[] bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    public bool Equals(TdReportBody? other) =>
        other is not null
        && Version == other.Version
        && ByteFields.Equal(TeeTcbSvn, other.TeeTcbSvn)
        && ByteFields.Equal(MrSeam, other.MrSeam)
        && ByteFields.Equal(MrSignerSeam, other.MrSignerSeam)
        && SeamAttributes == other.SeamAttributes
        && TdAttributes == other.TdAttributes
        && Xfam == other.Xfam
        && ByteFields.Equal(MrTd, other.MrTd)
        && ByteFields.Equal(MrConfigId, other.MrConfigId)
        && ByteFields.Equal(MrOwner, other.MrOwner)
        && ByteFields.Equal(MrOwnerConfig, other.MrOwnerConfig)
        && ByteFields.Equal(Rtmr0, other.Rtmr0)
        && ByteFields.Equal(Rtmr1, other.Rtmr1)
        && ByteFields.Equal(Rtmr2, other.Rtmr2)
        && ByteFields.Equal(Rtmr3, other.Rtmr3)
        && ByteFields.Equal(ReportData, other.ReportData)
        && ByteFields.Equal(TeeTcbSvn2, other.TeeTcbSvn2)
        && ByteFields.Equal(MrServiceTd, other.MrServiceTd);

    public override bool Equals(object? obj) => Equals(obj as TdReportBody);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Version);
        ByteFields.Add(ref hash, MrTd);
        ByteFields.Add(ref hash, ReportData);
        return hash.ToHashCode();
    }

    private static byte[] Measurement(ReadOnlySpan<byte> source, int offset) => source.Slice(offset, MeasurementSize).ToArray();
}
