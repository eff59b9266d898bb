using System.Text;
using System.Text.Json;
using Confide.KeyRelease.Policies;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Tests;

/// <summary>The release policy grammar: every operator, nesting, the legacy form, authorities, and precise errors.</summary>
public sealed class ReleasePolicyTests
{
    private const string Authority = "https://attest.example.test";

    private static readonly JsonElement Claims = JsonDocument.Parse("""
        {
          "iss": "https://attest.example.test",
          "x-ms-sgx-mrenclave": "aa11",
          "x-ms-sgx-svn": 3,
          "x-ms-sgx-is-debuggable": false,
          "x-ms-isolation-tee": { "x-ms-attestation-type": "sevsnpvm", "x-ms-compliance-status": "azure-compliant-cvm" },
          "dotted.name": "literal"
        }
        """).RootElement;

    private static ReleasePolicy Policy(string conditions, string group = "allOf", string authority = Authority) =>
        ReleasePolicy.Parse(Encoding.UTF8.GetBytes($$"""{"version":"1.0.0","anyOf":[{"authority":"{{authority}}","{{group}}":[{{conditions}}]}]}"""));

    private static bool Permits(string condition) => Policy(condition).Evaluate(Authority, Claims).Permitted;

    [Theory]
    [InlineData("""{"claim":"x-ms-sgx-mrenclave","equals":"aa11"}""", true)]
    [InlineData("""{"claim":"x-ms-sgx-mrenclave","equals":"AA11"}""", false)] // case-sensitive, as tokens carry lowercase hex
    [InlineData("""{"claim":"x-ms-sgx-mrenclave","notEquals":"bb22"}""", true)]
    [InlineData("""{"claim":"x-ms-sgx-mrenclave","notEquals":"aa11"}""", false)]
    [InlineData("""{"claim":"x-ms-sgx-svn","equals":3}""", true)]
    [InlineData("""{"claim":"x-ms-sgx-svn","equals":3.0}""", true)]
    [InlineData("""{"claim":"x-ms-sgx-svn","less":4}""", true)]
    [InlineData("""{"claim":"x-ms-sgx-svn","less":3}""", false)]
    [InlineData("""{"claim":"x-ms-sgx-svn","lessOrEquals":3}""", true)]
    [InlineData("""{"claim":"x-ms-sgx-svn","lessOrEquals":2}""", false)]
    [InlineData("""{"claim":"x-ms-sgx-svn","greater":2}""", true)]
    [InlineData("""{"claim":"x-ms-sgx-svn","greater":3}""", false)]
    [InlineData("""{"claim":"x-ms-sgx-svn","greaterOrEquals":3}""", true)]
    [InlineData("""{"claim":"x-ms-sgx-svn","greaterOrEquals":4}""", false)]
    [InlineData("""{"claim":"x-ms-sgx-is-debuggable","equals":false}""", true)]
    [InlineData("""{"claim":"x-ms-sgx-is-debuggable","equals":true}""", false)]
    [InlineData("""{"claim":"x-ms-sgx-is-debuggable","notEquals":true}""", true)]
    [InlineData("""{"claim":"x-ms-sgx-mrenclave","exists":true}""", true)]
    [InlineData("""{"claim":"x-ms-sgx-mrsigner","exists":true}""", false)]
    [InlineData("""{"claim":"x-ms-sgx-mrsigner","exists":false}""", true)]
    [InlineData("""{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}""", true)]
    [InlineData("""{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sgx"}""", false)]
    [InlineData("""{"claim":"dotted.name","equals":"literal"}""", true)]
    public void Every_operator_compares_as_specified(string condition, bool permitted) =>
        Assert.Equal(permitted, Permits(condition));

