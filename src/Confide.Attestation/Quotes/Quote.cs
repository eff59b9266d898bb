using System.Text;

namespace Confide.Attestation.Quotes;

/// <summary>
/// A decoded Intel DCAP ECDSA quote: SGX v3, SGX or TDX v4, and v5 (SGX, TD 1.0 or TD 1.5 body).
/// This type only decodes; it does not check any signature.
/// </summary>
/// <remarks>
/// <para>Layout, all integers little-endian:</para>
/// <code>
/// header (48)
/// [v5 only: u16 body type, u32 body size]
/// body: SGX report (384) | TD report 1.0 (584) | TD report 1.5 (648)       ← signed by the attestation key
/// u32 signature_data_len, then signature data:
///   ECDSA signature r‖s (64), attestation public key x‖y (64),
///   v3:  QE report block
///   v4+: u16 type = 6, u32 size, QE report block
/// QE report block: QE report (384), QE report signature (64), u16 auth size, auth data,
///   u16 certification data type (1–5), u32 size, certification data
/// [trailing bytes: tolerated and counted]
/// </code>
/// <para>Every declared length inside the signature data must be exact: a length that
/// leaves unread bytes is rejected rather than guessed about. Bytes after the signature data
/// are accepted because real TDX quotes are padded (see <see cref="TrailingByteCount"/>).</para>
/// </remarks>
public sealed class Quote
{
    /// <summary>
    /// The largest input accepted. Real quotes are 4–8 KiB (mostly the PEM certificate chain);
    /// the cap bounds the work and memory an attacker-supplied blob can cost.
    /// </summary>
    public const int MaxSize = 64 * 1024;

    public const int EcdsaSignatureSize = 64;
    public const int AttestationKeySize = 64;

    private Quote(ReadOnlySpan<byte> input, int baseOffset)
    {
        var reader = new QuoteReader(input, baseOffset, QuoteFormatError.Truncated, "quote");

        Header = QuoteHeader.Read(reader.ReadBytes(QuoteHeader.Size, "quote header"), baseOffset);
        ReadBody(ref reader);
        SignedLength = reader.Position;

        var signatureData = reader.ReadLengthPrefixedRegion(
            "signature_data_len",
            "signature data",
            QuoteFormatError.SignatureDataLengthOutOfRange,
            QuoteFormatError.SignatureDataLengthMismatch);
        TrailingByteCount = reader.Remaining;

        Signature = signatureData.ReadBytes(EcdsaSignatureSize, "ECDSA quote signature").ToArray();
        AttestationKey = signatureData.ReadBytes(AttestationKeySize, "attestation public key").ToArray();

        QeBlock qe;
        if (Header.Version == 3)
        {
            qe = ReadQeBlock(ref signatureData);
        }
        else
        {
            // v4 moved the QE report into certification data of type 6 so that the outer
            // certification data type says what follows; the PCK material is nested inside.
            ExpectQeReportCertificationDataType(ref signatureData);
            var qeCertificationData = signatureData.ReadLengthPrefixedRegion(
                "QE report certification data size",
                "QE report certification data",
                QuoteFormatError.CertificationDataTruncated,
                QuoteFormatError.CertificationDataLengthMismatch);
            qe = ReadQeBlock(ref qeCertificationData);
            qeCertificationData.ExpectEnd("the nested certification data");
        }

        signatureData.ExpectEnd("the certification data");

        QeReportRaw = qe.ReportRaw;
        QeReport = SgxReportBody.Read(qe.ReportRaw);
        QeReportSignature = qe.ReportSignature;
        QeAuthData = qe.AuthData;
        CertificationDataType = qe.CertificationDataType;
        CertificationData = qe.CertificationData;
        PckCertificateChainPem = qe.PckCertificateChainPem;

        RawQuote = input.ToArray();
        SignedRegion = RawQuote.AsMemory(0, SignedLength);
    }

    public QuoteHeader Header { get; }

