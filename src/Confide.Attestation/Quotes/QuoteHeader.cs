using System.Buffers.Binary;

namespace Confide.Attestation.Quotes;

/// <summary>
/// The 48-byte header shared by every DCAP quote version.
/// </summary>
/// <remarks>
/// Layout (little-endian): u16 version @0, u16 attestation key type @2, u32 TEE type @4
/// (reserved and zero in v3), u16 QE SVN @8 and u16 PCE SVN @10 (v3 only; reserved in v4/v5),
/// QE vendor id [16] @12, user data [20] @28.
/// </remarks>
public sealed class QuoteHeader : IEquatable<QuoteHeader>
{
    public const int Size = 48;

    /// <summary>ECDSA-256 with P-256: the only key type in use (type 3, P-384, was never shipped).</summary>
    public const ushort EcdsaP256KeyType = 2;

    public const int QeVendorIdSize = 16;
    public const int UserDataSize = 20;

    private const int VersionOffset = 0;
    private const int AttestationKeyTypeOffset = 2;
    private const int TeeTypeOffset = 4;
    private const int QeSvnOffset = 8;
    private const int PceSvnOffset = 10;
    private const int QeVendorIdOffset = 12;
    private const int UserDataOffset = 28;

    /// <summary>Intel's QE vendor id, 939A7233F79C4CA9940A0DB3957F0607.</summary>
    public static ReadOnlySpan<byte> IntelQeVendorId =>
        [0x93, 0x9A, 0x72, 0x33, 0xF7, 0x9C, 0x4C, 0xA9, 0x94, 0x0A, 0x0D, 0xB3, 0x95, 0x7F, 0x06, 0x07];

    public ushort Version { get; init; }

    public ushort AttestationKeyType { get; init; } = EcdsaP256KeyType;

    public TeeType TeeType { get; init; }

    /// <summary>Quoting Enclave SVN. Only v3 headers carry it; 0 for v4/v5.</summary>
    public ushort QeSvn { get; init; }

    /// <summary>Provisioning Certification Enclave SVN. Only v3 headers carry it; 0 for v4/v5.</summary>
    public ushort PceSvn { get; init; }

    public byte[] QeVendorId { get; init; } = ByteFields.Zeros(QeVendorIdSize);

    /// <summary>For Intel's QE the first 16 bytes are the platform's QE id; the last 4 are zero.</summary>
    public byte[] UserData { get; init; } = ByteFields.Zeros(UserDataSize);

    public bool IsIntelQe => QeVendorId.AsSpan().SequenceEqual(IntelQeVendorId);

    /// <summary>
    /// Decodes and validates the first 48 bytes of <paramref name="source"/>: the version must be
    /// 3, 4 or 5, the key type ECDSA P-256, and the TEE type SGX or TDX (SGX only in v3).
    /// </summary>
    /// <exception cref="QuoteFormatException">The header is short or names something unsupported.</exception>
    public static QuoteHeader Read(ReadOnlySpan<byte> source) => Read(source, 0);

    internal static QuoteHeader Read(ReadOnlySpan<byte> source, int baseOffset)
    {
        if (source.Length < Size)
        {
            throw new QuoteFormatException(
                QuoteFormatError.Truncated,
                baseOffset + source.Length,
                $"Input truncated: the quote header needs {Size} bytes but only {source.Length} are present");
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(source[VersionOffset..]);
        if (version is not (3 or 4 or 5))
        {
            throw new QuoteFormatException(
                QuoteFormatError.UnsupportedVersion,
                baseOffset + VersionOffset,
                $"Quote header version {version} is not supported (expected 3, 4 or 5)");
        }

        ushort keyType = BinaryPrimitives.ReadUInt16LittleEndian(source[AttestationKeyTypeOffset..]);
        if (keyType != EcdsaP256KeyType)
        {
            throw new QuoteFormatException(
                QuoteFormatError.UnsupportedAttestationKeyType,
                baseOffset + AttestationKeyTypeOffset,
                $"Quote header attestation key type {keyType} is not supported (expected {EcdsaP256KeyType}, ECDSA P-256)");
        }

        // In v3 these four bytes are "reserved"; requiring zero there (as dcap-qvl does) lets
        // every version share one TEE type check.
        uint teeType = BinaryPrimitives.ReadUInt32LittleEndian(source[TeeTypeOffset..]);
        bool teeSupported = version == 3
            ? teeType == (uint)TeeType.Sgx
            : teeType is (uint)TeeType.Sgx or (uint)TeeType.Tdx;
        if (!teeSupported)
        {
            throw new QuoteFormatException(
                QuoteFormatError.UnsupportedTeeType,
                baseOffset + TeeTypeOffset,
                $"Quote header TEE type 0x{teeType:X8} is not supported in a version {version} quote");
        }

        // v4/v5 redefined bytes 8..12 as reserved; exposing whatever is there as SVNs would
        // invite policy code to trust values no enclave vouched for.
        bool hasSvns = version == 3;
        return new QuoteHeader
        {
            Version = version,
            AttestationKeyType = keyType,
            TeeType = (TeeType)teeType,
            QeSvn = hasSvns ? BinaryPrimitives.ReadUInt16LittleEndian(source[QeSvnOffset..]) : (ushort)0,
            PceSvn = hasSvns ? BinaryPrimitives.ReadUInt16LittleEndian(source[PceSvnOffset..]) : (ushort)0,
            QeVendorId = source.Slice(QeVendorIdOffset, QeVendorIdSize).ToArray(),
            UserData = source.Slice(UserDataOffset, UserDataSize).ToArray(),
        };
    }

    /// <summary>
    /// Writes the 48-byte header. Fields are written as they are, without validation, so that
    /// tests can build deliberately unsupported headers.
    /// </summary>
    /// <exception cref="ArgumentException">The destination is shorter than 48 bytes or an array has the wrong length.</exception>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"The destination must hold at least {Size} bytes.", nameof(destination));
        }

        Span<byte> header = destination[..Size];
        header.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(header[VersionOffset..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(header[AttestationKeyTypeOffset..], AttestationKeyType);
        BinaryPrimitives.WriteUInt32LittleEndian(header[TeeTypeOffset..], (uint)TeeType);
        BinaryPrimitives.WriteUInt16LittleEndian(header[QeSvnOffset..], QeSvn);
        BinaryPrimitives.WriteUInt16LittleEndian(header[PceSvnOffset..], PceSvn);
        ByteFields.Write(header.Slice(QeVendorIdOffset, QeVendorIdSize), QeVendorId, nameof(QeVendorId));
        ByteFields.Write(header.Slice(UserDataOffset, UserDataSize), UserData, nameof(UserData));
    }

    public byte[] ToArray()
    {
        byte[] bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    public bool Equals(QuoteHeader? other) =>
        other is not null
        && Version == other.Version
        && AttestationKeyType == other.AttestationKeyType
        && TeeType == other.TeeType
        && QeSvn == other.QeSvn
        && PceSvn == other.PceSvn
        && ByteFields.Equal(QeVendorId, other.QeVendorId)
        && ByteFields.Equal(UserData, other.UserData);

    public override bool Equals(object? obj) => Equals(obj as QuoteHeader);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Version);
        hash.Add(TeeType);
        ByteFields.Add(ref hash, UserData);
        return hash.ToHashCode();
    }
}
