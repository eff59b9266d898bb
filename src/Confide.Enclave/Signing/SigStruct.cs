using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace Confide.Enclave.Signing;

/// <summary>
/// The SGX enclave signature structure (SIGSTRUCT, Intel SDM vol. 3D §38.13; <c>enclave_css_t</c>
/// in the Intel SGX SDK), 1808 bytes. Confide writes it exactly as SGX does so that MRSIGNER is
/// SHA-256 of the little-endian RSA-3072 modulus stored here, the value an SGX CPU reports.
/// </summary>
public sealed class SigStruct
{
    public const int Size = 1808;
    public const int ModulusSize = 384;
    public const uint RequiredExponent = 3;

    // Offsets of the SDM layout. The signature covers [0, 128) and [900, 1028).
    private const int HeaderOffset = 0;
    private const int TypeOffset = 12;
    private const int VendorOffset = 16;
    private const int DateOffset = 20;
    private const int Header2Offset = 24;
    private const int ModulusOffset = 128;
    private const int ExponentOffset = 512;
    private const int SignatureOffset = 516;
    private const int BodyOffset = 900;
    private const int MiscSelectOffset = 900;
    private const int MiscMaskOffset = 904;
    private const int AttributesOffset = 928;
    private const int AttributeMaskOffset = 944;
    private const int EnclaveHashOffset = 960;
    private const int IsvProdIdOffset = 1024;
    private const int IsvSvnOffset = 1026;
    private const int Q1Offset = 1040;
    private const int Q2Offset = 1424;
    private const int SignedHeaderLength = 128;
    private const int SignedBodyLength = 128;

    private static ReadOnlySpan<byte> HeaderConstant => [0x06, 0x00, 0x00, 0x00, 0xE1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00];

    private static ReadOnlySpan<byte> Header2Constant =>
        [0x01, 0x01, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00];

    /// <summary>SGX attribute flag: the enclave runs in debug mode.</summary>
    public const ulong DebugFlag = 0x2;

    /// <summary>SGX attribute flag: 64-bit enclave.</summary>
    public const ulong Mode64BitFlag = 0x4;

    private readonly byte[] _bytes;

    private SigStruct(byte[] bytes) => _bytes = bytes;

    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>MRENCLAVE as signed (ENCLAVEHASH).</summary>
    public ReadOnlySpan<byte> EnclaveHash => _bytes.AsSpan(EnclaveHashOffset, 32);

    /// <summary>The RSA modulus, little-endian, as SGX stores it.</summary>
    public ReadOnlySpan<byte> ModulusLittleEndian => _bytes.AsSpan(ModulusOffset, ModulusSize);