    /// <summary>The enclave's report: set for SGX quotes, null for TDX.</summary>
    public SgxReportBody? SgxBody { get; private set; }

    /// <summary>The TD's report: set for TDX quotes, null for SGX.</summary>
    public TdReportBody? TdBody { get; private set; }

    /// <summary>The v5 body descriptor's type (<see cref="QuoteBodyTypes"/>); null for v3/v4.</summary>
    public ushort? BodyType { get; private set; }

    /// <summary>Length of the region the ECDSA quote signature covers: header, v5 descriptor and body.</summary>
    public int SignedLength { get; }

    /// <summary>Bytes [0, <see cref="SignedLength"/>) of <see cref="RawQuote"/>: what <see cref="Signature"/> signs.</summary>
    public ReadOnlyMemory<byte> SignedRegion { get; }

    /// <summary>ECDSA P-256 signature over <see cref="SignedRegion"/>: r‖s, 32-byte big-endian each.</summary>
    public byte[] Signature { get; }

    /// <summary>The QE's attestation public key: x‖y, 32-byte big-endian each (no 0x04 prefix).</summary>
    public byte[] AttestationKey { get; }

    /// <summary>The Quoting Enclave's report; its report data binds <see cref="AttestationKey"/> and <see cref="QeAuthData"/>.</summary>
    public SgxReportBody QeReport { get; }

    /// <summary>The 384 raw bytes of <see cref="QeReport"/>, which the PCK key signs.</summary>
    public byte[] QeReportRaw { get; }

    /// <summary>PCK-key signature over <see cref="QeReportRaw"/>, r‖s.</summary>
    public byte[] QeReportSignature { get; }

    public byte[] QeAuthData { get; }

    /// <summary>Type of the innermost certification data (<see cref="CertificationDataTypes"/>): 5 for a PCK chain.</summary>
    public ushort CertificationDataType { get; }

    /// <summary>The innermost certification data, as stored (for type 5 including any NUL terminator).</summary>
    public byte[] CertificationData { get; }

    /// <summary>For type 5, the PEM chain (leaf, intermediate CA, root) without the trailing NUL; otherwise null.</summary>
    public string? PckCertificateChainPem { get; }

    /// <summary>Bytes after the declared signature data (TDX quotes are commonly zero-padded).</summary>
    public int TrailingByteCount { get; }

    /// <summary>A copy of the whole quote, trailing bytes included (without any Open Enclave header).</summary>
    public byte[] RawQuote { get; }

    public ushort Version => Header.Version;

    public TeeType TeeType => Header.TeeType;

    /// <summary>The 64 bytes of report data from whichever body the quote has.</summary>
    public byte[] ReportData => SgxBody?.ReportData ?? TdBody!.ReportData;

    /// <summary>Whether the attested enclave or TD runs in debug mode (and so proves nothing).</summary>
    public bool IsDebug => SgxBody?.IsDebug ?? TdBody!.IsDebug;

    /// <summary>Decodes a raw quote.</summary>
    /// <exception cref="QuoteFormatException">The quote is malformed, unsupported or over <see cref="MaxSize"/>.</exception>
    public static Quote Parse(ReadOnlySpan<byte> quote)
    {
        RequireAtMost(quote.Length, MaxSize, 0, "quote");
        return new Quote(quote, 0);
    }

    public static bool TryParse(ReadOnlySpan<byte> quote, out Quote? result, out QuoteFormatException? error) =>
        TryDecode(Parse, quote, out result, out error);

    /// <summary>
    /// Decodes either a raw quote or Open Enclave remote-report evidence (a 16-byte
    /// oe_report_header followed by the quote). Error offsets count from the start of
    /// <paramref name="evidence"/>.
    /// </summary>
    /// <exception cref="QuoteFormatException">Malformed wrapper or quote.</exception>
    public static Quote ParseEvidence(ReadOnlySpan<byte> evidence)
    {
        if (!OpenEnclaveReport.HasHeader(evidence))
        {
            return Parse(evidence);
        }

        ReadOnlySpan<byte> quote = OpenEnclaveReport.Unwrap(evidence);
        RequireAtMost(quote.Length, MaxSize, OpenEnclaveReport.HeaderSize, "quote inside the Open Enclave report");
        return new Quote(quote, OpenEnclaveReport.HeaderSize);
    }

