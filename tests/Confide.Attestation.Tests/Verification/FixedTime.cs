namespace Confide.Attestation.Tests.Verification;

/// <summary>A clock stopped at one instant: recorded evidence is verified at the time it was valid.</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;

    public static FixedTime At(long unixSeconds) => new(DateTimeOffset.FromUnixTimeSeconds(unixSeconds));
}
