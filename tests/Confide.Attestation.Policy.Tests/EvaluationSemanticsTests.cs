namespace Confide.Attestation.Policy.Tests;

public class EvaluationSemanticsTests
{
    private static PolicyEvaluationResult Eval(string authorization, string issuance, params PolicyClaim[] claims) =>
        AttestationPolicy.Parse($"version=1.2; authorizationrules {{ {authorization} }}; issuancerules {{ {issuance} }};").Evaluate(claims);

    [Fact]
    public void DenyWinsOverPermitRegardlessOfOrder()
    {
        Assert.False(Eval("=> permit(); => deny();", "").Permitted);
        Assert.False(Eval("=> deny(); => permit();", "").Permitted);
        Assert.True(Eval("=> permit(); [type==\"nope\"] => deny();", "").Permitted);
    }

    [Fact]
    public void ExistsTestsForAClaimWithoutBindingIt()
    {
        var svn = new PolicyClaim("x-ms-sgx-svn", 3L);
        Assert.True(Eval("exists([type==\"x-ms-sgx-svn\", value>=2]) => permit();", "", svn).Permitted);
        Assert.False(Eval("exists([type==\"x-ms-sgx-svn\", value>=4]) => permit();", "", svn).Permitted);
        Assert.True(Eval("!EXISTS([type==\"x-ms-sgx-is-debuggable\"]) => permit();", "", svn).Permitted);
        Assert.False(Eval("!exists([type==\"x-ms-sgx-svn\"]) => permit();", "", svn).Permitted);

        // "exists" is still usable as an identifier name.
        PolicyEvaluationResult named = Eval("=> permit();", "exists:[type==\"x-ms-sgx-svn\"] => issue(claim=exists);", svn);
        Assert.Equal(3L, Assert.Single(named.IssuedClaims).Value);

        PolicyParseException error = Assert.Throws<PolicyParseException>(() => AttestationPolicy.Parse("version=1.0; authorizationrules { exists(c:[type==\"a\"]) => permit(); };"));
        Assert.Contains("cannot name it", error.Message);
        Assert.Equal(1, error.Line);
    }

    [Fact]
    public void NoRulesOrNoMatchingPermitDenies()
    {
        Assert.False(Eval("", "").Permitted);
        Assert.False(Eval("[type==\"x\"] => permit();", "").Permitted);
    }

    [Fact]
    public void IssuanceRulesDoNotRunWhenDenied()
    {
        PolicyEvaluationResult r = Eval("=> deny();", "=> issue(type=\"a\", value=1);");
        Assert.Empty(r.IssuedClaims);
    }

    [Fact]
    public void AddFeedsLaterRulesButIsNotIssued()
    {
        PolicyEvaluationResult r = Eval(
            "c:[type==\"x-ms-sgx-svn\", value>=2] => add(type=\"svn-ok\", value=true); [type==\"svn-ok\", value==true, issuer==\"AttestationPolicy\"] => permit();",
            "c:[type==\"svn-ok\"] => issue(type=\"copied\", value=c.value);",
            new PolicyClaim("x-ms-sgx-svn", 2L));
        Assert.True(r.Permitted);
        PolicyClaim issued = Assert.Single(r.IssuedClaims);
        Assert.Equal("copied", issued.Type);
        Assert.Contains(r.IncomingClaims, c => c.Type == "svn-ok");

        Assert.False(Eval(
            "c:[type==\"x-ms-sgx-svn\", value>=2] => add(type=\"svn-ok\", value=true); [type==\"svn-ok\"] => permit();", "",
            new PolicyClaim("x-ms-sgx-svn", 1L)).Permitted);
    }

    [Fact]
    public void RuleDoesNotSeeClaimsItAddsItself()
    {
        // A rule sees a snapshot: "add if absent" adds once, not forever.
        PolicyEvaluationResult r = Eval("=> permit();", "!([type==\"a\"]) => add(type=\"a\", value=1); c:[type==\"a\"] => issue(claim=c);");
        Assert.Single(r.IssuedClaims);
    }

