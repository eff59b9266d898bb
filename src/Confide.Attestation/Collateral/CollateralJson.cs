using System.Text;
using System.Text.Json;

namespace Confide.Attestation.Collateral;

/// <summary>
/// Strict reading of collateral in dcap-qvl's <c>QuoteCollateralV3</c> JSON (the test vectors'
/// format, and what the simulated back-end hands out). Unlike a plain deserialization, every
/// field must be present, a non-empty string and well formed (hex, PEM certificates, a CRL, the
/// signed JSON text with its dates); any defect is a <see cref="CollateralException"/> naming
/// the field. Unknown fields are ignored; a duplicated field is an error.
/// </summary>
public static class CollateralJson
{
    /// <summary>Largest collateral document accepted (real ones are 15–25 KB).</summary>
    public const int MaxInputBytes = 1024 * 1024;

    /// <summary>The JSON field names, in the order dcap-qvl writes them.</summary>
    public static IReadOnlyList<string> FieldNames { get; } =
    [
        "pck_crl_issuer_chain",
        "root_ca_crl",
        "pck_crl",
        "tcb_info_issuer_chain",
        "tcb_info",
        "tcb_info_signature",
        "qe_identity_issuer_chain",
        "qe_identity",
        "qe_identity_signature",
    ];

    /// <exception cref="CollateralException">The JSON is malformed, too large, or a field is missing, empty or invalid.</exception>
    public static QuoteCollateral Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json.Length > MaxInputBytes || Encoding.UTF8.GetByteCount(json) > MaxInputBytes)
        {
            throw new CollateralException($"Collateral JSON is larger than {MaxInputBytes} bytes.");
        }

        return Parse(() => JsonDocument.Parse(json, DocumentOptions));
    }

    /// <summary>Parses UTF-8 collateral JSON (a leading byte-order mark is allowed).</summary>
    /// <exception cref="CollateralException">The JSON is malformed, too large, or a field is missing, empty or invalid.</exception>
    public static QuoteCollateral Parse(ReadOnlyMemory<byte> utf8Json)
    {
        if (utf8Json.Length > MaxInputBytes)
        {
            throw new CollateralException($"Collateral JSON is larger than {MaxInputBytes} bytes.");
        }

        if (utf8Json.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            utf8Json = utf8Json[3..];
        }

        return Parse(() => JsonDocument.Parse(utf8Json, DocumentOptions));
    }

    /// <summary>
    /// Checks collateral built in code (or read by <see cref="QuoteCollateral.FromJson"/>) the way
    /// <see cref="Parse(string)"/> checks JSON, naming the JSON field of any defect.
    /// </summary>
    /// <returns><paramref name="collateral"/>.</returns>
    /// <exception cref="CollateralException">A field is missing, empty or invalid.</exception>
    public static QuoteCollateral Validate(QuoteCollateral collateral)
    {
        ArgumentNullException.ThrowIfNull(collateral);
        Describe(collateral);
        return collateral;
    }

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = CollateralFormat.MaxJsonDepth };

    /// <summary>Validates every field and returns what providers select and cache on.</summary>
    internal static CollateralSummary Describe(QuoteCollateral collateral)
    {
        string pckCrlChain = Required(collateral.PckCrlIssuerChain, "pck_crl_issuer_chain");
        string rootCrl = Required(collateral.RootCaCrl, "root_ca_crl");
        string pckCrl = Required(collateral.PckCrl, "pck_crl");
        string tcbChain = Required(collateral.TcbInfoIssuerChain, "tcb_info_issuer_chain");
        string tcbInfo = Required(collateral.TcbInfo, "tcb_info");
        string tcbSignature = Required(collateral.TcbInfoSignature, "tcb_info_signature");
        string qeChain = Required(collateral.QeIdentityIssuerChain, "qe_identity_issuer_chain");
        string qeIdentity = Required(collateral.QeIdentity, "qe_identity");
        string qeSignature = Required(collateral.QeIdentitySignature, "qe_identity_signature");

        CollateralFormat.ValidatePemChain(pckCrlChain, Field("pck_crl_issuer_chain"));
        CrlInfo rootCrlInfo = CrlInfo.Read(CollateralFormat.DecodeHex(rootCrl, Field("root_ca_crl")), Field("root_ca_crl"));
        CrlInfo pckCrlInfo = CrlInfo.Read(CollateralFormat.DecodeHex(pckCrl, Field("pck_crl")), Field("pck_crl"));
        CollateralFormat.ValidatePemChain(tcbChain, Field("tcb_info_issuer_chain"));
        SignedJsonHeader tcbHeader = CollateralFormat.ReadSignedJsonHeader(tcbInfo, Field("tcb_info"), requireFmspc: true);
        CollateralFormat.DecodeHex(tcbSignature, Field("tcb_info_signature"), CollateralFormat.SignatureLength);
        CollateralFormat.ValidatePemChain(qeChain, Field("qe_identity_issuer_chain"));
        SignedJsonHeader qeHeader = CollateralFormat.ReadSignedJsonHeader(qeIdentity, Field("qe_identity"), requireFmspc: false);
        CollateralFormat.DecodeHex(qeSignature, Field("qe_identity_signature"), CollateralFormat.SignatureLength);
        return new CollateralSummary(tcbHeader, qeHeader, rootCrlInfo, pckCrlInfo);
    }

    private static string Field(string name) => $"Collateral field '{name}'";

    private static string Required(string? value, string name) =>
        string.IsNullOrWhiteSpace(value)
            ? throw new CollateralException(value is null ? $"Collateral JSON is missing the field '{name}'." : $"{Field(name)} is empty.")
            : value;

    private static QuoteCollateral Parse(Func<JsonDocument> parse)
    {
        JsonDocument document;
        try
        {
            document = parse();
        }
        catch (JsonException ex)
        {
            throw new CollateralException($"Collateral JSON is malformed: {ex.Message}", ex);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new CollateralException($"Collateral JSON must be an object, not {root.ValueKind}.");
            }

            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty property in root.EnumerateObject())
            {
                if (!FieldNames.Contains(property.Name))
                {
                    continue;
                }

                if (values.ContainsKey(property.Name))
                {
                    throw new CollateralException($"{Field(property.Name)} appears more than once.");
                }

                if (property.Value.ValueKind != JsonValueKind.String)
                {
                    throw new CollateralException($"{Field(property.Name)} must be a string, not {property.Value.ValueKind}.");
                }

                values[property.Name] = property.Value.GetString()!;
            }

            foreach (string name in FieldNames)
            {
                if (!values.ContainsKey(name))
                {
                    throw new CollateralException($"Collateral JSON is missing the field '{name}'.");
                }
            }

            var collateral = new QuoteCollateral
            {
                PckCrlIssuerChain = values["pck_crl_issuer_chain"],
                RootCaCrl = values["root_ca_crl"],
                PckCrl = values["pck_crl"],
                TcbInfoIssuerChain = values["tcb_info_issuer_chain"],
                TcbInfo = values["tcb_info"],
                TcbInfoSignature = values["tcb_info_signature"],
                QeIdentityIssuerChain = values["qe_identity_issuer_chain"],
                QeIdentity = values["qe_identity"],
                QeIdentitySignature = values["qe_identity_signature"],
            };
            Describe(collateral);
            return collateral;
        }
    }
}

/// <summary>What a provider matches and caches collateral on.</summary>
internal sealed record CollateralSummary(SignedJsonHeader TcbInfo, SignedJsonHeader QeIdentity, CrlInfo RootCaCrl, CrlInfo PckCrl);
