using System.Text.Json;

namespace Confide.KeyRelease.Policies;

/// <summary>
/// A Secure Key Release policy (maa.md §5.1): <c>{"version":"1.0.0","anyOf":[authority...]}</c>,
/// each authority <c>{"authority": issuer URL, "allOf"|"anyOf": [condition...]}</c>. A key is
/// released when the token's issuer is one of the authorities and that authority's conditions hold.
/// </summary>
/// <remarks>
/// Parsing is strict: unknown or duplicate properties, unsupported values and over-deep nesting
/// are errors naming the JSON path, because a policy that reads differently from what its author
/// meant must never decide a release.
/// </remarks>
public sealed class ReleasePolicy
{
    /// <summary>The only grammar version Azure Key Vault defines.</summary>
    public const string SupportedVersion = "1.0.0";

    /// <summary>Largest policy accepted, in bytes of JSON.</summary>
    public const int MaxLength = 64 * 1024;

    /// <summary>Deepest nesting of anyOf/allOf under an authority.</summary>
    public const int MaxDepth = 16;

    /// <summary>Most conditions (groups and claims) in one policy.</summary>
    public const int MaxConditions = 1024;

    private ReleasePolicy(string version, IReadOnlyList<AuthorityRule> authorities)
    {
        Version = version;
        Authorities = authorities;
    }

    public string Version { get; }

    public IReadOnlyList<AuthorityRule> Authorities { get; }

