namespace Confide.Attestation.Policy;

/// <summary>
/// Recursive-descent parser.
/// <code>
/// policy      := "version" "=" VERSION ";" [ "configurationrules" block ] "authorizationrules" block [ "issuancerules" block ] EOF
/// block       := "{" rule* "}" ";"
/// rule        := [ or ] "=>" action ";"
/// or          := and ( "||" and )*
/// and         := unary ( "&amp;&amp;" unary )*
/// unary       := "!" unary | "(" or ")" | "exists" "(" claimcond ")" | claimcond
/// claimcond   := [ IDENT ":" ] "[" propcond ( "," propcond )* "]"
/// propcond    := ("type"|"value"|"issuer"|"valueType") ("=="|"!="|"&lt;"|"&lt;="|"&gt;"|"&gt;=") operand
/// operand     := STRING | INTEGER | "true" | "false" | IDENT "." property
/// action      := NAME "(" [ arg ( "," arg )* ] ")"
/// arg         := ("type"|"value"|"claim") "=" operand
/// </code>
/// Keywords, property and action names are case-insensitive; identifiers are case-sensitive.
/// </summary>
internal sealed class PolicyParser
{
    public const int MaxNestingDepth = 64;
    public const int MaxConditionsPerRule = 256;

    private readonly List<Token> _tokens;
    private int _index;
    private int _depth;
    private Version _version = new(1, 0);
    private HashSet<string> _declared = new(StringComparer.Ordinal);
    private int _conditionCount;

    public PolicyParser(List<Token> tokens) => _tokens = tokens;

    private Token Current => _tokens[_index];

    // The token list always ends with EndOfInput, so looking past it stays there.
    private Token Peek(int offset) => _tokens[Math.Min(_index + offset, _tokens.Count - 1)];

    public AttestationPolicy ParsePolicy()
    {
        ExpectKeyword("version", "the 'version' keyword");
        Expect(TokenKind.Assign, "'=' after 'version'");
        Token v = Current;
        _version = v.Kind == TokenKind.Decimal ? v.Text switch
        {
            "1.0" => new Version(1, 0),
            "1.1" => new Version(1, 1),
            "1.2" => new Version(1, 2),
            _ => throw Error(v, $"Unsupported policy version '{v.Text}': expected 1.0, 1.1 or 1.2."),
        } : throw Error(v, $"Expected a version number (1.0, 1.1 or 1.2) but found {v.Describe()}.");
        _index++;
        Expect(TokenKind.Semicolon, "';' after the version");

        List<PolicyRule> configuration = [], authorization = [], issuance = [];
        bool sawConfiguration = false, sawAuthorization = false, sawIssuance = false;

        while (Current.Kind != TokenKind.EndOfInput)
        {
            Token t = Current;
            string name = t.Kind == TokenKind.Identifier ? t.Text.ToLowerInvariant() : string.Empty;
            switch (name)
            {
                case "configurationrules" when !sawConfiguration && !sawAuthorization && !sawIssuance:
                    if (_version < new Version(1, 1))
                    {
                        throw Error(t, "The configurationrules section requires version 1.1 or later.");
                    }
                    sawConfiguration = true;
                    _index++;
                    ParseBlock(PolicySection.ConfigurationRules, configuration);
                    break;
                case "authorizationrules" when !sawAuthorization && !sawIssuance:
                    sawAuthorization = true;
                    _index++;
                    ParseBlock(PolicySection.AuthorizationRules, authorization);
                    break;
                case "issuancerules" when sawAuthorization && !sawIssuance:
                    sawIssuance = true;
                    _index++;
                    ParseBlock(PolicySection.IssuanceRules, issuance);
                    break;
                default:
                    string expected = !sawAuthorization
                        ? (sawConfiguration || _version < new Version(1, 1)
                            ? "'authorizationrules'"
                            : "'configurationrules' or 'authorizationrules'")
                        : !sawIssuance ? "'issuancerules' or end of input" : "end of input";
                    throw Error(t, $"Expected section {expected} but found {t.Describe()}.");
            }
        }

        if (!sawAuthorization)
        {
            throw Error(Current, "Expected section 'authorizationrules' but found end of input.");
        }

        return new AttestationPolicy(_version, configuration, authorization, issuance);
    }