    [Fact]
    public void IssuedClaimsAreVisibleToLaterIssuanceRules()
    {
        PolicyEvaluationResult r = Eval("=> permit();", "=> issue(type=\"a\", value=\"x\"); c:[type==\"a\", issuer==\"AttestationPolicy\"] => issue(type=\"b\", value=c.value);");
        Assert.Equal(["a", "b"], r.IssuedClaims.Select(c => c.Type));
        Assert.Equal("x", r.IssuedClaims[1].Value);
    }

    [Fact]
    public void IssuerConditionFilters()
    {
        Assert.False(Eval("[type==\"t\", issuer==\"AttestationService\"] => permit();", "", new PolicyClaim("t", 1L, PolicyClaim.CustomClaimIssuer)).Permitted);
        Assert.True(Eval("[type==\"t\", issuer==\"CustomClaim\"] => permit();", "", new PolicyClaim("t", 1L, PolicyClaim.CustomClaimIssuer)).Permitted);
        Assert.True(Eval("[type==\"t\"] => permit();", "", new PolicyClaim("t", 1L, PolicyClaim.CustomClaimIssuer)).Permitted);
    }

    [Fact]
    public void IdentifierReferencesJoinAcrossConditions()
    {
        const string rule = "F1:[type==\"OSName\", issuer==\"CustomClaim\"] && [type==\"OSName\", issuer==\"AttestationService\", value==F1.value] => permit();";
        Assert.True(Eval(rule, "",
            new PolicyClaim("OSName", "Linux", PolicyClaim.CustomClaimIssuer),
            new PolicyClaim("OSName", "Windows", PolicyClaim.CustomClaimIssuer),
            new PolicyClaim("OSName", "Windows")).Permitted);
        Assert.False(Eval(rule, "",
            new PolicyClaim("OSName", "Linux", PolicyClaim.CustomClaimIssuer),
            new PolicyClaim("OSName", "Windows")).Permitted);
    }

    [Fact]
    public void IssueClaimCopiesEveryMatchingClaim()
    {
        PolicyEvaluationResult r = Eval("=> permit();", "c:[type==\"k\"] => issue(claim=c);",
            new PolicyClaim("k", 1L), new PolicyClaim("k", 2L), new PolicyClaim("j", 3L), new PolicyClaim("k", 1L));
        Assert.Equal([1L, 2L], r.IssuedClaims.Select(c => (long)c.Value));
    }

    [Theory]
    [InlineData("value==5", true)]
    [InlineData("value!=5", false)]
    [InlineData("value<5", false)]
    [InlineData("value<=5", true)]
    [InlineData("value>4", true)]
    [InlineData("value>=6", false)]
    [InlineData("value==0x5", true)]
    [InlineData("value==\"5\"", false)]
    [InlineData("value!=\"5\"", true)]
    [InlineData("valueType==\"Integer\"", true)]
    [InlineData("VALUE==5", true)]
    public void IntegerComparisons(string condition, bool expected) =>
        Assert.Equal(expected, Eval($"[type==\"n\", {condition}] => permit();", "", new PolicyClaim("n", 5)).Permitted);

    [Fact]
    public void OrderingOperatorsOnNonIntegersAreFalseAtRuntime()
    {
        Assert.False(Eval("c:[type==\"s\"] && [type==\"n\", value>=c.value] => permit();", "",
            new PolicyClaim("s", "1"), new PolicyClaim("n", 5L)).Permitted);
    }

