namespace Confide.Attestation.Policy;

/// <summary>The sections of a policy (maa.md §3.1).</summary>
public enum PolicySection
{
    ConfigurationRules,
    AuthorizationRules,
    IssuanceRules,
}

/// <summary>A claim property usable in a claim condition or a claim reference (maa.md §3.2).</summary>
public enum ClaimProperty
{
    Type,
    Value,
    Issuer,
    ValueType,
}

/// <summary>Comparison operators of a claim property condition.</summary>
public enum ComparisonOperator
{
    Equal,
    NotEqual,
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
}

/// <summary>Rule actions (maa.md §3.2).</summary>
public enum PolicyActionKind
{
    Permit,
    Deny,
    Add,
    Issue,
    IssueProperty,
}

/// <summary>Source position (1-based line and column) of a policy element.</summary>
public readonly record struct PolicyPosition(int Line, int Column)
{
    public override string ToString() => $"{Line}:{Column}";
}

/// <summary>An operand: a literal or a reference to a property of a claim bound by an identifier.</summary>
public abstract record PolicyValueExpression(PolicyPosition Position);

/// <summary>A literal <see cref="string"/>, <see cref="bool"/> or <see cref="long"/>.</summary>
public sealed record PolicyLiteral(object Value, PolicyPosition Position) : PolicyValueExpression(Position)
{
    public override string ToString() => PolicyClaim.FormatValue(Value);
}

/// <summary><c>c.value</c>: a property of the claim bound to identifier <c>c</c> in the same rule.</summary>
public sealed record PolicyClaimReference(string Identifier, ClaimProperty Property, PolicyPosition Position)
    : PolicyValueExpression(Position)
{
    public override string ToString() => $"{Identifier}.{Property.ToString().ToLowerInvariant()}";
}

/// <summary><c>value &gt;= 0</c> inside a claim condition.</summary>
public sealed record PolicyPropertyCondition(
    ClaimProperty Property,
    ComparisonOperator Operator,
    PolicyValueExpression Operand,
    PolicyPosition Position);

/// <summary>A rule condition expression.</summary>
public abstract record PolicyCondition(PolicyPosition Position);

/// <summary>
/// <c>c:[type=="x", value==1]</c>: true when at least one claim satisfies every property condition;
/// the optional identifier binds that claim for later conditions and the action.
/// </summary>
public sealed record PolicyClaimCondition(
    string? Identifier,
    IReadOnlyList<PolicyPropertyCondition> Properties,
    PolicyPosition Position) : PolicyCondition(Position);

/// <summary><c>left &amp;&amp; right</c>.</summary>
public sealed record PolicyAndCondition(PolicyCondition Left, PolicyCondition Right, PolicyPosition Position)
    : PolicyCondition(Position);

/// <summary><c>left || right</c> (extension; see <see cref="AttestationPolicy"/>).</summary>
public sealed record PolicyOrCondition(PolicyCondition Left, PolicyCondition Right, PolicyPosition Position)
    : PolicyCondition(Position);

/// <summary><c>!operand</c>: true when the operand has no match; binds nothing.</summary>
public sealed record PolicyNotCondition(PolicyCondition Operand, PolicyPosition Position)
    : PolicyCondition(Position);

/// <summary><c>exists([type=="x"])</c>: true when at least one claim matches; binds nothing.</summary>
public sealed record PolicyExistsCondition(PolicyClaimCondition Operand, PolicyPosition Position)
    : PolicyCondition(Position);

/// <summary>
/// A rule action. <see cref="ClaimIdentifier"/> is set for <c>issue(claim=c)</c>/<c>add(claim=c)</c>;
/// otherwise <see cref="ClaimType"/> and <see cref="Value"/> are set for add/issue/issueproperty.
/// </summary>
public sealed record PolicyAction(
    PolicyActionKind Kind,
    PolicyValueExpression? ClaimType,
    PolicyValueExpression? Value,
    string? ClaimIdentifier,
    PolicyPosition Position);

/// <summary><c>[conditions] =&gt; action;</c>. <see cref="Condition"/> is null for an unconditional rule.</summary>
public sealed record PolicyRule(PolicySection Section, PolicyCondition? Condition, PolicyAction Action, PolicyPosition Position);
