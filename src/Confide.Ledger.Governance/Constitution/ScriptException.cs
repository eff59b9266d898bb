namespace Confide.Ledger.Governance.Constitution;

/// <summary>How a constitution function or ballot failed.</summary>
public enum ScriptFailureKind
{
    /// <summary>The script threw (a JavaScript error, including the TypeErrors the <c>ccf</c> bindings raise).</summary>
    Threw,

    /// <summary>The script does not parse, imports a module, or lacks the function it must export.</summary>
    Invalid,

    /// <summary>The function returned something of the wrong shape.</summary>
    InvalidResult,

    /// <summary>The sandbox's statement limit was reached (an endless loop, typically).</summary>
    StatementLimit,

    /// <summary>The sandbox's time limit was reached.</summary>
    TimeLimit,

    /// <summary>The sandbox's memory limit was reached.</summary>
    MemoryLimit,

    /// <summary>The sandbox's recursion limit was reached.</summary>
    RecursionLimit,
}

/// <summary>A constitution function or ballot that failed; <see cref="Reason"/> and <see cref="Trace"/> are what CCF records as a failure.</summary>
public sealed class ScriptException(ScriptFailureKind kind, string reason, string? trace = null, Exception? inner = null)
    : GovernanceException(GovernanceErrorCode.ScriptFailed, reason, inner)
{
    /// <summary>How it failed.</summary>
    public ScriptFailureKind Kind { get; } = kind;

    /// <summary>Why, in words (the JavaScript error's <c>name: message</c>, or the limit reached).</summary>
    public string Reason { get; } = reason;

    /// <summary>The JavaScript call stack, when there is one.</summary>
    public string? Trace { get; } = trace;
}