    public static bool TryParseEvidence(ReadOnlySpan<byte> evidence, out Quote? result, out QuoteFormatException? error) =>
        TryDecode(ParseEvidence, evidence, out result, out error);

    private delegate Quote Decoder(ReadOnlySpan<byte> input);

    private static bool TryDecode(Decoder decode, ReadOnlySpan<byte> input, out Quote? result, out QuoteFormatException? error)
    {
        try
        {
            result = decode(input);
            error = null;
            return true;
        }
        catch (QuoteFormatException e)
        {
            result = null;
            error = e;
            return false;
        }
    }

    private static void RequireAtMost(int length, int max, int offset, string what)
    {
        if (length > max)
        {
            throw new QuoteFormatException(
                QuoteFormatError.TooLarge,
                offset + max,
                $"The {what} is {length} bytes; at most {max} are accepted");
        }
    }

    private void ReadBody(ref QuoteReader reader)
    {
        switch (Header.Version)
        {
            case 3:
                SgxBody = SgxReportBody.Read(reader.ReadBytes(SgxReportBody.Size, "SGX report body"));
                break;

            case 4 when Header.TeeType == TeeType.Sgx:
                SgxBody = SgxReportBody.Read(reader.ReadBytes(SgxReportBody.Size, "SGX report body"));
                break;

            case 4:
                TdBody = TdReportBody.Read(reader.ReadBytes(TdReportBody.Td10Size, "TD report 1.0 body"), TdReportVersion.Td10);
                break;

            default:
                ReadV5Body(ref reader);
                break;
        }
    }

    private void ReadV5Body(ref QuoteReader reader)
    {
        int typeOffset = reader.Offset;
        ushort bodyType = reader.ReadUInt16("v5 body type");
        int sizeOffset = reader.Offset;
        uint bodySize = reader.ReadUInt32("v5 body size");

        (TeeType tee, int expectedSize, string name) = bodyType switch
        {
            QuoteBodyTypes.SgxReport => (TeeType.Sgx, SgxReportBody.Size, "SGX report body"),
            QuoteBodyTypes.TdReport10 => (TeeType.Tdx, TdReportBody.Td10Size, "TD report 1.0 body"),
            QuoteBodyTypes.TdReport15 => (TeeType.Tdx, TdReportBody.Td15Size, "TD report 1.5 body"),
            _ => throw new QuoteFormatException(
                QuoteFormatError.UnsupportedBodyType,
                typeOffset,
                $"v5 body type {bodyType} is not supported (expected 1 SGX, 2 TD 1.0 or 3 TD 1.5)"),
        };

        if (tee != Header.TeeType)
        {
            throw new QuoteFormatException(
                QuoteFormatError.BodyTypeMismatch,
                typeOffset,
                $"v5 body type {bodyType} ({name}) does not match the header's TEE type {Header.TeeType}");
        }

        if (bodySize != (uint)expectedSize)
        {
            throw new QuoteFormatException(
                QuoteFormatError.BodySizeMismatch,
                sizeOffset,
                $"v5 body size {bodySize} does not match body type {bodyType} ({name}, {expectedSize} bytes)");
        }

        BodyType = bodyType;
        ReadOnlySpan<byte> body = reader.ReadBytes(expectedSize, name);
        switch (bodyType)
        {
            case QuoteBodyTypes.SgxReport:
                SgxBody = SgxReportBody.Read(body);
                break;
            case QuoteBodyTypes.TdReport10:
                TdBody = TdReportBody.Read(body, TdReportVersion.Td10);
                break;
            default:
                TdBody = TdReportBody.Read(body, TdReportVersion.Td15);
                break;
        }
    }

