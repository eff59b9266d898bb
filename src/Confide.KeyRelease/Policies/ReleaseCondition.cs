using System.Text.Json;

namespace Confide.KeyRelease.Policies;

/// <summary>The operators of a claim condition (their JSON names: equals, notEquals, less, ...).</summary>
public enum ClaimOperator
{
    EqualTo,
    NotEqualTo,
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
    Exists,
}

/// <summary>Maps operators to the names the grammar uses.</summary>
public static class ClaimConditionOperators
{
    public static readonly IReadOnlyList<string> Names = ["equals", "notEquals", "less", "lessOrEquals", "greater", "greaterOrEquals", "exists"];

    public static string Name(ClaimOperator op) => Names[(int)op];

    public static ClaimOperator Parse(string name)
    {
        int index = Names.ToList().IndexOf(name);
        return index >= 0 ? (ClaimOperator)index : throw new ArgumentException($"'{name}' is not a claim operator.", nameof(name));
    }
}

/// <summary>Whether a condition holds and, if not, the first reason (a path and a claim, no expected values).</summary>
public readonly record struct ConditionResult(bool Met, string? Failure)
{
    public static readonly ConditionResult Yes = new(true, null);

    public static ConditionResult No(string failure) => new(false, failure);
}

/// <summary>A node of a release policy; <see cref="Path"/> is its JSON path in the policy.</summary>
public abstract record ReleaseCondition(string Path)
{
    /// <summary>Evaluates against a token's claims (the JWT payload object).</summary>
    public abstract ConditionResult Evaluate(JsonElement claims);
}

/// <summary>Every condition must hold.</summary>
public sealed record AllOfCondition(string Path, IReadOnlyList<ReleaseCondition> Conditions) : ReleaseCondition(Path)
{
    public override ConditionResult Evaluate(JsonElement claims)
    {
        foreach (ReleaseCondition condition in Conditions)
        {
            ConditionResult result = condition.Evaluate(claims);
            if (!result.Met)
            {
                return result;
            }
        }

        return ConditionResult.Yes;
    }
}

/// <summary>At least one condition must hold.</summary>
public sealed record AnyOfCondition(string Path, IReadOnlyList<ReleaseCondition> Conditions) : ReleaseCondition(Path)
{
    public override ConditionResult Evaluate(JsonElement claims)
    {
        string? first = null;
        foreach (ReleaseCondition condition in Conditions)
        {
            ConditionResult result = condition.Evaluate(claims);
            if (result.Met)
            {
                return result;
            }

            first ??= result.Failure;
        }

        return ConditionResult.No($"no alternative of {Path} holds (the first: {first})");
    }
}

/// <summary>
/// <c>{"claim": name, op: value}</c>. A missing claim makes every operator false except
/// <c>exists: false</c>. Values compare only with values of the same JSON type (strings ordinally,
/// case-sensitive; numbers by value; booleans); a claim of another type, an object or an array
/// makes the condition false, <c>notEquals</c> included: a claim that is not what the author
/// expected never opens a key.
/// </summary>
public sealed record ClaimCondition(string Path, string Claim, ClaimOperator Operator, JsonElement Value) : ReleaseCondition(Path)
{
    public override ConditionResult Evaluate(JsonElement claims)
    {
        bool present = TryFind(claims, Claim, out JsonElement actual);
        string op = ClaimConditionOperators.Name(Operator);
        if (Operator == ClaimOperator.Exists)
        {
            bool wanted = Value.ValueKind == JsonValueKind.True;
            return present == wanted
                ? ConditionResult.Yes
                : ConditionResult.No($"{Path}: claim '{Claim}' must {(wanted ? "be present" : "be absent")}");
        }

        if (!present)
        {
            return ConditionResult.No($"{Path}: the token has no claim '{Claim}' ({op})");
        }

        int? comparison = Compare(actual, Value);
        bool met = comparison is { } c && Operator switch
        {
            ClaimOperator.EqualTo => c == 0,
            ClaimOperator.NotEqualTo => c != 0,
            ClaimOperator.LessThan => c < 0,
            ClaimOperator.LessThanOrEqual => c <= 0,
            ClaimOperator.GreaterThan => c > 0,
            ClaimOperator.GreaterThanOrEqual => c >= 0,
            _ => false,
        };
        return met
            ? ConditionResult.Yes
            : ConditionResult.No(comparison is null
                ? $"{Path}: claim '{Claim}' is {Kind(actual)}, which '{op}' does not compare with the policy's {Kind(Value)}"
                : $"{Path}: claim '{Claim}' {op} is not met");
    }

    /// <summary>
    /// Finds a claim by its full name first (claim names may contain dots), else by walking the
    /// dot-separated path through nested objects (e.g. <c>x-ms-isolation-tee.x-ms-attestation-type</c>).
    /// </summary>
    public static bool TryFind(JsonElement claims, string name, out JsonElement value)
    {
        value = default;
        if (claims.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (claims.TryGetProperty(name, out value))
        {
            return true;
        }

        JsonElement current = claims;
        foreach (string segment in name.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(segment, out current))
            {
                value = default;
                return false;
            }
        }

        value = current;
        return true;
    }

    /// <summary>The order of <paramref name="actual"/> relative to <paramref name="expected"/>, or null when they are not comparable.</summary>
    private static int? Compare(JsonElement actual, JsonElement expected)
    {
        switch (actual.ValueKind)
        {
            case JsonValueKind.String when expected.ValueKind == JsonValueKind.String:
                return Math.Sign(string.CompareOrdinal(actual.GetString(), expected.GetString()));
            case JsonValueKind.Number when expected.ValueKind == JsonValueKind.Number:
                if (actual.TryGetDecimal(out decimal a) && expected.TryGetDecimal(out decimal b))
                {
                    return a.CompareTo(b);
                }

                return actual.GetDouble().CompareTo(expected.GetDouble());
            case JsonValueKind.True or JsonValueKind.False when expected.ValueKind is JsonValueKind.True or JsonValueKind.False:
                return actual.ValueKind == expected.ValueKind ? 0 : 1;
            default:
                return null;
        }
    }

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Number => "a number",
        JsonValueKind.String => "a string",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => "null",
    };
}

/// <summary>One authority of the policy and the conditions its tokens must meet.</summary>
public sealed record AuthorityRule(string Path, string Authority, ReleaseCondition Conditions)
{
    /// <summary>The policy's authority and a token's issuer are the same, ignoring one trailing slash on either.</summary>
    public static bool Matches(string authority, string issuer) =>
        string.Equals(TrimOneSlash(authority), TrimOneSlash(issuer), StringComparison.Ordinal);

    private static string TrimOneSlash(string url) => url.EndsWith('/') ? url[..^1] : url;
}
