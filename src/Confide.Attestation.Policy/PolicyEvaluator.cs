namespace Confide.Attestation.Policy;

internal sealed class PolicyEvaluator
{
    /// <summary>Immutable identifier → claim bindings (a short linked list; rules bind few identifiers).</summary>
    private sealed record Binding(string Identifier, PolicyClaim Claim, Binding? Next)
    {
        public static PolicyClaim? Lookup(Binding? b, string identifier)
        {
            for (; b is not null; b = b.Next)
            {
                if (b.Identifier == identifier)
                {
                    return b.Claim;
                }
            }
            return null;
        }
    }

    private readonly AttestationPolicy _policy;
    private readonly List<PolicyClaim> _incoming;
    private readonly Dictionary<string, object> _configuration = new(StringComparer.Ordinal);
    private readonly List<PolicyClaim> _issued = [];
    private long _budget = AttestationPolicy.MaxEvaluationSteps;

    public PolicyEvaluator(AttestationPolicy policy, IEnumerable<PolicyClaim> incoming)
    {
        _policy = policy;
        _incoming = [];
        foreach (PolicyClaim claim in incoming)
        {
            ArgumentNullException.ThrowIfNull(claim, nameof(incoming));
            _incoming.Add(claim);
        }
    }

    public PolicyEvaluationResult Run()
    {
        foreach (PolicyRule rule in _policy.ConfigurationRules)
        {
            RunRule(rule);
        }

        bool permit = false, deny = false;
        foreach (PolicyRule rule in _policy.AuthorizationRules)
        {
            bool fired = RunRule(rule);
            if (fired && rule.Action.Kind == PolicyActionKind.Permit)
            {
                permit = true;
            }
            else if (fired && rule.Action.Kind == PolicyActionKind.Deny)
            {
                deny = true;
            }
        }

        bool permitted = permit && !deny;
        if (permitted)
        {
            foreach (PolicyRule rule in _policy.IssuanceRules)
            {
                RunRule(rule);
            }
        }

        return new PolicyEvaluationResult(
            permitted,
            _issued.ToArray(),
            new Dictionary<string, object>(_configuration, StringComparer.Ordinal),
            _incoming.ToArray());
    }

    /// <summary>Runs one rule against a snapshot of the incoming set; returns whether its conditions held.</summary>
    private bool RunRule(PolicyRule rule)
    {
        PolicyClaim[] snapshot = _incoming.ToArray();
        IEnumerable<Binding?> solutions = rule.Condition is null
            ? [null]
            : Solve(rule.Condition, null, snapshot);

        PolicyAction action = rule.Action;
        if (action.Kind is PolicyActionKind.Permit or PolicyActionKind.Deny)
        {
            return solutions.Any();
        }

        bool fired = false;
        var produced = new HashSet<PolicyClaim>();
        foreach (Binding? binding in solutions)
        {
            fired = true;
            PolicyClaim? claim = BuildClaim(action, binding);
            if (claim is null || !produced.Add(claim))
            {
                continue;
            }
            switch (action.Kind)
            {
                case PolicyActionKind.Add:
                    _incoming.Add(claim);
                    break;
                case PolicyActionKind.Issue:
                    _incoming.Add(claim);
                    _issued.Add(claim);
                    break;
                case PolicyActionKind.IssueProperty:
                    _configuration[claim.Type] = claim.Value;
                    break;
            }
        }
        return fired;
    }

    private static PolicyClaim? BuildClaim(PolicyAction action, Binding? binding)
    {
        if (action.ClaimIdentifier is not null)
        {
            PolicyClaim? bound = Binding.Lookup(binding, action.ClaimIdentifier);
            return bound is null ? null : new PolicyClaim(bound.Type, bound.Value, PolicyClaim.AttestationPolicyIssuer);
        }
        object? type = Resolve(action.ClaimType!, binding);
        object? value = Resolve(action.Value!, binding);
        return type is string t && value is not null
            ? new PolicyClaim(t, value, PolicyClaim.AttestationPolicyIssuer)
            : null;
    }

    private IEnumerable<Binding?> Solve(PolicyCondition condition, Binding? binding, PolicyClaim[] claims)
    {
        switch (condition)
        {
            case PolicyClaimCondition cc:
                foreach (PolicyClaim claim in claims)
                {
                    if (--_budget < 0)
                    {
                        throw new PolicyEvaluationException(
                            $"Policy evaluation exceeded {AttestationPolicy.MaxEvaluationSteps} claim comparisons; the policy is denied.");
                    }
                    if (Matches(cc, claim, binding))
                    {
                        if (cc.Identifier is null)
                        {
                            // Binds nothing: one witness is enough (avoids duplicate solutions).
                            yield return binding;
                            break;
                        }
                        yield return new Binding(cc.Identifier, claim, binding);
                    }
                }
                break;
            case PolicyAndCondition and:
                foreach (Binding? left in Solve(and.Left, binding, claims))
                {
                    foreach (Binding? right in Solve(and.Right, left, claims))
                    {
                        yield return right;
                    }
                }
                break;
            case PolicyOrCondition or:
                foreach (Binding? left in Solve(or.Left, binding, claims))
                {
                    yield return left;
                }
                foreach (Binding? right in Solve(or.Right, binding, claims))
                {
                    yield return right;
                }
                break;
            case PolicyNotCondition not:
                if (!Solve(not.Operand, binding, claims).Any())
                {
                    yield return binding;
                }
                break;
            case PolicyExistsCondition exists:
                if (Solve(exists.Operand, binding, claims).Any())
                {
                    yield return binding;
                }
                break;
        }
    }

    private static bool Matches(PolicyClaimCondition condition, PolicyClaim claim, Binding? binding)
    {
        foreach (PolicyPropertyCondition pc in condition.Properties)
        {
            object left = Property(claim, pc.Property);
            object? right = Resolve(pc.Operand, binding);
            if (right is null || !Compare(left, pc.Operator, right))
            {
                return false;
            }
        }
        return true;
    }

    private static object? Resolve(PolicyValueExpression expression, Binding? binding) => expression switch
    {
        PolicyLiteral literal => literal.Value,
        PolicyClaimReference reference => Binding.Lookup(binding, reference.Identifier) is { } claim
            ? Property(claim, reference.Property)
            : null,
        _ => null,
    };

    private static object Property(PolicyClaim claim, ClaimProperty property) => property switch
    {
        ClaimProperty.Type => claim.Type,
        ClaimProperty.Value => claim.Value,
        ClaimProperty.Issuer => claim.Issuer,
        _ => claim.ValueType,
    };

    internal static bool Compare(object left, ComparisonOperator op, object right)
    {
        if (left is long l && right is long r)
        {
            return op switch
            {
                ComparisonOperator.Equal => l == r,
                ComparisonOperator.NotEqual => l != r,
                ComparisonOperator.LessThan => l < r,
                ComparisonOperator.LessThanOrEqual => l <= r,
                ComparisonOperator.GreaterThan => l > r,
                _ => l >= r,
            };
        }
        bool equal = left switch
        {
            string ls => right is string rs && string.Equals(ls, rs, StringComparison.Ordinal),
            bool lb => right is bool rb && lb == rb,
            _ => false,
        };
        return op switch
        {
            ComparisonOperator.Equal => equal,
            ComparisonOperator.NotEqual => !equal,
            _ => false,
        };
    }
}
