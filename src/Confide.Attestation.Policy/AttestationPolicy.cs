using System.Diagnostics.CodeAnalysis;

namespace Confide.Attestation.Policy;

/// <summary>
/// A parsed Microsoft Azure Attestation (MAA) policy (text format, maa.md §3).
/// </summary>
/// <remarks>
/// <para><b>Syntax.</b> <c>version=1.0;</c> (1.0, 1.1 or 1.2) followed by, in this order,
/// an optional <c>configurationrules { ... };</c> (1.1+ only), a mandatory
/// <c>authorizationrules { ... };</c> and an optional <c>issuancerules { ... };</c>. Keywords are
/// case-insensitive; whitespace is free. A rule is <c>[conditions] =&gt; action;</c> or the
/// unconditional <c>=&gt; action;</c>. A claim condition is <c>[prop op operand, ...]</c>, optionally
/// named <c>c:[...]</c>; properties are <c>type</c>, <c>value</c>, <c>issuer</c>, <c>valueType</c>;
/// operands are strings, integers (decimal or 0x hex), <c>true</c>/<c>false</c>, or a reference
/// <c>id.value</c> (etc.) to a claim named earlier in the same rule. <c>==</c>/<c>!=</c> apply to
/// every type; <c>&lt; &lt;= &gt; &gt;=</c> only to <c>value</c> against an integer (rejected at
/// parse time otherwise). Conditions combine with <c>&amp;&amp;</c> (MAA grammar, maa.md §3.2),
/// <c>!</c> (MAA 1.2 negated conditions, §3.1; accepted in every version), <c>exists([...])</c>
/// (true when some claim matches, binding nothing, as in the claim-rule language MAA's derives
/// from), and, as an extension
/// not in the MAA docs, <c>||</c> and parentheses. Actions per section:
/// configurationrules: <c>issueproperty</c>; authorizationrules: <c>permit()</c>, <c>deny()</c>,
/// <c>add</c>, <c>issueproperty</c>; issuancerules: <c>issue</c>, <c>add</c>, <c>issueproperty</c>.
/// <c>add</c>/<c>issue</c> take <c>type=..., value=...</c> or <c>claim=id</c>; <c>issueproperty</c>
/// takes <c>type=..., value=...</c>. There are no comments. Not supported: MAA 1.2 functions
/// (<c>JmesPath</c>, <c>JsonToClaimValue</c>, ...), the <c>valueType</c> action argument.</para>
/// <para><b>Limits.</b> At most <see cref="MaxPolicyLength"/> characters and
/// <see cref="MaxNestingDepth"/> nested <c>!</c>/parentheses, and <see cref="MaxConditionsPerRule"/>
/// claim conditions per rule; exceeding any throws
/// <see cref="PolicyParseException"/> (the parser never recurses deeper than that).</para>
/// </remarks>
public sealed class AttestationPolicy
{
    /// <summary>Maximum policy text length in UTF-16 characters (256 KiB).</summary>
    public const int MaxPolicyLength = 256 * 1024;

    /// <summary>Maximum number of claim conditions (<c>[...]</c>) in one rule.</summary>
    public const int MaxConditionsPerRule = PolicyParser.MaxConditionsPerRule;

    /// <summary>
    /// Maximum claim-against-condition checks in one <see cref="Evaluate"/> call; joins over many
    /// identifiers are combinatorial, so evaluation stops with <see cref="PolicyEvaluationException"/>.
    /// </summary>
    public const long MaxEvaluationSteps = 1_000_000;

    /// <summary>Maximum nesting depth of condition expressions.</summary>
    public const int MaxNestingDepth = PolicyParser.MaxNestingDepth;

    internal AttestationPolicy(
        Version version,
        IReadOnlyList<PolicyRule> configurationRules,
        IReadOnlyList<PolicyRule> authorizationRules,
        IReadOnlyList<PolicyRule> issuanceRules)
    {
        Version = version;
        ConfigurationRules = configurationRules;
        AuthorizationRules = authorizationRules;
        IssuanceRules = issuanceRules;
    }

    /// <summary>The grammar version: 1.0, 1.1 or 1.2.</summary>
    public Version Version { get; }

    /// <summary>Rules of the <c>configurationrules</c> section (empty if absent).</summary>
    public IReadOnlyList<PolicyRule> ConfigurationRules { get; }

    /// <summary>Rules of the <c>authorizationrules</c> section.</summary>
    public IReadOnlyList<PolicyRule> AuthorizationRules { get; }

