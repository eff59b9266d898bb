namespace Confide.Tee.Tests.Support;

/// <summary>A clock that always says the same time, so collateral dates can be checked exactly.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    /// <summary>The current time truncated to whole seconds (X.509 and TCB info times have no fractions).</summary>
    public static FixedTimeProvider AtCurrentSecond() =>
        new(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));

    public DateTimeOffset Now { get; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
