namespace Confide.Attestation.Policy;

/// <summary>
/// The policy text is not a valid attestation policy: a syntax error, an unsupported version or
/// section, or a limit (size, nesting depth) was exceeded. <see cref="Line"/> and
/// <see cref="Column"/> are 1-based and count UTF-16 code units; <c>\r\n</c>, <c>\n</c> and
/// <c>\r</c> each end a line.
/// </summary>
public sealed class PolicyParseException : FormatException
{
    public PolicyParseException()
        : this("Invalid attestation policy.", 1, 1)
    {
    }

    public PolicyParseException(string message)
        : this(message, 1, 1)
    {
    }

    public PolicyParseException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = message;
        Line = 1;
        Column = 1;
    }

    public PolicyParseException(string reason, int line, int column)
        : base($"Line {line}, column {column}: {reason}")
    {
        Reason = reason;
        Line = line;
        Column = column;
    }

    /// <summary>1-based line of the offending token.</summary>
    public int Line { get; }

    /// <summary>1-based column of the offending token.</summary>
    public int Column { get; }

    /// <summary>The error description without the position prefix.</summary>
    public string Reason { get; }
}