    [Fact]
    public void OrNotAndParentheses()
    {
        const string rule = "([type==\"a\"] || [type==\"b\"]) && ![type==\"x-ms-sgx-is-debuggable\", value==true] => permit();";
        Assert.True(Eval(rule, "", new PolicyClaim("b", 1L)).Permitted);
        Assert.False(Eval(rule, "", new PolicyClaim("c", 1L)).Permitted);
        Assert.False(Eval(rule, "", new PolicyClaim("a", 1L), new PolicyClaim("x-ms-sgx-is-debuggable", true)).Permitted);
        Assert.True(Eval(rule, "", new PolicyClaim("a", 1L), new PolicyClaim("x-ms-sgx-is-debuggable", false)).Permitted);
        Assert.True(Eval("!![type==\"a\"] => permit();", "", new PolicyClaim("a", 1L)).Permitted);
    }

    [Fact]
    public void AndBindsTighterThanOr()
    {
        // a || b && c  ==  a || (b && c)
        Assert.True(Eval("[type==\"a\"] || [type==\"b\"] && [type==\"c\"] => permit();", "", new PolicyClaim("a", 1L)).Permitted);
        Assert.False(Eval("[type==\"a\"] || [type==\"b\"] && [type==\"c\"] => permit();", "", new PolicyClaim("b", 1L)).Permitted);
    }

    [Fact]
    public void ReferenceUnboundOnOrBranchSkipsAction()
    {
        PolicyEvaluationResult r = Eval("=> permit();", "c:[type==\"a\"] || [type==\"b\"] => issue(type=\"out\", value=c.value);",
            new PolicyClaim("b", 1L));
        Assert.Empty(r.IssuedClaims);
        PolicyEvaluationResult r2 = Eval("=> permit();", "c:[type==\"a\"] || [type==\"b\"] => issue(type=\"out\", value=c.value);",
            new PolicyClaim("a", "v"));
        Assert.Equal("v", Assert.Single(r2.IssuedClaims).Value);
    }

    [Fact]
    public void KeywordsAreCaseInsensitiveAndSmartQuotesAccepted()
    {
        AttestationPolicy p = AttestationPolicy.Parse("Version= 1.0;\nAuthorizationRules { c:[Type==\u201C$is-debuggable\u201D] => Permit(); };\nIssuancerules { c:[type==\"$is-debuggable\"] => ISSUE(type=\"d\", value=c.value); };");
        PolicyEvaluationResult r = p.Evaluate([new PolicyClaim("$is-debuggable", true)]);
        Assert.True(r.Permitted);
        Assert.Equal(true, Assert.Single(r.IssuedClaims).Value);
    }

    [Fact]
    public void IssuePropertyLaterWins()
    {
        PolicyEvaluationResult r = AttestationPolicy.Parse(
            "version=1.1; configurationrules { => issueproperty(type=\"require_valid_aad_runtime_data\", value=true); => issueproperty(type=\"m\", value=1); => issueproperty(type=\"m\", value=0xFFFFFF); }; authorizationrules { => permit(); };")
            .Evaluate([]);
        Assert.Equal(true, r.Configuration["require_valid_aad_runtime_data"]);
        Assert.Equal(0xFFFFFFL, r.Configuration["m"]);
    }

    [Fact]
    public void PolicyClaimValidatesValues()
    {
        Assert.Equal(7L, new PolicyClaim("t", 7).Value);
        Assert.Equal(PolicyClaim.AttestationServiceIssuer, new PolicyClaim("t", "v").Issuer);
        Assert.Throws<ArgumentException>(() => new PolicyClaim("t", 1.5));
        Assert.Throws<ArgumentNullException>(() => new PolicyClaim("t", null!));
    }

    [Fact]
    public void EvaluationIsRepeatableAndDoesNotMutatePolicy()
    {
        AttestationPolicy p = AttestationPolicy.Parse(ExamplePolicies.DefaultSgx);
        PolicyEvaluationResult a = p.Evaluate(ExamplePolicies.SgxClaims());
        PolicyEvaluationResult b = p.Evaluate(ExamplePolicies.SgxClaims());
        Assert.Equal(a.IssuedClaims, b.IssuedClaims);
    }
}
