namespace Confide.Attestation.Policy.Tests;

public class ParseErrorTests
{
    private static PolicyParseException Fail(string text)
    {
        PolicyParseException e = Assert.Throws<PolicyParseException>(() => AttestationPolicy.Parse(text));
        Assert.False(AttestationPolicy.TryParse(text, out AttestationPolicy? p, out PolicyParseException? err));
        Assert.Null(p);
        Assert.Equal(e.Message, err!.Message);
        return e;
    }

    [Theory]
    // Missing semicolon after the version: reported at the next token.
    [InlineData("version=1.0\nauthorizationrules { => permit(); };", 2, 1, "';' after the version")]
    // Missing semicolon after a rule's action: reported at '}'.
    [InlineData("version=1.0;\nauthorizationrules {\n    => permit()\n};", 4, 1, "';' after the rule's action")]
    // Missing semicolon after a section.
    [InlineData("version=1.0;\nauthorizationrules { => permit(); }\nissuancerules { };", 3, 1, "';' after '}' closing the section")]
    // Unknown section.
    [InlineData("version=1.0;\nauthorizationrules { => permit(); };\nissuingrules { };", 3, 1, "'issuancerules' or end of input")]
    [InlineData("version=1.0;\npolicyrules { };", 2, 1, "'authorizationrules'")]
    // configurationrules needs 1.1.
    [InlineData("version=1.0;\nconfigurationrules { };", 2, 1, "requires version 1.1")]
    // Bad operators.
    [InlineData("version=1.0; authorizationrules {\n  [type=\"x\"] => permit(); };", 2, 8, "comparison operator")]
    [InlineData("version=1.0; authorizationrules {\n  [type==\"x\", value=<3] => permit(); };", 2, 20, "comparison operator")]
    [InlineData("version=1.0; authorizationrules {\n  [type==\"x\", value===3] => permit(); };", 2, 22, "Expected a value")]
    [InlineData("version=1.0; authorizationrules {\n  [type>=\"x\"] => permit(); };", 2, 8, "compares integers only")]
    [InlineData("version=1.0; authorizationrules {\n  [type==\"x\"] & [type==\"y\"] => permit(); };", 2, 15, "'&&'")]
    // Unterminated strings: reported at the opening quote.
    [InlineData("version=1.0; authorizationrules {\n  [type==\"x-ms-sgx-svn, value>=0] => permit(); };", 2, 10, "Unterminated string")]
    [InlineData("version=1.0; authorizationrules {\n  [type==\"abc", 2, 10, "closing '\"'")]
    // Missing brackets.
    [InlineData("version=1.0; authorizationrules {\n  [type==\"x\" => permit(); };", 2, 14, "',' or ']'")]
    [InlineData("version=1.0; authorizationrules {\n  type==\"x\"] => permit(); };", 2, 7, "':' after condition identifier")]
    [InlineData("version=1.0; authorizationrules {\n  ([type==\"x\"] => permit(); };", 2, 16, "')' to close '('")]
    [InlineData("version=1.0; authorizationrules {\n  => permit(); ;", 2, 16, "a rule or '}'")]
    [InlineData("version=1.0; authorizationrules {\n  => permit();\n", 3, 1, "end of input")]
    [InlineData("version=1.0; authorizationrules \n  => permit(); };", 2, 3, "'{' to open the section")]
    // Versions, actions, identifiers.
    [InlineData("version=2.0; authorizationrules { };", 1, 9, "expected 1.0, 1.1 or 1.2")]
    [InlineData("version 1.0;", 1, 9, "'=' after 'version'")]
    [InlineData("authorizationrules { };", 1, 1, "'version'")]
    [InlineData("", 1, 1, "'version'")]
    [InlineData("version=1.0;", 1, 13, "'authorizationrules'")]
    [InlineData("version=1.0; authorizationrules { => issue(type=\"a\", value=1); };", 1, 38, "permit(), deny()")]
    [InlineData("version=1.0; authorizationrules { => permit(1); };", 1, 45, "takes no arguments")]
    [InlineData("version=1.0; authorizationrules { => permit(); }; issuancerules { => permit(); };", 1, 70, "issue(), add()")]
    [InlineData("version=1.0; authorizationrules { => permit(); }; issuancerules { => issue(type=\"a\"); };", 1, 70, "both 'type' and 'value'")]
    [InlineData("version=1.0; authorizationrules { => permit(); }; issuancerules { => issue(type=\"a\", value=c.value); };", 1, 92, "Unknown identifier 'c'")]
    [InlineData("version=1.0; authorizationrules { c:[type==\"a\"] && c:[type==\"b\"] => permit(); };", 1, 52, "already declared")]
    [InlineData("version=1.0; authorizationrules { [type==\"a\", value==99999999999999999999] => permit(); };", 1, 54, "out of range")]
    [InlineData("version=1.0; authorizationrules { [type==\"a\"] => permit(); }; issuancerules { }; extra", 1, 82, "end of input")]
    [InlineData("version=1.0;\r\nauthorizationrules {\r\n\t[type==\"a\"] => permit() };", 3, 26, "';' after the rule's action")]
    [InlineData("version=1.0; authorizationrules { [type==\"a\"] => permit(); }; #", 1, 63, "Unexpected character '#'")]
    public void ReportsLineColumnAndExpectation(string text, int line, int column, string expected)
    {
        PolicyParseException e = Fail(text);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Equal((line, column), (e.Line, e.Column));
        Assert.StartsWith($"Line {line}, column {column}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParseNullReturnsFalse()
    {
        Assert.False(AttestationPolicy.TryParse(null, out AttestationPolicy? p));
        Assert.Null(p);
        Assert.Throws<ArgumentNullException>(() => AttestationPolicy.Parse(null!));
    }
}
