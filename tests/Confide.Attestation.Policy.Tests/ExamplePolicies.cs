namespace Confide.Attestation.Policy.Tests;

/// <summary>Example policies from maa.md §3.4 (verbatim; placeholders filled where noted).</summary>
internal static class ExamplePolicies
{
    public const string MrSigner = "feb995eb86c349ac98e5afbbb5732ca7376ec9979002702ea17ad476e0853a04";
    public const string MrEnclave = "d37d983a85d63fb49649610e2eba0930ecdbff6d113aca3ff3fc7261696c0134";
    public const string SqlMrSigner = "e31c9e505f37a58de09335075fc8591254313eb20bb1a27e5443cc450b6e33e5";

    public const string DefaultSgx = """
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

    // Older default (basic-concepts.md), reconstructed from the description in §3.4.
    public const string OlderDefaultSgx = """
        version= 1.0;
        authorizationrules {
            c:[type=="$is-debuggable"] => permit();
        };
        issuancerules {
            c:[type=="$is-debuggable"] => issue(type="is-debuggable", value=c.value);
            c:[type=="$sgx-mrsigner"] => issue(type="sgx-mrsigner", value=c.value);
            c:[type=="$sgx-mrenclave"] => issue(type="sgx-mrenclave", value=c.value);
            c:[type=="$product-id"] => issue(type="product-id", value=c.value);
            c:[type=="$svn"] => issue(type="svn", value=c.value);
            c:[type=="$tee"] => issue(type="tee", value=c.value);
        };
        """;

    // Custom SGX policy with <product-id> = 1, <mrsigner> = MrSigner, <custom-name> = "custom-mrsigner".
    public const string CustomSgx = """
        version= 1.0;
        authorizationrules
        {
            [ type=="x-ms-sgx-is-debuggable", value==false ] &&
            [ type=="x-ms-sgx-product-id", value==1 ] &&
            [ type=="x-ms-sgx-svn", value>= 0 ] &&
            [ type=="x-ms-sgx-mrsigner", value=="feb995eb86c349ac98e5afbbb5732ca7376ec9979002702ea17ad476e0853a04"]
                => permit();
        };
        issuancerules {
            c:[type=="x-ms-sgx-mrsigner"] => issue(type="custom-mrsigner", value=c.value);
        };
        """;

    public const string SqlAlwaysEncrypted = """
        version= 1.0;
        authorizationrules
        {
            [ type=="x-ms-sgx-is-debuggable", value==false ] &&
            [ type=="x-ms-sgx-product-id", value==4639 ] &&
            [ type=="x-ms-sgx-svn", value>= 0 ] &&
            [ type=="x-ms-sgx-mrsigner", value=="e31c9e505f37a58de09335075fc8591254313eb20bb1a27e5443cc450b6e33e5"]
                => permit();
        };
        """;

    public const string MrSignerRotation = """
        version= 1.0;
        authorizationrules
        {
        [ type=="x-ms-sgx-is-debuggable", value==false]&&
        [ type=="x-ms-sgx-mrsigner", value=="mrsigner1"] => permit();
        [ type=="x-ms-sgx-is-debuggable", value==false ]&&
        [ type=="x-ms-sgx-mrsigner", value=="mrsigner2"] => permit();
        };
        """;

    public const string DenyAll = "version=1.0; authorizationrules { =>deny(); }; issuancerules { };";

    public const string Minimal = "version=1.0; authorizationrules{=> permit();}; issuancerules{};";

    // "..." in the docs example elided further issue rules; this keeps the one shown.
    public const string TcbBaseline = """
        version = 1.1;
        configurationrules { => issueproperty(type = "x-ms-sgx-tcbidentifier", value = "11"); };
        authorizationrules { => permit(); };
        issuancerules { c:[type=="x-ms-sgx-is-debuggable"] => issue(type="is-debuggable", value=c.value); };
        """;

    public const string TpmV11 = """
        version=1.1;
        configurationrules{
        => issueproperty(type = "required_pcr_mask", value = 15);
        => issueproperty(type = "require_valid_aik_cert", value = false);
        };
        authorizationrules { => permit(); };
        issuancerules {
        [type=="aikValidated", value==true]&& [type=="secureBootEnabled", value==true] &&
        [type=="bootDebuggingDisabled", value==true] && [type=="notSafeMode", value==true] => issue(type="PlatformAttested", value=true);
        };
        """;

    // Get_Policy.json example policy text (§1.4), with CRLF line endings.
    public const string GetPolicyExample = "\r\nversion=1.0;\r\nauthorizationrules { => permit(); };\r\nissuancerules {};";

    public static readonly string[] All =
    [
        DefaultSgx, OlderDefaultSgx, CustomSgx, SqlAlwaysEncrypted, MrSignerRotation, DenyAll, Minimal, TcbBaseline, TpmV11, GetPolicyExample,
    ];

    /// <summary>Incoming SGX claims for the Azure-Samples "release" quote (maa.md §2.3).</summary>
    public static List<PolicyClaim> SgxClaims(bool debuggable = false, long productId = 1, long svn = 1, string mrsigner = MrSigner) =>
    [
        new("x-ms-ver", "1.0"),
        new("x-ms-attestation-type", "sgx"),
        new("x-ms-sgx-is-debuggable", debuggable),
        new("x-ms-sgx-mrenclave", MrEnclave),
        new("x-ms-sgx-mrsigner", mrsigner),
        new("x-ms-sgx-product-id", productId),
        new("x-ms-sgx-svn", svn),
        new("x-ms-sgx-ehd", "AQIDBAUG"),
    ];
}