    [Theory]
    [InlineData("""{"claim":"x-ms-sgx-mrsigner","equals":"aa11"}""")]
    [InlineData("""{"claim":"x-ms-sgx-mrsigner","notEquals":"aa11"}""")]
    [InlineData("""{"claim":"x-ms-sgx-product-id","less":100}""")]
    [InlineData("""{"claim":"x-ms-isolation-tee.missing","equals":"x"}""")]
    public void A_missing_claim_is_false_for_every_comparison(string condition)
    {
        ReleaseDecision decision = Policy(condition).Evaluate(Authority, Claims);
        Assert.False(decision.Permitted);
        Assert.Contains("has no claim", decision.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"claim":"x-ms-sgx-svn","equals":"3"}""")] // a string is not the number 3
    [InlineData("""{"claim":"x-ms-sgx-svn","notEquals":"3"}""")] // nor is it "different" from it
    [InlineData("""{"claim":"x-ms-sgx-mrenclave","greater":1}""")]
    [InlineData("""{"claim":"x-ms-isolation-tee","equals":"sevsnpvm"}""")] // an object claim
    public void Values_of_another_type_never_satisfy_a_condition(string condition)
    {
        ReleaseDecision decision = Policy(condition).Evaluate(Authority, Claims);
        Assert.False(decision.Permitted);
        Assert.Contains("does not compare", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Groups_nest_and_report_the_first_failing_condition_by_path()
    {
        ReleasePolicy policy = Policy("""
            {"claim":"x-ms-sgx-is-debuggable","equals":false},
            {"anyOf":[{"claim":"x-ms-sgx-mrenclave","equals":"ffff"},{"allOf":[{"claim":"x-ms-sgx-svn","greater":1},{"claim":"x-ms-sgx-mrenclave","equals":"aa11"}]}]}
            """);
        Assert.True(policy.Evaluate(Authority, Claims).Permitted);

        ReleasePolicy failing = Policy("""
            {"claim":"x-ms-sgx-is-debuggable","equals":false},
            {"anyOf":[{"claim":"x-ms-sgx-mrenclave","equals":"ffff"},{"allOf":[{"claim":"x-ms-sgx-svn","greater":5}]}]}
            """);
        ReleaseDecision decision = failing.Evaluate(Authority, Claims);
        Assert.False(decision.Permitted);
        Assert.Contains("no alternative of $.anyOf[0].allOf[1].anyOf holds", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("$.anyOf[0].allOf[1].anyOf[0]: claim 'x-ms-sgx-mrenclave' equals is not met", decision.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("ffff", decision.Reason, StringComparison.Ordinal); // never the expected value

        Assert.True(Policy("""{"claim":"x-ms-sgx-svn","equals":0},{"claim":"x-ms-sgx-svn","equals":3}""", group: "anyOf").Evaluate(Authority, Claims).Permitted);
        Assert.False(Policy("""{"claim":"x-ms-sgx-svn","equals":0},{"claim":"x-ms-sgx-svn","equals":3}""").Evaluate(Authority, Claims).Permitted);
    }

    [Fact]
    public void The_legacy_condition_form_is_accepted()
    {
        Assert.True(Permits("""{"claim":"x-ms-sgx-mrenclave","condition":"equals","value":"aa11"}"""));
        Assert.False(Permits("""{"claim":"x-ms-sgx-mrenclave","condition":"equals","value":"bb22"}"""));
        Assert.True(Permits("""{"claim":"x-ms-sgx-svn","condition":"greaterOrEquals","value":3}"""));
        Assert.True(Permits("""{"claim":"x-ms-sgx-svn","condition":"exists"}"""));
    }

    [Fact]
    public void The_authority_is_the_token_issuer_ignoring_one_trailing_slash()
    {
        string condition = """{"claim":"x-ms-sgx-svn","equals":3}""";
        Assert.True(Policy(condition, authority: Authority + "/").Evaluate(Authority, Claims).Permitted);
        Assert.True(Policy(condition).Evaluate(Authority + "/", Claims).Permitted);
        Assert.False(Policy(condition, authority: Authority + "//").Evaluate(Authority, Claims).Permitted);

        ReleaseDecision other = Policy(condition).Evaluate("https://other.example.test", Claims);
        Assert.False(other.Permitted);
        Assert.Contains("No authority of the release policy is the token's issuer 'https://other.example.test'", other.Reason, StringComparison.Ordinal);

        // With several authorities, the one that issued the token decides.
        ReleasePolicy two = ReleasePolicy.Parse(Encoding.UTF8.GetBytes($$"""
            {"version":"1.0.0","anyOf":[
              {"authority":"https://other.example.test","allOf":[{"claim":"x-ms-sgx-svn","equals":3}]},
              {"authority":"{{Authority}}","allOf":[{"claim":"x-ms-sgx-svn","equals":4}]}]}
            """));
        Assert.False(two.Evaluate(Authority, Claims).Permitted);
        Assert.True(two.Evaluate("https://other.example.test", Claims).Permitted);
    }

    [Theory]
    [InlineData("""{"anyOf":[]}""", "$.version", "required")]
    [InlineData("""{"version":"2.0.0","anyOf":[]}""", "$.version", "'2.0.0' is not supported")]
    [InlineData("""{"version":"1.0.0"}""", "$.anyOf", "required")]
    [InlineData("""{"version":"1.0.0","anyOf":[]}""", "$.anyOf", "must not be empty")]
    [InlineData("""{"version":"1.0.0","anyOf":{}}""", "$.anyOf", "must be an array")]
    [InlineData("""{"version":"1.0.0","anyOf":[],"extra":1}""", "$.extra", "unknown property")]
    [InlineData("""{"version":"1.0.0","version":"1.0.0","anyOf":[]}""", "$.version", "appears twice")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"allOf":[]}]}""", "$.anyOf[0].authority", "required")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"not a url","allOf":[]}]}""", "$.anyOf[0].authority", "not an absolute http(s) URL")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a"}]}""", "$.anyOf[0]", "needs its conditions")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","equals":1}],"anyOf":[{"claim":"c","equals":1}]}]}""", "$.anyOf[0]", "both 'allOf' and 'anyOf'")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","equal":1}]}]}""", "$.anyOf[0].allOf[0].equal", "unknown property")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c"}]}]}""", "$.anyOf[0].allOf[0]", "has no operator")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","equals":1,"less":2}]}]}""", "$.anyOf[0].allOf[0]", "2 operators")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","equals":{"a":1}}]}]}""", "$.anyOf[0].allOf[0].equals", "objects and arrays are not supported")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","greater":"5"}]}]}""", "$.anyOf[0].allOf[0].greater", "compares numbers")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","exists":"yes"}]}]}""", "$.anyOf[0].allOf[0].exists", "takes true")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"","equals":1}]}]}""", "$.anyOf[0].allOf[0].claim", "claim name")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"equals":1}]}]}""", "$.anyOf[0].allOf[0]", "needs 'claim'")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","anyOf":[]}]}]}""", "$.anyOf[0].allOf[0]", "mixes 'claim'")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"anyOf":[{"claim":"c","equals":1}],"allOf":[{"claim":"c","equals":1}]}]}]}""", "$.anyOf[0].allOf[0]", "both 'allOf' and 'anyOf'")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"anyOf":[{"claim":"c","bogus":1}]}]}]}""", "$.anyOf[0].allOf[0].anyOf[0].bogus", "unknown property")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","condition":"equals"}]}]}""", "$.anyOf[0].allOf[0].value", "required with condition")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","condition":"like","value":1}]}]}""", "$.anyOf[0].allOf[0].condition", "must be one of")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","condition":"equals","value":1,"equals":1}]}]}""", "$.anyOf[0].allOf[0]", "mixes the legacy")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","value":1,"equals":1}]}]}""", "$.anyOf[0].allOf[0].value", "legacy form")]
    [InlineData("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":["c"]}]}""", "$.anyOf[0].allOf[0]", "a condition is an object")]
    [InlineData("""{"version":"1.0.0",""", "$", "not valid JSON")]
    public void Errors_name_the_path(string json, string path, string problem)
    {
        ReleasePolicyException error = Assert.Throws<ReleasePolicyException>(() => ReleasePolicy.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(path, error.Path);
        Assert.Contains(problem, error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_and_size_are_bounded()
    {
        string deep = """{"claim":"c","equals":1}""";
        for (int i = 0; i < ReleasePolicy.MaxDepth + 1; i++)
        {
            deep = $$"""{"allOf":[{{deep}}]}""";
        }

        Assert.Contains("nests deeper", Assert.Throws<ReleasePolicyException>(() => Policy(deep)).Problem, StringComparison.Ordinal);
        byte[] huge = new byte[ReleasePolicy.MaxLength + 1];
        Assert.Contains("at most", Assert.Throws<ReleasePolicyException>(() => ReleasePolicy.Parse(huge)).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_key_vault_envelope_is_read_strictly()
    {
        string policy = """{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","equals":1}]}]}""";
        JsonElement envelope = JsonDocument.Parse($$"""{"contentType":"application/json; charset=utf-8; version=1.0","data":"{{Base64UrlEncoder.Encode(policy)}}","immutable":true}""").RootElement;
        KeyReleasePolicy parsed = KeyReleasePolicy.FromJson(envelope);
        Assert.True(parsed.Immutable);
        Assert.Equal(policy, Encoding.UTF8.GetString(parsed.Data));
        Assert.Equal(Base64UrlEncoder.Encode(policy), parsed.ToJson()["data"]!.GetValue<string>());

        (string Json, string Path)[] bad =
        [
            ("""{"contentType":"text/plain","data":"e30"}""", "release_policy.contentType"),
            ("""{"data":"!!"}""", "release_policy.data"),
            ("""{"immutable":false}""", "release_policy.data"),
            ("""{"data":"e30","immutable":"no"}""", "release_policy.immutable"),
            ("""{"data":"e30","extra":1}""", "release_policy.extra"),
            ("""{"data":"e30"}""", "release_policy.data.version"),
            ($$"""{"data":"{{Base64UrlEncoder.Encode("""{"version":"1.0.0","anyOf":[{"authority":"https://a","allOf":[{"claim":"c","equal":1}]}]}""")}}"}""", "release_policy.data.anyOf[0].allOf[0].equal"),
            ("[]", "release_policy"),
        ];
        foreach ((string json, string path) in bad)
        {
            Assert.Equal(path, Assert.Throws<ReleasePolicyException>(() => KeyReleasePolicy.FromJson(JsonDocument.Parse(json).RootElement)).Path);
        }
    }
}
