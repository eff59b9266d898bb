using System.Diagnostics;
using System.Text;

namespace Confide.Attestation.Policy.Tests;

public class LimitsAndFuzzTests
{
    private static void AssertFast(Action action, int milliseconds = 5000)
    {
        var sw = Stopwatch.StartNew();
        action();
        Assert.True(sw.ElapsedMilliseconds < milliseconds, $"took {sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void OversizedPolicyIsRejectedBeforeTokenizing()
    {
        string big = "version=1.0; authorizationrules { => permit(); };" + new string(' ', AttestationPolicy.MaxPolicyLength);
        AssertFast(() =>
        {
            PolicyParseException e = Assert.Throws<PolicyParseException>(() => AttestationPolicy.Parse(big));
            Assert.Contains("at most 262144", e.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void PolicyJustUnderTheLimitParses()
    {
        var sb = new StringBuilder("version=1.0; authorizationrules { ");
        const string rule = "[type==\"x\"] => deny();\n";
        while (sb.Length + rule.Length + 40 < AttestationPolicy.MaxPolicyLength)
        {
            sb.Append(rule);
        }
        sb.Append("=> permit(); };");
        AssertFast(() =>
        {
            AttestationPolicy p = AttestationPolicy.Parse(sb.ToString());
            Assert.True(p.AuthorizationRules.Count > 10_000);
            Assert.True(p.Evaluate(ExamplePolicies.SgxClaims()).Permitted);
        });
    }

    [Theory]
    [InlineData("!")]
    [InlineData("(")]
    [InlineData("!(")]
    public void DeepNestingIsRejected(string opener)
    {
        int count = (AttestationPolicy.MaxPolicyLength - 100) / opener.Length;
        string text = "version=1.0; authorizationrules { " + string.Concat(Enumerable.Repeat(opener, count)) + "[type==\"a\"]";
        AssertFast(() =>
        {
            PolicyParseException e = Assert.Throws<PolicyParseException>(() => AttestationPolicy.Parse(text));
            Assert.Contains("nested too deeply", e.Message, StringComparison.Ordinal);
            Assert.Equal(1, e.Line);
        });
    }

    [Fact]
    public void NestingAtTheLimitParses()
    {
        int depth = AttestationPolicy.MaxNestingDepth - 1;
        string cond = new string('(', depth) + "[type==\"a\"]" + new string(')', depth);
        AttestationPolicy p = AttestationPolicy.Parse($"version=1.0; authorizationrules {{ {cond} => permit(); }};");
        Assert.True(p.Evaluate([new PolicyClaim("a", 1L)]).Permitted);
    }

    [Fact]
    public void LongConditionChainsAreRejected()
    {
        string chain = string.Join(" && ", Enumerable.Repeat("[type==\"a\"]", 10_000));
        AssertFast(() =>
        {
            PolicyParseException e = Assert.Throws<PolicyParseException>(() =>
                AttestationPolicy.Parse($"version=1.0; authorizationrules {{ {chain} => permit(); }};"));
            Assert.Contains("Too many claim conditions", e.Message, StringComparison.Ordinal);
        });
        string ok = string.Join(" && ", Enumerable.Repeat("[type==\"a\"]", AttestationPolicy.MaxConditionsPerRule));
        Assert.True(AttestationPolicy.Parse($"version=1.0; authorizationrules {{ {ok} => permit(); }};").Evaluate([new PolicyClaim("a", 1L)]).Permitted);
    }

    [Fact]
    public void CombinatorialJoinsHitTheEvaluationBudget()
    {
        string conds = string.Join(" && ", Enumerable.Range(0, 12).Select(i => $"c{i}:[type==\"a\"]"));
        AttestationPolicy p = AttestationPolicy.Parse($"version=1.0; authorizationrules {{ => permit(); }}; issuancerules {{ {conds} => issue(type=\"x\", value=c0.value); }};");
        PolicyClaim[] claims = Enumerable.Range(0, 20).Select(i => new PolicyClaim("a", (long)i)).ToArray();
        AssertFast(() => Assert.Throws<PolicyEvaluationException>(() => p.Evaluate(claims)), 10_000);
    }

    [Fact]
    public void RandomMutationsOnlyEverThrowPolicyParseException()
    {
        var random = new Random(20261128);
        string[] fragments =
        [
            "[", "]", "(", ")", "{", "}", ";", ",", ":", ".", "=", "==", "=>", "!=", "<", ">=", "&&", "||", "!", "\"", "\u201C",
            "c", "c.value", "value", "type", "issuer", "permit()", "deny()", "issue(", "add(", "issueproperty(", "claim=c",
            "true", "false", "0", "-1", "0x", "0xFF", "99999999999999999999", "1.1", "1.2", "version=1.2;", "configurationrules",
            "authorizationrules", "issuancerules", "\n", "\r\n", "\t", " ", "\0", "\uD800", "#", "&", "|", "\\",
        ];
        var claims = ExamplePolicies.SgxClaims();
        int parsed = 0;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 4000; i++)
        {
            var text = new StringBuilder(ExamplePolicies.All[random.Next(ExamplePolicies.All.Length)]);
            int mutations = 1 + random.Next(4);
            for (int m = 0; m < mutations; m++)
            {
                int pos = random.Next(text.Length + 1);
                switch (random.Next(5))
                {
                    case 0 when text.Length > 0:
                        text.Remove(Math.Min(pos, text.Length - 1), 1 + random.Next(Math.Min(8, text.Length - Math.Min(pos, text.Length - 1))));
                        break;
                    case 1:
                        text.Insert(pos, fragments[random.Next(fragments.Length)]);
                        break;
                    case 2 when text.Length > 0:
                        text[Math.Min(pos, text.Length - 1)] = (char)random.Next(0x20, 0x7F);
                        break;
                    case 3 when text.Length > 1:
                        int a = random.Next(text.Length), b = random.Next(text.Length);
                        (text[a], text[b]) = (text[b], text[a]);
                        break;
                    default:
                        int start = random.Next(text.Length + 1);
                        int len = random.Next(Math.Min(30, text.Length - start) + 1);
                        text.Insert(pos, text.ToString(start, len));
                        break;
                }
            }

            string s = text.ToString();
            try
            {
                AttestationPolicy p = AttestationPolicy.Parse(s);
                parsed++;
                PolicyEvaluationResult r = p.Evaluate(claims);
                Assert.NotNull(r.IssuedClaims);
                Assert.True(r.Permitted || r.IssuedClaims.Count == 0);
            }
            catch (PolicyParseException e)
            {
                Assert.InRange(e.Line, 1, s.Count(ch => ch == '\n' || ch == '\r') + 1);
                Assert.InRange(e.Column, 1, s.Length + 1);
                Assert.StartsWith("Line ", e.Message, StringComparison.Ordinal);
            }
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"fuzz loop took {sw.Elapsed}");
        Assert.InRange(parsed, 1, 3999); // some mutations stay valid, most do not
    }
}