    /// <summary>Rules of the <c>issuancerules</c> section (empty if absent).</summary>
    public IReadOnlyList<PolicyRule> IssuanceRules { get; }

    /// <summary>Parses policy text.</summary>
    /// <exception cref="PolicyParseException">The text is not a valid policy or exceeds a limit.</exception>
    public static AttestationPolicy Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxPolicyLength)
        {
            throw new PolicyParseException(
                $"Policy is {text.Length} characters long; expected at most {MaxPolicyLength}.", 1, 1);
        }
        List<Token> tokens = new PolicyLexer(text).Tokenize();
        return new PolicyParser(tokens).ParsePolicy();
    }

    /// <summary>Parses policy text; returns false (and the error) instead of throwing.</summary>
    public static bool TryParse(
        [NotNullWhen(true)] string? text,
        [NotNullWhen(true)] out AttestationPolicy? policy,
        out PolicyParseException? error)
    {
        policy = null;
        error = null;
        if (text is null)
        {
            error = new PolicyParseException("Expected policy text but found null.", 1, 1);
            return false;
        }
        try
        {
            policy = Parse(text);
            return true;
        }
        catch (PolicyParseException e)
        {
            error = e;
            return false;
        }
    }

    /// <summary>Parses policy text; returns false instead of throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out AttestationPolicy? policy)
        => TryParse(text, out policy, out _);

    /// <summary>
    /// Evaluates the policy against the incoming claims.
    /// </summary>
    /// <remarks>
    /// Exact semantics implemented:
    /// <list type="number">
    /// <item>Sections run in order configurationrules → authorizationrules → issuancerules
    /// (maa.md §3.1: authorization rules are "evaluated first" and decide whether to proceed to
    /// issuance rules). Within a section rules run in text order (§3.1 "Rules are applied in order").</item>
    /// <item>Each rule sees the incoming set as it is when the rule starts, including claims that
    /// earlier rules produced with <c>add</c> or <c>issue</c> (§3.2: add "adds to incoming set for
    /// later rules"; issue goes to "incoming + outgoing").</item>
    /// <item>A claim condition holds if at least one claim satisfies all its property conditions
    /// (§3.2); an omitted property (e.g. <c>issuer</c>) is unconstrained. <c>a &amp;&amp; b</c> holds if
    /// some binding satisfies <c>a</c> and then <c>b</c> (identifier bindings from <c>a</c> are
    /// visible in <c>b</c>; all combinations are tried). <c>a || b</c> yields the solutions of either;
    /// <c>!a</c> holds if <c>a</c> has no solution and binds nothing. A reference to an identifier
    /// that is not bound on the current path makes its comparison false.</item>
    /// <item>Comparisons are typed: values of different types are never equal (<c>!=</c> is then
    /// true), strings compare ordinally (case-sensitive), ordering operators are false unless both
    /// sides are integers.</item>
    /// <item>Authorization: every authorization rule is evaluated. The result is <em>permitted</em>
    /// iff at least one <c>permit()</c> rule fired and no <c>deny()</c> rule fired. A policy
    /// without a matching <c>permit()</c> is denied (§3.1: no token without a matching permit).
    /// "Deny overrides permit regardless of order" is not stated in maa.md; it is this library's
    /// fail-closed reading [inferred].</item>
    /// <item>Issuance rules run only if permitted; otherwise <see cref="PolicyEvaluationResult.IssuedClaims"/>
    /// is empty. <c>add</c>/<c>issue</c>/<c>issueproperty</c> fire once per distinct produced claim
    /// over all condition solutions (so <c>c:[type=="x"] =&gt; issue(claim=c);</c> issues every
    /// claim of type x). Produced claims carry issuer <c>AttestationPolicy</c> (§3.2 example);
    /// a literal's value type is its literal type (§3.2: <c>value=100</c> is Integer).</item>
    /// <item>More than <see cref="MaxEvaluationSteps"/> claim checks throw
    /// <see cref="PolicyEvaluationException"/>; callers must treat it as not permitted.</item>
    /// <item><c>issueproperty(type=t, value=v)</c> sets <c>Configuration[t] = v</c> (later wins);
    /// no defaults are filled in.</item>
    /// </list>
    /// </remarks>
    /// <exception cref="PolicyEvaluationException">Evaluation exceeded <see cref="MaxEvaluationSteps"/>.</exception>
    public PolicyEvaluationResult Evaluate(IEnumerable<PolicyClaim> incoming)
    {
        ArgumentNullException.ThrowIfNull(incoming);
        return new PolicyEvaluator(this, incoming).Run();
    }
}