    public ushort ProductId => BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(IsvProdIdOffset));

    public ushort SecurityVersion => BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(IsvSvnOffset));

    public ulong AttributeFlags => BinaryPrimitives.ReadUInt64LittleEndian(_bytes.AsSpan(AttributesOffset));

    public bool Debug => (AttributeFlags & DebugFlag) != 0;

    /// <summary>The signing date, yyyymmdd.</summary>
    public int Date => int.Parse(BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(DateOffset)).ToString("x8"), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>MRSIGNER: SHA-256 of the little-endian modulus.</summary>
    public byte[] ComputeMrSigner() => SHA256.HashData(ModulusLittleEndian);

    /// <summary>Builds and signs a SIGSTRUCT for an enclave with the given measurement.</summary>
    public static SigStruct Create(RSA signer, ReadOnlySpan<byte> mrEnclave, ushort productId, ushort securityVersion, bool debug, DateOnly date)
    {
        RSAParameters parameters = signer.ExportParameters(includePrivateParameters: false);
        EnclaveSigningKey.EnsureSgxShape(parameters);
        if (mrEnclave.Length != 32)
        {
            throw new ArgumentException("MRENCLAVE must be 32 bytes.", nameof(mrEnclave));
        }

        byte[] bytes = new byte[Size];
        Span<byte> s = bytes;
        HeaderConstant.CopyTo(s[HeaderOffset..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[TypeOffset..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(s[VendorOffset..], 0); // 0 = ISV, 0x8086 = Intel
        BinaryPrimitives.WriteUInt32LittleEndian(s[DateOffset..], ToBcd(date));
        Header2Constant.CopyTo(s[Header2Offset..]);

        CopyReversed(parameters.Modulus!, s.Slice(ModulusOffset, ModulusSize));
        BinaryPrimitives.WriteUInt32LittleEndian(s[ExponentOffset..], RequiredExponent);

        BinaryPrimitives.WriteUInt32LittleEndian(s[MiscSelectOffset..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(s[MiscMaskOffset..], 0xFFFFFFFF);
        ulong flags = Mode64BitFlag | (debug ? DebugFlag : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(s[AttributesOffset..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(s[(AttributesOffset + 8)..], 0x3); // XFRM: x87 | SSE
        // The mask includes DEBUG, so the enclave launches only in the mode it was signed for.
        BinaryPrimitives.WriteUInt64LittleEndian(s[AttributeMaskOffset..], 0xFFFFFFFFFFFFFFFF);
        BinaryPrimitives.WriteUInt64LittleEndian(s[(AttributeMaskOffset + 8)..], 0);
        mrEnclave.CopyTo(s[EnclaveHashOffset..]);
        BinaryPrimitives.WriteUInt16LittleEndian(s[IsvProdIdOffset..], productId);
        BinaryPrimitives.WriteUInt16LittleEndian(s[IsvSvnOffset..], securityVersion);

        byte[] signatureBigEndian = signer.SignData(SignedMessage(bytes), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        CopyReversed(signatureBigEndian, s.Slice(SignatureOffset, ModulusSize));
        WriteQuotients(s, parameters.Modulus!, signatureBigEndian);
        return new SigStruct(bytes);
    }

    /// <summary>Parses a SIGSTRUCT and verifies its structure and RSA signature.</summary>
    /// <exception cref="EnclavePackageException">Malformed or with an invalid signature.</exception>
    public static SigStruct ReadAndVerify(ReadOnlySpan<byte> data)
    {
        if (data.Length != Size)
        {
            throw Invalid($"the signature file is {data.Length} bytes; a SIGSTRUCT is {Size}.");
        }

        byte[] bytes = data.ToArray();
        if (!bytes.AsSpan(HeaderOffset, HeaderConstant.Length).SequenceEqual(HeaderConstant)
            || !bytes.AsSpan(Header2Offset, Header2Constant.Length).SequenceEqual(Header2Constant))
        {
            throw Invalid("the SIGSTRUCT header constants are wrong (not a SIGSTRUCT).");
        }

        uint exponent = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(ExponentOffset));
        if (exponent != RequiredExponent)
        {
            throw Invalid($"the signing key's exponent is {exponent}; SGX requires 3.");
        }

        byte[] modulus = Reversed(bytes.AsSpan(ModulusOffset, ModulusSize));
        if ((modulus[0] & 0x80) == 0)
        {
            throw Invalid("the signing key is not a 3072-bit RSA key.");
        }

        byte[] signature = Reversed(bytes.AsSpan(SignatureOffset, ModulusSize));
        using RSA rsa = RSA.Create(new RSAParameters { Modulus = modulus, Exponent = [3] });
        if (!rsa.VerifyData(SignedMessage(bytes), signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            throw Invalid("the SIGSTRUCT's RSA signature does not verify.");
        }

        // EINIT checks Q1/Q2; so do we, so that a SIGSTRUCT we accept is one SGX would accept.
        Span<byte> expected = stackalloc byte[2 * ModulusSize];
        expected.Clear();
        WriteQuotients(expected, modulus, signature, offset: -Q1Offset);
        if (!expected.SequenceEqual(bytes.AsSpan(Q1Offset, 2 * ModulusSize)))
        {
            throw Invalid("the SIGSTRUCT's Q1/Q2 values are inconsistent with its signature.");
        }

        return new SigStruct(bytes);
    }

    private static byte[] SignedMessage(byte[] bytes)
    {
        byte[] message = new byte[SignedHeaderLength + SignedBodyLength];
        bytes.AsSpan(0, SignedHeaderLength).CopyTo(message);
        bytes.AsSpan(BodyOffset, SignedBodyLength).CopyTo(message.AsSpan(SignedHeaderLength));
        return message;
    }

    // Q1 = floor(S^2 / M), Q2 = floor((S^3 - Q1*S*M) / M): EINIT's helpers for verifying the signature.
    private static void WriteQuotients(Span<byte> target, byte[] modulusBigEndian, byte[] signatureBigEndian, int offset = 0)
    {
        var m = new BigInteger(modulusBigEndian, isUnsigned: true, isBigEndian: true);
        var sig = new BigInteger(signatureBigEndian, isUnsigned: true, isBigEndian: true);
        BigInteger q1 = BigInteger.Divide(sig * sig, m);
        BigInteger q2 = BigInteger.Divide((sig * sig * sig) - (q1 * sig * m), m);
        WriteLittleEndian(q1, target.Slice(Q1Offset + offset, ModulusSize));
        WriteLittleEndian(q2, target.Slice(Q2Offset + offset, ModulusSize));
    }

    private static void WriteLittleEndian(BigInteger value, Span<byte> target)
    {
        target.Clear();
        if (!value.TryWriteBytes(target, out _, isUnsigned: true, isBigEndian: false))
        {
            throw new CryptographicException("SIGSTRUCT quotient does not fit in 384 bytes.");
        }
    }

    private static uint ToBcd(DateOnly date) =>
        uint.Parse(date.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);

    private static void CopyReversed(ReadOnlySpan<byte> bigEndian, Span<byte> target)
    {
        target.Clear();
        for (int i = 0; i < bigEndian.Length; i++)
        {
            target[i] = bigEndian[bigEndian.Length - 1 - i];
        }
    }

    private static byte[] Reversed(ReadOnlySpan<byte> source)
    {
        byte[] result = source.ToArray();
        Array.Reverse(result);
        return result;
    }

    private static EnclavePackageException Invalid(string message) =>
        new(PackageProblemKind.InvalidSignature, SignatureFile.FileName, $"{SignatureFile.FileName}: {message}");
}

/// <summary>Where a package keeps its SIGSTRUCT.</summary>
public static class SignatureFile
{
    public const string FileName = "enclave.sig";
}
