using System.Text.Json;
using System.Text.Json.Serialization;

namespace Confide.Attestation.Collateral;

/// <summary>
/// Everything needed to verify a DCAP quote offline besides the quote and the trusted root: the
/// CRLs, TCB info and QE identity with their signatures and issuer chains. The JSON shape is
/// dcap-qvl's <c>QuoteCollateralV3</c> (hex for DER and raw signatures, PEM for chains, and the
/// TCB info / QE identity as the exact signed text), so collateral from Intel's PCS, from a PCCS
/// or from Confide's simulated platform all load the same way.
/// </summary>
public sealed record QuoteCollateral
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    /// <summary>PEM: the PCK CRL issuer (PCK Platform or Processor CA), then the root.</summary>
    [JsonPropertyName("pck_crl_issuer_chain")]
    public required string PckCrlIssuerChain { get; init; }

    /// <summary>Hex of the DER CRL issued by the root CA.</summary>
    [JsonPropertyName("root_ca_crl")]
    public required string RootCaCrl { get; init; }

    /// <summary>Hex of the DER CRL issued by the PCK CA.</summary>
    [JsonPropertyName("pck_crl")]
    public required string PckCrl { get; init; }

    /// <summary>PEM: the TCB signing certificate, then the root.</summary>
    [JsonPropertyName("tcb_info_issuer_chain")]
    public required string TcbInfoIssuerChain { get; init; }

    /// <summary>The exact <c>tcbInfo</c> JSON text that was signed. Never re-serialize it.</summary>
    [JsonPropertyName("tcb_info")]
    public required string TcbInfo { get; init; }

    /// <summary>Hex of the raw r‖s ECDSA P-256 signature over the UTF-8 bytes of <see cref="TcbInfo"/>.</summary>
    [JsonPropertyName("tcb_info_signature")]
    public required string TcbInfoSignature { get; init; }

    [JsonPropertyName("qe_identity_issuer_chain")]
    public required string QeIdentityIssuerChain { get; init; }

    /// <summary>The exact <c>enclaveIdentity</c> JSON text that was signed.</summary>
    [JsonPropertyName("qe_identity")]
    public required string QeIdentity { get; init; }

    [JsonPropertyName("qe_identity_signature")]
    public required string QeIdentitySignature { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>Parses and validates collateral JSON; a missing or malformed field is a <see cref="CollateralException"/> naming it.</summary>
    public static QuoteCollateral FromJson(string json) => CollateralJson.Parse(json);
}
