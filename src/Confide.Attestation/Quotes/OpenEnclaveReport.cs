using System.Buffers.Binary;

namespace Confide.Attestation.Quotes;

/// <summary>
/// The legacy Open Enclave report wrapper (oe_report_header_t, as returned by oe_get_report and
/// carried in OE / EGo attested-TLS certificates): u32 version = 1, u32 report type
/// (1 local, 2 remote), u64 report size, then the report. For a remote report the payload is a
/// DCAP quote.
/// </summary>
public static class OpenEnclaveReport
{
    public const int HeaderSize = 16;
    public const uint HeaderVersion = 1;
    public const uint ReportTypeLocal = 1;
    public const uint ReportTypeRemote = 2;

    /// <summary>
    /// Whether <paramref name="evidence"/> starts like an OE report header. A raw quote can never
    /// match: its first u32 is version | key type &lt;&lt; 16 (0x00020003 for v3).
    /// </summary>
    public static bool HasHeader(ReadOnlySpan<byte> evidence) =>
        evidence.Length >= sizeof(uint) && BinaryPrimitives.ReadUInt32LittleEndian(evidence) == HeaderVersion;

    /// <summary>Returns the quote inside remote-report evidence, or false if the header is not a valid remote-report header.</summary>
    public static bool TryUnwrap(ReadOnlySpan<byte> evidence, out ReadOnlySpan<byte> quote)
    {
        if (Validate(evidence) is null)
        {
            quote = evidence[HeaderSize..];
            return true;
        }

        quote = default;
        return false;
    }

    /// <summary>Returns the quote inside remote-report evidence.</summary>
    /// <exception cref="QuoteFormatException">The header is short, or has the wrong version, type or size.</exception>
    public static ReadOnlySpan<byte> Unwrap(ReadOnlySpan<byte> evidence)
    {
        QuoteFormatException? error = Validate(evidence);
        return error is null ? evidence[HeaderSize..] : throw error;
    }

    /// <summary>Prefixes a quote with a remote-report header, as oe_get_report does.</summary>
    public static byte[] Wrap(ReadOnlySpan<byte> quote)
    {
        byte[] evidence = new byte[HeaderSize + quote.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(evidence, HeaderVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(evidence.AsSpan(4), ReportTypeRemote);
        BinaryPrimitives.WriteUInt64LittleEndian(evidence.AsSpan(8), (ulong)quote.Length);
        quote.CopyTo(evidence.AsSpan(HeaderSize));
        return evidence;
    }

    // Returns rather than throws so that TryUnwrap costs no exception on the common failure path.
    private static QuoteFormatException? Validate(ReadOnlySpan<byte> evidence)
    {
        if (evidence.Length < HeaderSize)
        {
            return new QuoteFormatException(
                QuoteFormatError.Truncated,
                evidence.Length,
                $"Input truncated: the Open Enclave report header needs {HeaderSize} bytes but only {evidence.Length} are present");
        }

        uint version = BinaryPrimitives.ReadUInt32LittleEndian(evidence);
        if (version != HeaderVersion)
        {
            return new QuoteFormatException(
                QuoteFormatError.InvalidOpenEnclaveHeader,
                0,
                $"Open Enclave report header version {version} is not supported (expected {HeaderVersion})");
        }

        uint reportType = BinaryPrimitives.ReadUInt32LittleEndian(evidence[4..]);
        if (reportType != ReportTypeRemote)
        {
            string detail = reportType == ReportTypeLocal ? " (a local report carries an SGX report, not a quote)" : string.Empty;
            return new QuoteFormatException(
                QuoteFormatError.InvalidOpenEnclaveHeader,
                4,
                $"Open Enclave report type {reportType} is not a remote report{detail}");
        }

        // The size must describe exactly the bytes that follow, so that nothing after the
        // quote can ride along unnoticed and no length is ever guessed.
        ulong reportSize = BinaryPrimitives.ReadUInt64LittleEndian(evidence[8..]);
        ulong actual = (ulong)(evidence.Length - HeaderSize);
        if (reportSize != actual)
        {
            return new QuoteFormatException(
                QuoteFormatError.InvalidOpenEnclaveHeader,
                8,
                $"Open Enclave report size {reportSize} does not match the {actual} bytes that follow the header");
        }

        return null;
    }
}
