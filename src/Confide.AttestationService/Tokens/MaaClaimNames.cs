namespace Confide.AttestationService.Tokens;

/// <summary>Claim names of Azure Attestation tokens (current and the legacy names the default policy still issues).</summary>
public static class MaaClaimNames
{
    public const string Version = "x-ms-ver";
    public const string AttestationType = "x-ms-attestation-type";
    public const string PolicyHash = "x-ms-policy-hash";
    public const string SgxIsDebuggable = "x-ms-sgx-is-debuggable";
    public const string SgxMrEnclave = "x-ms-sgx-mrenclave";
    public const string SgxMrSigner = "x-ms-sgx-mrsigner";
    public const string SgxProductId = "x-ms-sgx-product-id";
    public const string SgxSvn = "x-ms-sgx-svn";
    public const string SgxReportData = "x-ms-sgx-report-data";
    public const string SgxEnclaveHeldData = "x-ms-sgx-ehd";
    public const string SgxCollateral = "x-ms-sgx-collateral";
    public const string Runtime = "x-ms-runtime";
    public const string InitTime = "x-ms-inittime";
    public const string Nonce = "nonce";

    // Deprecated names (claim-sets.md) that Azure Attestation's default SGX policy still issues.
    public const string LegacyIsDebuggable = "is-debuggable";
    public const string LegacyMrEnclave = "sgx-mrenclave";
    public const string LegacyMrSigner = "sgx-mrsigner";
    public const string LegacyProductId = "product-id";
    public const string LegacySvn = "svn";
    public const string LegacyTee = "tee";
    public const string LegacyVersion = "ver";
    public const string LegacyPolicyHash = "policy_hash";
    public const string LegacyEnclaveHeldData = "maa-ehd";
}