    private static void ExpectQeReportCertificationDataType(ref QuoteReader reader)
    {
        int offset = reader.Offset;
        ushort type = reader.ReadUInt16("certification data type");
        if (type != CertificationDataTypes.QeReportCertificationData)
        {
            throw new QuoteFormatException(
                QuoteFormatError.UnsupportedCertificationDataType,
                offset,
                $"Certification data type {type} is not supported in a v4/v5 quote; expected {CertificationDataTypes.QeReportCertificationData} (QE report certification data)");
        }
    }

    /// <summary>
    /// Types 1–5 identify the PCK (by PPID or certificate). Type 6 cannot nest and 7 (platform
    /// manifest) cannot verify a QE report, so both are rejected along with unknown types.
    /// </summary>
    private static ushort ReadPckCertificationDataType(ref QuoteReader reader)
    {
        int offset = reader.Offset;
        ushort type = reader.ReadUInt16("certification data type");
        if (type is < CertificationDataTypes.PpidCleartext or > CertificationDataTypes.PckCertificateChain)
        {
            throw new QuoteFormatException(
                QuoteFormatError.UnsupportedCertificationDataType,
                offset,
                $"Certification data type {type} is not supported here; expected 1–5 (PPID or PCK certificate material)");
        }

        return type;
    }

    /// <summary>
    /// Reads QE report, its signature, the auth data and the PCK certification data: the same
    /// sequence whether it sits directly in v3 signature data or inside v4+ type-6 data.
    /// </summary>
    private static QeBlock ReadQeBlock(ref QuoteReader reader)
    {
        byte[] reportRaw = reader.ReadBytes(SgxReportBody.Size, "QE report").ToArray();
        byte[] reportSignature = reader.ReadBytes(EcdsaSignatureSize, "QE report signature").ToArray();
        ushort authSize = reader.ReadUInt16("QE authentication data size");
        byte[] authData = reader.ReadBytes(authSize, "QE authentication data").ToArray();

        ushort type = ReadPckCertificationDataType(ref reader);
        var certification = reader.ReadLengthPrefixedRegion(
            "certification data size",
            "certification data",
            QuoteFormatError.CertificationDataTruncated,
            QuoteFormatError.CertificationDataLengthMismatch);
        int certificationOffset = certification.Offset;
        ReadOnlySpan<byte> certificationData = certification.ReadBytes(certification.Remaining, "certification data");

        string? pem = type == CertificationDataTypes.PckCertificateChain
            ? DecodePem(certificationData, certificationOffset)
            : null;
        return new QeBlock(reportRaw, reportSignature, authData, type, certificationData.ToArray(), pem);
    }

    /// <summary>
    /// The chain is ASCII PEM, normally NUL-terminated (some producers omit the NUL). Anything
    /// else is rejected here so that certificate parsing later only ever sees plain text.
    /// </summary>
    private static string DecodePem(ReadOnlySpan<byte> data, int offset)
    {
        int length = data.Length;
        while (length > 0 && data[length - 1] == 0)
        {
            length--;
        }

        ReadOnlySpan<byte> text = data[..length];
        for (int i = 0; i < text.Length; i++)
        {
            byte b = text[i];
            if (b is not ((>= 0x20 and <= 0x7E) or (byte)'\n' or (byte)'\r' or (byte)'\t'))
            {
                throw new QuoteFormatException(
                    QuoteFormatError.InvalidPckCertificateChain,
                    offset + i,
                    $"PCK certificate chain contains byte 0x{b:X2}, which cannot occur in PEM text");
            }
        }

        return Encoding.ASCII.GetString(text);
    }

    private readonly record struct QeBlock(
        byte[] ReportRaw,
        byte[] ReportSignature,
        byte[] AuthData,
        ushort CertificationDataType,
        byte[] CertificationData,
        string? PckCertificateChainPem);
}