    private void ParseBlock(PolicySection section, List<PolicyRule> rules)
    {
        Expect(TokenKind.LeftBrace, "'{' to open the section");
        while (Current.Kind != TokenKind.RightBrace)
        {
            if (Current.Kind == TokenKind.EndOfInput)
            {
                throw Error(Current, "Expected a rule or '}' to close the section but found end of input.");
            }
            rules.Add(ParseRule(section));
        }
        _index++;
        Expect(TokenKind.Semicolon, "';' after '}' closing the section");
    }

    private PolicyRule ParseRule(PolicySection section)
    {
        Token start = Current;
        _declared = new HashSet<string>(StringComparer.Ordinal);
        _conditionCount = 0;
        PolicyCondition? condition = null;
        if (Current.Kind != TokenKind.Arrow)
        {
            if (Current.Kind is not (TokenKind.LeftBracket or TokenKind.Identifier or TokenKind.LeftParen or TokenKind.Bang))
            {
                throw Error(Current, $"Expected a rule or '}}' (a rule starts with a claim condition '[...]', '(', '!' or '=>') but found {Current.Describe()}.");
            }
            condition = ParseOr();
        }
        Expect(TokenKind.Arrow, "'=>' or '&&' after the rule's conditions");
        PolicyAction action = ParseAction(section);
        Expect(TokenKind.Semicolon, "';' after the rule's action");
        return new PolicyRule(section, condition, action, start.Position);
    }

    private PolicyCondition ParseOr()
    {
        PolicyCondition left = ParseAnd();
        while (Current.Kind == TokenKind.OrOr)
        {
            Token op = Current;
            _index++;
            left = new PolicyOrCondition(left, ParseAnd(), op.Position);
        }
        return left;
    }

    private PolicyCondition ParseAnd()
    {
        PolicyCondition left = ParseUnary();
        while (Current.Kind == TokenKind.AndAnd)
        {
            Token op = Current;
            _index++;
            left = new PolicyAndCondition(left, ParseUnary(), op.Position);
        }
        return left;
    }

    private PolicyCondition ParseUnary()
    {
        Token t = Current;
        if (++_depth > MaxNestingDepth)
        {
            throw Error(t, $"Conditions are nested too deeply (maximum depth {MaxNestingDepth}).");
        }
        try
        {
            switch (t.Kind)
            {
                case TokenKind.Bang:
                    _index++;
                    return new PolicyNotCondition(ParseUnary(), t.Position);
                case TokenKind.LeftParen:
                    _index++;
                    PolicyCondition inner = ParseOr();
                    Expect(TokenKind.RightParen, "')' to close '('");
                    return inner;
                case TokenKind.Identifier when t.Text.Equals("exists", StringComparison.OrdinalIgnoreCase) && Peek(1).Kind == TokenKind.LeftParen:
                    _index += 2;
                    PolicyClaimCondition tested = ParseClaimCondition();
                    if (tested.Identifier is not null)
                    {
                        throw Error(t, $"exists(...) only tests for a claim; it cannot name it ('{tested.Identifier}:').");
                    }
                    Expect(TokenKind.RightParen, "')' to close 'exists('");
                    return new PolicyExistsCondition(tested, t.Position);
                default:
                    return ParseClaimCondition();
            }
        }
        finally
        {
            _depth--;
        }
    }

    private PolicyClaimCondition ParseClaimCondition()
    {
        Token start = Current;
        if (++_conditionCount > MaxConditionsPerRule)
        {
            throw Error(start, $"Too many claim conditions in one rule (expected at most {MaxConditionsPerRule}).");
        }
        string? identifier = null;
        if (Current.Kind == TokenKind.Identifier)
        {
            identifier = Current.Text;
            _index++;
            Expect(TokenKind.Colon, $"':' after condition identifier '{identifier}'");
        }
        Expect(TokenKind.LeftBracket, "'[' to start a claim condition");
        var properties = new List<PolicyPropertyCondition>();
        while (true)
        {
            properties.Add(ParsePropertyCondition());
            if (Current.Kind == TokenKind.Comma)
            {
                _index++;
                continue;
            }
            Expect(TokenKind.RightBracket, "',' or ']' in the claim condition");
            break;
        }
        if (identifier is not null && !_declared.Add(identifier))
        {
            throw Error(start, $"Identifier '{identifier}' is already declared in this rule (expected a unique identifier).");
        }
        return new PolicyClaimCondition(identifier, properties, start.Position);
    }