    /// <summary>Parses the policy JSON.</summary>
    /// <exception cref="ReleasePolicyException">Not valid JSON, or not the grammar; the message names the path.</exception>
    public static ReleasePolicy Parse(ReadOnlySpan<byte> json)
    {
        if (json.Length > MaxLength)
        {
            throw new ReleasePolicyException("$", $"the policy is {json.Length} bytes; at most {MaxLength} are accepted.");
        }

        JsonElement root;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 2 * MaxDepth + 8 });
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new ReleasePolicyException("$", $"not valid JSON: {ex.Message}");
        }

        var parser = new Parser();
        return parser.Policy(root);
    }

    /// <summary>
    /// Decides a release for a verified token: permitted when an authority equal to
    /// <paramref name="issuer"/> (ignoring one trailing slash) has its conditions met by <paramref name="claims"/>.
    /// The reason names what failed, never the values the policy expects.
    /// </summary>
    public ReleaseDecision Evaluate(string issuer, JsonElement claims)
    {
        string? failure = null;
        bool anyAuthority = false;
        foreach (AuthorityRule rule in Authorities)
        {
            if (!AuthorityRule.Matches(rule.Authority, issuer))
            {
                continue;
            }

            anyAuthority = true;
            ConditionResult result = rule.Conditions.Evaluate(claims);
            if (result.Met)
            {
                return new ReleaseDecision(true, $"{rule.Path} (authority {rule.Authority}) is met.");
            }

            failure ??= result.Failure;
        }

        return anyAuthority
            ? new ReleaseDecision(false, $"The release policy is not met: {failure}")
            : new ReleaseDecision(false, $"No authority of the release policy is the token's issuer '{issuer}' (the policy names {string.Join(", ", Authorities.Select(a => $"'{a.Authority}'"))}).");
    }

    /// <summary>The grammar, one method per production; counts conditions and depth as it goes.</summary>
    private sealed class Parser
    {
        private int _conditions;

        public ReleasePolicy Policy(JsonElement root)
        {
            Dictionary<string, JsonElement> properties = Properties(root, "$", ["version", "anyOf"]);
            if (!properties.TryGetValue("version", out JsonElement version) || version.ValueKind != JsonValueKind.String)
            {
                throw new ReleasePolicyException("$.version", $"required, the string \"{SupportedVersion}\".");
            }

            if (version.GetString() != SupportedVersion)
            {
                throw new ReleasePolicyException("$.version", $"'{version.GetString()}' is not supported; the only version is \"{SupportedVersion}\".");
            }

            if (!properties.TryGetValue("anyOf", out JsonElement anyOf))
            {
                throw new ReleasePolicyException("$.anyOf", "required: an array of authorities ({\"authority\": ..., \"allOf\"|\"anyOf\": [...]}).");
            }

            List<JsonElement> items = NonEmptyArray(anyOf, "$.anyOf");
            var authorities = new List<AuthorityRule>(items.Count);
            for (int i = 0; i < items.Count; i++)
            {
                authorities.Add(Authority(items[i], $"$.anyOf[{i}]"));
            }

            return new ReleasePolicy(SupportedVersion, authorities);
        }

        private AuthorityRule Authority(JsonElement element, string path)
        {
            Dictionary<string, JsonElement> properties = Properties(element, path, ["authority", "allOf", "anyOf"]);
            if (!properties.TryGetValue("authority", out JsonElement authority) || authority.ValueKind != JsonValueKind.String)
            {
                throw new ReleasePolicyException($"{path}.authority", "required: the attestation authority's URL (the tokens' 'iss').");
            }

            string url = authority.GetString()!;
            if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? parsed) || (parsed.Scheme != Uri.UriSchemeHttps && parsed.Scheme != Uri.UriSchemeHttp))
            {
                throw new ReleasePolicyException($"{path}.authority", $"'{url}' is not an absolute http(s) URL.");
            }

            ReleaseCondition conditions = Group(properties, path, depth: 1)
                ?? throw new ReleasePolicyException(path, "an authority needs its conditions in 'allOf' or 'anyOf'.");
            return new AuthorityRule(path, url, conditions);
        }

        /// <summary>The allOf / anyOf of an object (exactly one of them), or null when it has neither.</summary>
        private ReleaseCondition? Group(Dictionary<string, JsonElement> properties, string path, int depth)
        {
            bool all = properties.TryGetValue("allOf", out JsonElement allOf);
            bool any = properties.TryGetValue("anyOf", out JsonElement anyOf);
            if (all && any)
            {
                throw new ReleasePolicyException(path, "has both 'allOf' and 'anyOf'; use one (nest the other inside it).");
            }

            if (!all && !any)
            {
                return null;
            }

            if (depth > MaxDepth)
            {
                throw new ReleasePolicyException(path, $"nests deeper than {MaxDepth} levels of allOf/anyOf.");
            }

            string groupPath = path + (all ? ".allOf" : ".anyOf");
            List<JsonElement> items = NonEmptyArray(all ? allOf : anyOf, groupPath);
            var children = new List<ReleaseCondition>(items.Count);
            for (int i = 0; i < items.Count; i++)
            {
                children.Add(Condition(items[i], $"{groupPath}[{i}]", depth));
            }

            Count(groupPath);
            return all ? new AllOfCondition(groupPath, children) : new AnyOfCondition(groupPath, children);
        }

        private ReleaseCondition Condition(JsonElement element, string path, int depth)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw new ReleasePolicyException(path, "a condition is an object: {\"claim\": ..., <operator>: value}, or {\"allOf\"|\"anyOf\": [...]}.");
            }

            bool isClaim = element.TryGetProperty("claim", out _);
            bool isGroup = element.TryGetProperty("allOf", out _) || element.TryGetProperty("anyOf", out _);
            if (isClaim == isGroup)
            {
                throw new ReleasePolicyException(path, isClaim
                    ? "mixes 'claim' with 'allOf'/'anyOf'; a condition is one or the other."
                    : "a condition needs 'claim' (with an operator) or 'allOf'/'anyOf'.");
            }

            if (isGroup)
            {
                return Group(Properties(element, path, ["allOf", "anyOf"]), path, depth + 1)!;
            }

            string[] allowed = ["claim", "condition", "value", .. ClaimConditionOperators.Names];
            Dictionary<string, JsonElement> properties = Properties(element, path, allowed);
            JsonElement claim = properties["claim"];
            if (claim.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(claim.GetString()) || claim.GetString()!.Length > 512)
            {
                throw new ReleasePolicyException($"{path}.claim", "must be a claim name (dot notation for nested claims), 1 to 512 characters.");
            }

            Count(path);
            string claimName = claim.GetString()!;
            string[] operators = [.. properties.Keys.Where(k => ClaimConditionOperators.Names.Contains(k))];
            if (properties.ContainsKey("condition"))
            {
                return Legacy(properties, path, claimName, operators);
            }

            if (properties.ContainsKey("value"))
            {
                throw new ReleasePolicyException($"{path}.value", "'value' belongs to the legacy form {\"claim\", \"condition\", \"value\"}; write {\"claim\": ..., \"equals\": value} instead.");
            }

            if (operators.Length != 1)
            {
                throw new ReleasePolicyException(path, operators.Length == 0
                    ? $"claim '{claimName}' has no operator; use one of {string.Join(", ", ClaimConditionOperators.Names)}."
                    : $"claim '{claimName}' has {operators.Length} operators ({string.Join(", ", operators)}); use exactly one (combine conditions with allOf).");
            }

            ClaimOperator op = ClaimConditionOperators.Parse(operators[0]);
            return new ClaimCondition(path, claimName, op, Value(properties[operators[0]], $"{path}.{operators[0]}", op));
        }

        private static ClaimCondition Legacy(Dictionary<string, JsonElement> properties, string path, string claimName, string[] operators)
        {
            if (operators.Length > 0)
            {
                throw new ReleasePolicyException(path, $"mixes the legacy 'condition' with the operator '{operators[0]}'; use one form.");
            }

            JsonElement condition = properties["condition"];
            if (condition.ValueKind != JsonValueKind.String || !ClaimConditionOperators.Names.Contains(condition.GetString()!))
            {
                throw new ReleasePolicyException($"{path}.condition", $"must be one of {string.Join(", ", ClaimConditionOperators.Names)}.");
            }

            ClaimOperator op = ClaimConditionOperators.Parse(condition.GetString()!);
            if (!properties.TryGetValue("value", out JsonElement value))
            {
                if (op != ClaimOperator.Exists)
                {
                    throw new ReleasePolicyException($"{path}.value", $"required with condition '{condition.GetString()}'.");
                }

                using JsonDocument yes = JsonDocument.Parse("true");
                value = yes.RootElement.Clone();
            }

            return new ClaimCondition(path, claimName, op, Value(value, $"{path}.value", op));
        }

        private static JsonElement Value(JsonElement value, string path, ClaimOperator op)
        {
            switch (op)
            {
                case ClaimOperator.Exists when value.ValueKind is not (JsonValueKind.True or JsonValueKind.False):
                    throw new ReleasePolicyException(path, "'exists' takes true (the claim must be present) or false (it must be absent).");
                case ClaimOperator.LessThan or ClaimOperator.LessThanOrEqual or ClaimOperator.GreaterThan or ClaimOperator.GreaterThanOrEqual when value.ValueKind != JsonValueKind.Number:
                    throw new ReleasePolicyException(path, $"'{ClaimConditionOperators.Name(op)}' compares numbers; the value must be a number, not {Describe(value.ValueKind)}.");
                case ClaimOperator.EqualTo or ClaimOperator.NotEqualTo when value.ValueKind is not (JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False):
                    throw new ReleasePolicyException(path, $"the value must be a string, number or boolean, not {Describe(value.ValueKind)} (objects and arrays are not supported).");
                default:
                    return value.Clone();
            }
        }

        private void Count(string path)
        {
            if (++_conditions > MaxConditions)
            {
                throw new ReleasePolicyException(path, $"the policy has more than {MaxConditions} conditions.");
            }
        }

        private static List<JsonElement> NonEmptyArray(JsonElement element, string path)
        {
            if (element.ValueKind != JsonValueKind.Array)
            {
                throw new ReleasePolicyException(path, $"must be an array, not {Describe(element.ValueKind)}.");
            }

            List<JsonElement> items = [.. element.EnumerateArray()];
            return items.Count > 0 ? items : throw new ReleasePolicyException(path, "must not be empty.");
        }

        /// <summary>The object's properties, refusing anything not in <paramref name="allowed"/> and duplicates.</summary>
        private static Dictionary<string, JsonElement> Properties(JsonElement element, string path, string[] allowed)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw new ReleasePolicyException(path, $"must be an object, not {Describe(element.ValueKind)}.");
            }

            var properties = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (JsonProperty property in element.EnumerateObject())
            {
                if (!allowed.Contains(property.Name, StringComparer.Ordinal))
                {
                    throw new ReleasePolicyException($"{path}.{property.Name}", $"unknown property; allowed here: {string.Join(", ", allowed)}.");
                }

                if (!properties.TryAdd(property.Name, property.Value))
                {
                    throw new ReleasePolicyException($"{path}.{property.Name}", "appears twice.");
                }
            }

            return properties;
        }

        private static string Describe(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Null => "null",
            _ => kind.ToString(),
        };
    }
}

/// <summary>The outcome of evaluating a release policy, and why.</summary>
public sealed record ReleaseDecision(bool Permitted, string Reason);

/// <summary>A release policy that does not parse: <see cref="Path"/> is where, in JSON-path notation.</summary>
public sealed class ReleasePolicyException(string path, string problem) : Exception($"release policy {path}: {problem}")
{
    public string Path { get; } = path;

    /// <summary>What is wrong at <see cref="Path"/>.</summary>
    public string Problem { get; } = problem;
}
