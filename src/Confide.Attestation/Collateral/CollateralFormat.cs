using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Collateral;

/// <summary>
/// The few facts a provider reads from collateral to pick, check and cache it: the id, FMSPC and
/// dates of a TCB info / QE identity, and the issuer and dates of a CRL. Nothing here verifies a
/// signature; that is the verifier's job.
/// </summary>
internal static class CollateralFormat
{
    /// <summary>Length of the raw r‖s ECDSA P-256 signatures over TCB info and QE identity.</summary>
    public const int SignatureLength = 64;

    public const int MaxJsonDepth = 64;

    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>"SGX" / "TDX": the <c>id</c> of a TCB info for <paramref name="tee"/>.</summary>
    public static string TcbInfoId(TeeType tee) => tee switch
    {
        TeeType.Sgx => "SGX",
        TeeType.Tdx => "TDX",
        _ => throw new CollateralException($"Unsupported TEE type 0x{(uint)tee:x8}."),
    };

    /// <summary>"QE" / "TD_QE": the <c>id</c> of the QE identity for <paramref name="tee"/>.</summary>
    public static string QeIdentityId(TeeType tee) => tee switch
    {
        TeeType.Sgx => "QE",
        TeeType.Tdx => "TD_QE",
        _ => throw new CollateralException($"Unsupported TEE type 0x{(uint)tee:x8}."),
    };

    /// <summary>The TEE a TCB info is for: its <c>id</c>, or SGX for v2 TCB info, which has none.</summary>
    public static TeeType? TeeOfTcbInfo(string? id) => id switch
    {
        null or "SGX" => TeeType.Sgx,
        "TDX" => TeeType.Tdx,
        _ => null,
    };

    public static string Describe(TeeType tee) => tee switch
    {
        TeeType.Sgx => "SGX",
        TeeType.Tdx => "TDX",
        _ => $"TEE 0x{(uint)tee:x8}",
    };

    public static string Describe(PckCaType ca) => ca == PckCaType.Processor ? "PCK Processor CA" : "PCK Platform CA";

    /// <summary>Reads a stream to its end; more than <paramref name="maxBytes"/> bytes is an error.</summary>
    public static async Task<byte[]> ReadCappedAsync(Stream stream, int maxBytes, long? lengthHint, Func<string> tooLarge, CancellationToken cancellationToken)
    {
        if (lengthHint > maxBytes)
        {
            throw new CollateralException(tooLarge());
        }

        using var buffer = new MemoryStream(lengthHint is long hint and > 0 ? (int)hint : 16 * 1024);
        byte[] chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new CollateralException(tooLarge());
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Decodes hex (either case); <paramref name="what"/> names the field in the error.</summary>
    public static byte[] DecodeHex(string hex, string what, int? expectedLength = null)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromHexString(hex.AsSpan().Trim());
        }
        catch (FormatException)
        {
            throw new CollateralException($"{what} is not valid hex.");
        }

        if (bytes.Length == 0)
        {
            throw new CollateralException($"{what} is empty.");
        }

        if (expectedLength is int length && bytes.Length != length)
        {
            throw new CollateralException($"{what} is {bytes.Length} bytes; expected {length}.");
        }