    private PolicyPropertyCondition ParsePropertyCondition()
    {
        Token name = Current;
        ClaimProperty property = ParseProperty(name, "a claim property (type, value, issuer or valueType)");
        _index++;
        Token op = Current;
        ComparisonOperator comparison = op.Kind switch
        {
            TokenKind.Equal => ComparisonOperator.Equal,
            TokenKind.NotEqual => ComparisonOperator.NotEqual,
            TokenKind.Less => ComparisonOperator.LessThan,
            TokenKind.LessOrEqual => ComparisonOperator.LessThanOrEqual,
            TokenKind.Greater => ComparisonOperator.GreaterThan,
            TokenKind.GreaterOrEqual => ComparisonOperator.GreaterThanOrEqual,
            _ => throw Error(op, $"Expected a comparison operator (==, !=, <, <=, >, >=) but found {op.Describe()}."),
        };
        _index++;
        PolicyValueExpression operand = ParseOperand();
        if (comparison is not (ComparisonOperator.Equal or ComparisonOperator.NotEqual))
        {
            bool integerOperand = operand is PolicyLiteral { Value: long }
                || operand is PolicyClaimReference { Property: ClaimProperty.Value };
            if (property != ClaimProperty.Value || !integerOperand)
            {
                throw Error(op, $"Operator '{op.Text}' compares integers only: expected 'value {op.Text} <integer>'.");
            }
        }
        return new PolicyPropertyCondition(property, comparison, operand, name.Position);
    }

    private static ClaimProperty ParseProperty(Token t, string expected)
    {
        if (t.Kind == TokenKind.Identifier)
        {
            switch (t.Text.ToLowerInvariant())
            {
                case "type": return ClaimProperty.Type;
                case "value": return ClaimProperty.Value;
                case "issuer": return ClaimProperty.Issuer;
                case "valuetype": return ClaimProperty.ValueType;
            }
        }
        throw Error(t, $"Expected {expected} but found {t.Describe()}.");
    }

    private PolicyValueExpression ParseOperand()
    {
        Token t = Current;
        switch (t.Kind)
        {
            case TokenKind.String:
                _index++;
                return new PolicyLiteral(t.Value!, t.Position);
            case TokenKind.Integer:
                _index++;
                return new PolicyLiteral(t.Value!, t.Position);
            case TokenKind.Identifier when t.Text.Equals("true", StringComparison.OrdinalIgnoreCase):
                _index++;
                return new PolicyLiteral(true, t.Position);
            case TokenKind.Identifier when t.Text.Equals("false", StringComparison.OrdinalIgnoreCase):
                _index++;
                return new PolicyLiteral(false, t.Position);
            case TokenKind.Identifier:
                if (!_declared.Contains(t.Text))
                {
                    throw Error(t, $"Unknown identifier '{t.Text}': expected a value (string, integer, true, false) or a reference to a claim identifier declared earlier in the rule.");
                }
                _index++;
                Expect(TokenKind.Dot, $"'.' after identifier '{t.Text}' (e.g. {t.Text}.value)");
                ClaimProperty property = ParseProperty(Current, "a claim property (type, value, issuer or valueType) after '.'");
                _index++;
                return new PolicyClaimReference(t.Text, property, t.Position);
            default:
                throw Error(t, $"Expected a value (string, integer, true, false or a claim reference such as c.value) but found {t.Describe()}.");
        }
    }

