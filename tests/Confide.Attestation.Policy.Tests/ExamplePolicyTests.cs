namespace Confide.Attestation.Policy.Tests;

public class ExamplePolicyTests
{
    public static TheoryData<int> ExampleIndexes()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < ExamplePolicies.All.Length; i++)
        {
            data.Add(i);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ExampleIndexes))]
    public void EveryExamplePolicyParses(int index)
    {
        AttestationPolicy policy = AttestationPolicy.Parse(ExamplePolicies.All[index]);
        Assert.NotEmpty(policy.AuthorizationRules);
        Assert.True(AttestationPolicy.TryParse(ExamplePolicies.All[index], out AttestationPolicy? again));
        Assert.Equal(policy.Version, again.Version);
    }

    [Fact]
    public void DefaultPolicy_PermitsAndIssuesLegacyClaims()
    {
        AttestationPolicy policy = AttestationPolicy.Parse(ExamplePolicies.DefaultSgx);
        Assert.Equal(new Version(1, 0), policy.Version);
        Assert.Single(policy.AuthorizationRules);
        Assert.Equal(6, policy.IssuanceRules.Count);
        Assert.Null(policy.AuthorizationRules[0].Condition);

        PolicyEvaluationResult result = policy.Evaluate(ExamplePolicies.SgxClaims());

        Assert.True(result.Permitted);
        var issued = result.IssuedClaims.ToDictionary(c => c.Type, c => c.Value);
        Assert.Equal(6, issued.Count);
        Assert.Equal(false, issued["is-debuggable"]);
        Assert.Equal(ExamplePolicies.MrSigner, issued["sgx-mrsigner"]);
        Assert.Equal(ExamplePolicies.MrEnclave, issued["sgx-mrenclave"]);
        Assert.Equal(1L, issued["product-id"]);
        Assert.Equal(1L, issued["svn"]);
        Assert.Equal("sgx", issued["tee"]);
        Assert.All(result.IssuedClaims, c => Assert.Equal(PolicyClaim.AttestationPolicyIssuer, c.Issuer));
        Assert.Equal("Integer", result.IssuedClaims.Single(c => c.Type == "svn").ValueType);
        Assert.Equal("Boolean", result.IssuedClaims.Single(c => c.Type == "is-debuggable").ValueType);
        // Issued claims order follows rule order.
        Assert.Equal(["is-debuggable", "sgx-mrsigner", "sgx-mrenclave", "product-id", "svn", "tee"], result.IssuedClaims.Select(c => c.Type));
        Assert.Empty(result.Configuration);
    }

    [Fact]
    public void DefaultPolicy_DebugEnclaveIsStillPermitted()
    {
        PolicyEvaluationResult result = AttestationPolicy.Parse(ExamplePolicies.DefaultSgx)
            .Evaluate(ExamplePolicies.SgxClaims(debuggable: true));
        Assert.True(result.Permitted);
        Assert.Equal(true, result.IssuedClaims.Single(c => c.Type == "is-debuggable").Value);
    }

    [Fact]
    public void OlderDefaultPolicy_RequiresLegacyClaim()
    {
        AttestationPolicy policy = AttestationPolicy.Parse(ExamplePolicies.OlderDefaultSgx);
        Assert.False(policy.Evaluate(ExamplePolicies.SgxClaims()).Permitted);

        List<PolicyClaim> legacy = [new("$is-debuggable", false), new("$svn", 3L), new("$tee", "sgx")];
        PolicyEvaluationResult result = policy.Evaluate(legacy);
        Assert.True(result.Permitted);
        Assert.Equal(3, result.IssuedClaims.Count);
        Assert.Equal(3L, result.IssuedClaims.Single(c => c.Type == "svn").Value);
    }

    [Fact]
    public void CustomPolicy_PermitsMatchingReleaseEnclave()
    {
        AttestationPolicy policy = AttestationPolicy.Parse(ExamplePolicies.CustomSgx);
        PolicyEvaluationResult result = policy.Evaluate(ExamplePolicies.SgxClaims());
        Assert.True(result.Permitted);
        PolicyClaim issued = Assert.Single(result.IssuedClaims);
        Assert.Equal("custom-mrsigner", issued.Type);
        Assert.Equal(ExamplePolicies.MrSigner, issued.Value);
    }

    [Fact]
    public void CustomPolicy_DeniesDebugEnclave()
    {
        PolicyEvaluationResult result = AttestationPolicy.Parse(ExamplePolicies.CustomSgx)
            .Evaluate(ExamplePolicies.SgxClaims(debuggable: true));
        Assert.False(result.Permitted);
        Assert.Empty(result.IssuedClaims);
    }

    [Theory]
    [InlineData(2L, 1L, "feb995eb86c349ac98e5afbbb5732ca7376ec9979002702ea17ad476e0853a04")]
    [InlineData(1L, -1L, "feb995eb86c349ac98e5afbbb5732ca7376ec9979002702ea17ad476e0853a04")]
    [InlineData(1L, 1L, "FEB995EB86C349AC98E5AFBBB5732CA7376EC9979002702EA17AD476E0853A04")]
    [InlineData(1L, 1L, "00")]
    public void CustomPolicy_DeniesWrongIdentity(long productId, long svn, string mrsigner)
    {
        PolicyEvaluationResult result = AttestationPolicy.Parse(ExamplePolicies.CustomSgx)
            .Evaluate(ExamplePolicies.SgxClaims(productId: productId, svn: svn, mrsigner: mrsigner));
        Assert.False(result.Permitted);
    }

    [Fact]
    public void CustomPolicy_MissingClaimDenies()
    {
        List<PolicyClaim> claims = ExamplePolicies.SgxClaims();
        claims.RemoveAll(c => c.Type == "x-ms-sgx-svn");
        Assert.False(AttestationPolicy.Parse(ExamplePolicies.CustomSgx).Evaluate(claims).Permitted);
    }

    [Fact]
    public void CustomPolicy_DebugClaimAsStringDoesNotSatisfyBooleanCondition()
    {
        List<PolicyClaim> claims = ExamplePolicies.SgxClaims();
        claims.RemoveAll(c => c.Type == "x-ms-sgx-is-debuggable");
        claims.Add(new PolicyClaim("x-ms-sgx-is-debuggable", "false"));
        Assert.False(AttestationPolicy.Parse(ExamplePolicies.CustomSgx).Evaluate(claims).Permitted);
    }

    [Fact]
    public void SqlPolicy_PermitsOnlySqlEnclave()
    {
        AttestationPolicy policy = AttestationPolicy.Parse(ExamplePolicies.SqlAlwaysEncrypted);
        Assert.Empty(policy.IssuanceRules);
        Assert.False(policy.Evaluate(ExamplePolicies.SgxClaims()).Permitted);

        PolicyEvaluationResult ok = policy.Evaluate(ExamplePolicies.SgxClaims(productId: 4639, svn: 2, mrsigner: ExamplePolicies.SqlMrSigner));
        Assert.True(ok.Permitted);
        Assert.Empty(ok.IssuedClaims);
        Assert.False(policy.Evaluate(ExamplePolicies.SgxClaims(debuggable: true, productId: 4639, mrsigner: ExamplePolicies.SqlMrSigner)).Permitted);
    }

    [Theory]
    [InlineData("mrsigner1", false, true)]
    [InlineData("mrsigner2", false, true)]
    [InlineData("mrsigner3", false, false)]
    [InlineData("mrsigner1", true, false)]
    [InlineData("mrsigner2", true, false)]
    public void MrSignerRotation_EitherSignerPermits(string mrsigner, bool debuggable, bool expected)
    {
        AttestationPolicy policy = AttestationPolicy.Parse(ExamplePolicies.MrSignerRotation);
        Assert.Equal(2, policy.AuthorizationRules.Count);
        Assert.Equal(expected, policy.Evaluate(ExamplePolicies.SgxClaims(debuggable, mrsigner: mrsigner)).Permitted);
    }

    [Fact]
    public void DenyAll_Denies()
    {
        AttestationPolicy policy = AttestationPolicy.Parse(ExamplePolicies.DenyAll);
        Assert.Equal(PolicyActionKind.Deny, policy.AuthorizationRules[0].Action.Kind);
        Assert.False(policy.Evaluate(ExamplePolicies.SgxClaims()).Permitted);
        Assert.False(policy.Evaluate([]).Permitted);
    }

    [Fact]
    public void Minimal_PermitsEverything()
    {
        AttestationPolicy policy = AttestationPolicy.Parse(ExamplePolicies.Minimal);
        Assert.True(policy.Evaluate([]).Permitted);
        Assert.True(policy.Evaluate(ExamplePolicies.SgxClaims(debuggable: true)).Permitted);
        Assert.True(AttestationPolicy.Parse(ExamplePolicies.GetPolicyExample).Evaluate([]).Permitted);
    }

    [Fact]
    public void TcbBaseline_ProducesConfiguration()
    {
        AttestationPolicy policy = AttestationPolicy.Parse(ExamplePolicies.TcbBaseline);
        Assert.Equal(new Version(1, 1), policy.Version);
        Assert.Single(policy.ConfigurationRules);
        PolicyEvaluationResult result = policy.Evaluate(ExamplePolicies.SgxClaims());
        Assert.True(result.Permitted);
        Assert.Equal("11", result.Configuration["x-ms-sgx-tcbidentifier"]);
        Assert.Equal(false, Assert.Single(result.IssuedClaims).Value);
    }

    [Fact]
    public void TpmV11_ConfigurationAndPlatformAttested()
    {
        AttestationPolicy policy = AttestationPolicy.Parse(ExamplePolicies.TpmV11);
        Assert.Equal(2, policy.ConfigurationRules.Count);
        List<PolicyClaim> tpm =
        [
            new("aikValidated", true), new("secureBootEnabled", true), new("bootDebuggingDisabled", true), new("notSafeMode", true),
        ];
        PolicyEvaluationResult result = policy.Evaluate(tpm);
        Assert.True(result.Permitted);
        Assert.Equal(15L, result.Configuration["required_pcr_mask"]);
        Assert.Equal(false, result.Configuration["require_valid_aik_cert"]);
        PolicyClaim issued = Assert.Single(result.IssuedClaims);
        Assert.Equal(new PolicyClaim("PlatformAttested", true, PolicyClaim.AttestationPolicyIssuer), issued);

        tpm[1] = new PolicyClaim("secureBootEnabled", false);
        PolicyEvaluationResult partial = policy.Evaluate(tpm);
        Assert.True(partial.Permitted);
        Assert.Empty(partial.IssuedClaims);
    }
}
