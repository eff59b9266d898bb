namespace Confide.AttestationService;

/// <summary>Azure Attestation's default policies (maa.md §3.4, verbatim from the docs).</summary>
public static class DefaultPolicies
{
    /// <summary>
    /// The default SGX policy: permit every verified quote, and issue the legacy claim names
    /// (<c>is-debuggable</c>, <c>sgx-mrsigner</c>, <c>sgx-mrenclave</c>, <c>product-id</c>, <c>svn</c>, <c>tee</c>).
    /// </summary>
    public const string SgxEnclave = """
        version= 1.0;
        authorizationrules {
            => permit();
        };
        issuancerules {
            c:[type=="x-ms-sgx-is-debuggable"] => issue(type="is-debuggable", value=c.value);
            c:[type=="x-ms-sgx-mrsigner"] => issue(type="sgx-mrsigner", value=c.value);
            c:[type=="x-ms-sgx-mrenclave"] => issue(type="sgx-mrenclave", value=c.value);
            c:[type=="x-ms-sgx-product-id"] => issue(type="product-id", value=c.value);
            c:[type=="x-ms-sgx-svn"] => issue(type="svn", value=c.value);
            c:[type=="x-ms-attestation-type"] => issue(type="tee", value=c.value);
        };
        """;

    /// <summary>
    /// The TDX policy Azure Attestation's documented TDX sample token was issued under (its
    /// <c>x-ms-policy-hash</c> is this text's): permit every verified quote, issue nothing extra.
    /// </summary>
    public const string TdxVm = "version= 1.0;\n\nauthorizationrules\n{\n    => permit();\n};\n\nissuancerules\n{\n};";
}