    private PolicyAction ParseAction(PolicySection section)
    {
        Token name = Current;
        PolicyActionKind? kind = name.Kind == TokenKind.Identifier ? name.Text.ToLowerInvariant() switch
        {
            "permit" => PolicyActionKind.Permit,
            "deny" => PolicyActionKind.Deny,
            "add" => PolicyActionKind.Add,
            "issue" => PolicyActionKind.Issue,
            "issueproperty" => PolicyActionKind.IssueProperty,
            _ => null,
        } : null;

        PolicyActionKind[] allowed = section switch
        {
            PolicySection.ConfigurationRules => [PolicyActionKind.IssueProperty],
            PolicySection.AuthorizationRules => [PolicyActionKind.Permit, PolicyActionKind.Deny, PolicyActionKind.Add, PolicyActionKind.IssueProperty],
            _ => [PolicyActionKind.Issue, PolicyActionKind.Add, PolicyActionKind.IssueProperty],
        };
        if (kind is null || Array.IndexOf(allowed, kind.Value) < 0)
        {
            string list = string.Join(", ", allowed.Select(a => a.ToString().ToLowerInvariant() + "()"));
            throw Error(name, $"Expected an action valid in {section.ToString().ToLowerInvariant()} ({list}) but found {name.Describe()}.");
        }
        _index++;
        Expect(TokenKind.LeftParen, $"'(' after '{name.Text}'");

        if (kind is PolicyActionKind.Permit or PolicyActionKind.Deny)
        {
            Expect(TokenKind.RightParen, $"')': {name.Text}() takes no arguments");
            return new PolicyAction(kind.Value, null, null, null, name.Position);
        }

        PolicyValueExpression? type = null, value = null;
        string? claimIdentifier = null;
        while (true)
        {
            Token arg = Current;
            string argName = arg.Kind == TokenKind.Identifier ? arg.Text.ToLowerInvariant() : string.Empty;
            if (argName is not ("type" or "value" or "claim"))
            {
                throw Error(arg, $"Expected an argument name (type, value or claim) but found {arg.Describe()}.");
            }
            if ((argName == "type" && type is not null) || (argName == "value" && value is not null) || (argName == "claim" && claimIdentifier is not null))
            {
                throw Error(arg, $"Duplicate argument '{argName}' (expected each argument at most once).");
            }
            _index++;
            Expect(TokenKind.Assign, $"'=' after argument '{argName}'");
            if (argName == "claim")
            {
                Token id = Current;
                if (id.Kind != TokenKind.Identifier || !_declared.Contains(id.Text))
                {
                    throw Error(id, $"Expected a claim identifier declared in this rule's conditions but found {id.Describe()}.");
                }
                claimIdentifier = id.Text;
                _index++;
            }
            else
            {
                PolicyValueExpression operand = ParseOperand();
                if (argName == "type")
                {
                    if (operand is PolicyLiteral { Value: not string })
                    {
                        throw Error(arg, "Expected a string for argument 'type'.");
                    }
                    type = operand;
                }
                else
                {
                    value = operand;
                }
            }
            if (Current.Kind == TokenKind.Comma)
            {
                _index++;
                continue;
            }
            Expect(TokenKind.RightParen, "',' or ')' after the argument");
            break;
        }

        if (claimIdentifier is not null)
        {
            if (type is not null || value is not null)
            {
                throw Error(name, $"Expected either claim=<identifier> or type=...,value=... in {name.Text}(), not both.");
            }
            if (kind == PolicyActionKind.IssueProperty)
            {
                throw Error(name, "Expected type=... and value=... arguments in issueproperty().");
            }
        }
        else if (type is null || value is null)
        {
            throw Error(name, $"Expected both 'type' and 'value' arguments in {name.Text}().");
        }
        return new PolicyAction(kind.Value, type, value, claimIdentifier, name.Position);
    }

    private void ExpectKeyword(string keyword, string what)
    {
        Token t = Current;
        if (t.Kind != TokenKind.Identifier || !t.Text.Equals(keyword, StringComparison.OrdinalIgnoreCase))
        {
            throw Error(t, $"Expected {what} but found {t.Describe()}.");
        }
        _index++;
    }

    private void Expect(TokenKind kind, string what)
    {
        Token t = Current;
        if (t.Kind != kind)
        {
            throw Error(t, $"Expected {what} but found {t.Describe()}.");
        }
        _index++;
    }

    private static PolicyParseException Error(Token t, string message) => new(message, t.Line, t.Column);
}
