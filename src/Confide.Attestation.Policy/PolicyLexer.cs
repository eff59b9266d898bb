using System.Globalization;
using System.Text;

namespace Confide.Attestation.Policy;

internal enum TokenKind
{
    EndOfInput,
    Identifier,
    Integer,
    Decimal,
    String,
    LeftBrace,
    RightBrace,
    LeftBracket,
    RightBracket,
    LeftParen,
    RightParen,
    Semicolon,
    Comma,
    Colon,
    Dot,
    Assign,
    Arrow,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    AndAnd,
    OrOr,
    Bang,
}

internal readonly record struct Token(TokenKind Kind, string Text, object? Value, int Line, int Column)
{
    public PolicyPosition Position => new(Line, Column);

    public string Describe() => Kind switch
    {
        TokenKind.EndOfInput => "end of input",
        TokenKind.String => $"string \"{Truncate(Text)}\"",
        TokenKind.Identifier => $"'{Truncate(Text)}'",
        _ => $"'{Truncate(Text)}'",
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}

/// <summary>
/// Tokenizer. Whitespace separates tokens; there are no comments (none appear in the MAA grammar
/// or examples, maa.md §3). Strings are delimited by <c>"</c> or by the typographic quotes
/// <c>“ ”</c> found in older docs (maa.md §3.2), may not span lines, and support <c>\"</c> and
/// <c>\\</c> escapes.
/// </summary>
internal sealed class PolicyLexer
{
    private readonly string _text;
    private int _pos;
    private int _line = 1;
    private int _lineStart;

    public PolicyLexer(string text) => _text = text;

    public List<Token> Tokenize()
    {
        var tokens = new List<Token>();
        while (true)
        {
            SkipWhitespace();
            int line = _line, column = _pos - _lineStart + 1;
            if (_pos >= _text.Length)
            {
                tokens.Add(new Token(TokenKind.EndOfInput, string.Empty, null, line, column));
                return tokens;
            }

            char c = _text[_pos];
            if (char.IsAsciiLetter(c) || c == '_')
            {
                int start = _pos;
                while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_'))
                {
                    _pos++;
                }
                tokens.Add(new Token(TokenKind.Identifier, _text[start.._pos], null, line, column));
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                tokens.Add(ReadNumber(line, column));
                continue;
            }

            if (c is '"' or '\u201C' or '\u201D')
            {
                tokens.Add(ReadString(line, column));
                continue;
            }

            char next = _pos + 1 < _text.Length ? _text[_pos + 1] : '\0';
            (TokenKind kind, int length) = c switch
            {
                '{' => (TokenKind.LeftBrace, 1),
                '}' => (TokenKind.RightBrace, 1),
                '[' => (TokenKind.LeftBracket, 1),
                ']' => (TokenKind.RightBracket, 1),
                '(' => (TokenKind.LeftParen, 1),
                ')' => (TokenKind.RightParen, 1),
                ';' => (TokenKind.Semicolon, 1),
                ',' => (TokenKind.Comma, 1),
                ':' => (TokenKind.Colon, 1),
                '.' => (TokenKind.Dot, 1),
                '=' when next == '>' => (TokenKind.Arrow, 2),
                '=' when next == '=' => (TokenKind.Equal, 2),
                '=' => (TokenKind.Assign, 1),
                '!' when next == '=' => (TokenKind.NotEqual, 2),
                '!' => (TokenKind.Bang, 1),
                '<' when next == '=' => (TokenKind.LessOrEqual, 2),
                '<' => (TokenKind.Less, 1),
                '>' when next == '=' => (TokenKind.GreaterOrEqual, 2),
                '>' => (TokenKind.Greater, 1),
                '&' when next == '&' => (TokenKind.AndAnd, 2),
                '|' when next == '|' => (TokenKind.OrOr, 2),
                _ => (TokenKind.EndOfInput, 0),
            };
            if (length == 0)
            {
                string shown = char.IsControl(c) || char.IsSurrogate(c)
                    ? $"U+{(int)c:X4}"
                    : $"'{c}'";
                string hint = c switch
                {
                    '&' => " (expected '&&')",
                    '|' => " (expected '||')",
                    _ => " (expected a keyword, identifier, number, string or punctuation)",
                };
                throw new PolicyParseException($"Unexpected character {shown}{hint}.", line, column);
            }

            tokens.Add(new Token(kind, _text.Substring(_pos, length), null, line, column));
            _pos += length;
        }
    }

    private void SkipWhitespace()
    {
        while (_pos < _text.Length)
        {
            char c = _text[_pos];
            if (c == '\n' || c == '\r')
            {
                _pos++;
                if (c == '\r' && _pos < _text.Length && _text[_pos] == '\n')
                {
                    _pos++;
                }
                _line++;
                _lineStart = _pos;
            }
            else if (c is ' ' or '\t' or '\f' or '\v' or '\u00A0' or '\uFEFF')
            {
                _pos++;
            }
            else
            {
                return;
            }
        }
    }

    private Token ReadNumber(int line, int column)
    {
        int start = _pos;
        if (_text[_pos] == '0' && _pos + 1 < _text.Length && (_text[_pos + 1] is 'x' or 'X'))
        {
            _pos += 2;
            int digitsStart = _pos;
            while (_pos < _text.Length && char.IsAsciiHexDigit(_text[_pos]))
            {
                _pos++;
            }
            if (_pos == digitsStart)
            {
                throw new PolicyParseException("Expected hexadecimal digits after '0x'.", line, column);
            }
            RejectTrailingLetters(line, column);
            string hex = _text[digitsStart.._pos];
            if (!long.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long hv) || hv < 0)
            {
                throw new PolicyParseException($"Integer literal '{_text[start.._pos]}' is out of range (expected a 64-bit signed integer).", line, column);
            }
            return new Token(TokenKind.Integer, _text[start.._pos], hv, line, column);
        }

        while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos]))
        {
            _pos++;
        }

        if (_pos + 1 < _text.Length && _text[_pos] == '.' && char.IsAsciiDigit(_text[_pos + 1]))
        {
            _pos++;
            while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos]))
            {
                _pos++;
            }
            RejectTrailingLetters(line, column);
            return new Token(TokenKind.Decimal, _text[start.._pos], null, line, column);
        }

        RejectTrailingLetters(line, column);
        string digits = _text[start.._pos];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
        {
            throw new PolicyParseException($"Integer literal '{(digits.Length > 40 ? digits[..40] + "..." : digits)}' is out of range (expected a 64-bit signed integer).", line, column);
        }
        return new Token(TokenKind.Integer, digits, value, line, column);
    }

    private void RejectTrailingLetters(int line, int column)
    {
        if (_pos < _text.Length && (char.IsAsciiLetter(_text[_pos]) || _text[_pos] == '_'))
        {
            throw new PolicyParseException($"Malformed number: unexpected '{_text[_pos]}' after digits (expected a delimiter).", line, column);
        }
    }

    private Token ReadString(int line, int column)
    {
        _pos++; // opening quote
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _text.Length || _text[_pos] is '\n' or '\r')
            {
                throw new PolicyParseException("Unterminated string literal: expected a closing '\"' before the end of the line.", line, column);
            }
            char c = _text[_pos];
            if (c is '"' or '\u201C' or '\u201D')
            {
                _pos++;
                string s = sb.ToString();
                return new Token(TokenKind.String, s, s, line, column);
            }
            if (c == '\\' && _pos + 1 < _text.Length && (_text[_pos + 1] is '"' or '\\'))
            {
                sb.Append(_text[_pos + 1]);
                _pos += 2;
                continue;
            }
            sb.Append(c);
            _pos++;
        }
    }
}
