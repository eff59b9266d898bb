namespace Confide.Tls;

/// <summary>The certificate extensions that carry evidence (sdk.md §5.3).</summary>
public static class AttestedTlsOids
{
    /// <summary>TCG DICE conceptual message wrapper ("tagged evidence"): the interoperable RA-TLS extension (Gramine ≥ 1.8, Intel SGX SDK ttls).</summary>
    public const string DiceTaggedEvidence = "2.23.133.5.4.9";

    /// <summary>Open Enclave / EGo: an Open Enclave remote report (16-byte header + SGX quote).</summary>
    public const string OpenEnclaveReport = "1.3.6.1.4.1.311.105.1";

    /// <summary>Open Enclave's old quote OID, accepted when verifying.</summary>
    public const string OpenEnclaveLegacyQuote = "1.2.840.113556.10.1.1";

    /// <summary>Intel SGX SDK ttls, legacy: a raw quote.</summary>
    public const string IntelLegacyQuote = "1.2.840.113741.1.13.1";

    /// <summary>
    /// Gramine's legacy extension: meant as 1.2.840.113741.1337.6 but written with the DER tag and
    /// length inside the value, so it parses as this OID. A raw quote.
    /// </summary>
    public const string GramineLegacyQuote = "0.6.9.42.840.113741.1337.6";

    /// <summary>
    /// Confide's collateral extension: the DCAP collateral of the certificate's quote, as a DER
    /// UTF8String holding <c>QuoteCollateralV3</c> JSON. No standard extension carries collateral,
    /// so this OID is minted under the UUID arc (X.667: 2.25 and the decimal value of the random
    /// UUID f7f390cb-007e-4b37-b118-367666a10efd); nothing else uses it.
    /// </summary>
    public const string Collateral = "2.25.329583979845950779815264426370592214781";
}
