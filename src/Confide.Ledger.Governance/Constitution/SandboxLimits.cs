namespace Confide.Ledger.Governance.Constitution;

/// <summary>
/// What one run of a constitution function or ballot may spend before the sandbox stops it (CCF's
/// JS runtime options play this part: max heap, stack and execution time).
/// </summary>
public sealed record SandboxLimits
{
    /// <summary>The limits used unless others are given.</summary>
    public static SandboxLimits Default { get; } = new();

    /// <summary>Statements executed, counting the module's top level. Stops an endless loop within a fraction of a second.</summary>
    public int MaxStatements { get; init; } = 1_000_000;

    /// <summary>
    /// Wall-clock time of one run; also bounds each regular expression match. CCF's default is 1 s;
    /// here 5 s, because it is wall-clock time and a node may share its cores (a 2-core machine under
    /// load took more than 1 s over an ordinary ballot, which then counted as no vote). Runaway
    /// scripts are still stopped early by <see cref="MaxStatements"/> and <see cref="MaxMemoryBytes"/>.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Bytes allocated by the run (Jint counts the thread's allocations, so this bounds garbage too).</summary>
    public long MaxMemoryBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Nested JavaScript calls.</summary>
    public int MaxRecursionDepth { get; init; } = 256;

    /// <summary>Length of any one array.</summary>
    public uint MaxArraySize { get; init; } = 1_000_000;
}
