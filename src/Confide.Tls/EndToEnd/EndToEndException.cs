namespace Confide.Tls.EndToEnd;

/// <summary>Why an end-to-end message or session was refused.</summary>
public enum EndToEndError
{
    /// <summary>Not a message of this protocol (length, version, encoding).</summary>
    Malformed,

    /// <summary>The session does not exist (never made, expired, or the server restarted): make a new one.</summary>
    UnknownSession,

    /// <summary>A message number already seen: a replay.</summary>
    Replayed,

    /// <summary>A message number ahead of the next expected one: reordered or dropped messages.</summary>
    OutOfOrder,

    /// <summary>The authentication tag does not verify: altered, or another key.</summary>
    Tampered,

    /// <summary>The server's key could not be verified, or its session confirmation is wrong.</summary>
    UntrustedServer,
}

/// <summary>An end-to-end message or session refused; <see cref="Error"/> says why.</summary>
public sealed class EndToEndException(EndToEndError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public EndToEndError Error { get; } = error;
}