        return bytes;
    }

    /// <summary>Parses every CERTIFICATE block of a PEM chain; at least one is required.</summary>
    public static X509Certificate2[] ReadPemChain(string pem, string what)
    {
        var certificates = new List<X509Certificate2>();
        ReadOnlySpan<char> rest = pem;
        while (PemEncoding.TryFind(rest, out PemFields fields))
        {
            ReadOnlySpan<char> label = rest[fields.Label];
            if (label.SequenceEqual("CERTIFICATE"))
            {
                byte[] der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], der, out int written))
                {
                    throw new CollateralException($"{what} holds a certificate that is not valid base64.");
                }

                try
                {
                    certificates.Add(X509CertificateLoader.LoadCertificate(der.AsSpan(0, written)));
                }
                catch (CryptographicException ex)
                {
                    throw new CollateralException($"{what} holds a certificate that cannot be parsed: {ex.Message}", ex);
                }
            }

            rest = rest[fields.Location.End..];
        }

        if (certificates.Count == 0)
        {
            throw new CollateralException($"{what} holds no PEM certificate.");
        }

        return [.. certificates];
    }

    /// <summary>Checks a PEM chain parses, then disposes the certificates.</summary>
    public static void ValidatePemChain(string pem, string what)
    {
        foreach (X509Certificate2 certificate in ReadPemChain(pem, what))
        {
            certificate.Dispose();
        }
    }

    /// <summary>
    /// Reads a CRL's issuer and dates. Accepts DER, PEM ("X509 CRL") or hex of DER, since PCCS serves
    /// the root CA CRL as hex and PCS as DER.
    /// </summary>
    public static (byte[] Der, CrlInfo Info) DecodeCrl(ReadOnlySpan<byte> body, string what)
    {
        if (body.IsEmpty)
        {
            throw new CollateralException($"{what} is empty.");
        }

        byte[] der;
        if (body[0] == 0x30)
        {
            der = body.ToArray();
        }
        else
        {
            string text;
            try
            {
                text = StrictUtf8.GetString(body).Trim();
            }
            catch (DecoderFallbackException)
            {
                throw new CollateralException($"{what} is neither a DER CRL nor text.");
            }

            if (PemEncoding.TryFind(text, out PemFields fields) && text.AsSpan()[fields.Label].SequenceEqual("X509 CRL"))
            {
                der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(text.AsSpan()[fields.Base64Data], der, out int written))
                {
                    throw new CollateralException($"{what} is a PEM CRL with invalid base64.");
                }

                der = der[..written];
            }
            else
            {
                der = DecodeHex(text, what);
            }
        }

        return (der, CrlInfo.Read(der, what));
    }

    /// <summary>Reads <c>id</c>, <c>fmspc</c>, <c>issueDate</c> and <c>nextUpdate</c> of a signed TCB info / QE identity text.</summary>
    public static SignedJsonHeader ReadSignedJsonHeader(string json, string what, bool requireFmspc)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException ex)
        {
            throw new CollateralException($"{what} is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new CollateralException($"{what} is not a JSON object.");
            }

            string? id = OptionalString(root, "id", what);
            string? fmspcText = OptionalString(root, "fmspc", what);
            byte[]? fmspc = null;
            if (fmspcText is not null)
            {
                fmspc = DecodeHex(fmspcText, $"{what} fmspc");
            }
            else if (requireFmspc)
            {
                throw new CollateralException($"{what} has no fmspc.");
            }

            string? issueText = OptionalString(root, "issueDate", what);
            DateTimeOffset? issueDate = issueText is null ? null : ParseTimestamp(issueText, $"{what} issueDate");
            string nextText = OptionalString(root, "nextUpdate", what) ?? throw new CollateralException($"{what} has no nextUpdate.");
            DateTimeOffset nextUpdate = ParseTimestamp(nextText, $"{what} nextUpdate");
            return new SignedJsonHeader(id, fmspc, issueDate, nextUpdate);
        }
    }

    public static DateTimeOffset ParseTimestamp(string text, string what) =>
        DateTimeOffset.TryParseExact(text, TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset value)
            ? value
            : throw new CollateralException($"{what} '{Truncate(text, 40)}' is not an ISO 8601 timestamp.");

    public static string Truncate(string text, int max)
    {
        var builder = new StringBuilder(Math.Min(text.Length, max) + 3);
        foreach (char c in text.Length > max ? text[..max] : text)
        {
            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return text.Length > max ? builder.Append("...").ToString() : builder.ToString();
    }

    private static string? OptionalString(JsonElement root, string name, string what)
    {
        if (!root.TryGetProperty(name, out JsonElement value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new CollateralException($"{what} {name} is not a string.");
    }
}

/// <summary>The header fields of a TCB info or QE identity.</summary>
internal sealed record SignedJsonHeader(string? Id, byte[]? Fmspc, DateTimeOffset? IssueDate, DateTimeOffset NextUpdate);

/// <summary>The issuer and validity of an X.509 CRL.</summary>
internal sealed record CrlInfo(string IssuerCommonName, DateTimeOffset ThisUpdate, DateTimeOffset? NextUpdate)
{
    /// <summary>The PCK CA the CRL belongs to, when its issuer is a PCK Processor / Platform CA.</summary>
    public PckCaType? PckCa =>
        IssuerCommonName.EndsWith("PCK Processor CA", StringComparison.Ordinal) ? PckCaType.Processor
        : IssuerCommonName.EndsWith("PCK Platform CA", StringComparison.Ordinal) ? PckCaType.Platform
        : null;

    public static CrlInfo Read(byte[] der, string what)
    {
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.BER);
            AsnReader certificateList = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            AsnReader tbs = certificateList.ReadSequence();
            if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            {
                tbs.ReadInteger();
            }

            tbs.ReadSequence(); // signature AlgorithmIdentifier
            var issuer = new X500DistinguishedName(tbs.ReadEncodedValue().Span);
            DateTimeOffset thisUpdate = ReadTime(tbs);
            DateTimeOffset? nextUpdate = null;
            if (tbs.HasData)
            {
                Asn1Tag tag = tbs.PeekTag();
                if (tag.HasSameClassAndValue(Asn1Tag.UtcTime) || tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime))
                {
                    nextUpdate = ReadTime(tbs);
                }
            }

            string commonName = issuer.EnumerateRelativeDistinguishedNames()
                .Where(rdn => !rdn.HasMultipleElements && rdn.GetSingleElementType().Value == "2.5.4.3")
                .Select(rdn => rdn.GetSingleElementValue())
                .FirstOrDefault() ?? issuer.Name;
            return new CrlInfo(commonName, thisUpdate, nextUpdate);
        }
        catch (Exception ex) when (ex is AsnContentException or CryptographicException)
        {
            throw new CollateralException($"{what} is not a DER X.509 CRL: {ex.Message}", ex);
        }
    }

    private static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();
}
