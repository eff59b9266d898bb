using System.Globalization;

namespace Confide.Attestation.Verification;

/// <summary>
/// A clock stopped at one instant, for verifying recorded evidence at the time its collateral was
/// valid (<c>--at</c>, <c>--verification-time</c>). Timers are not supported: only the time is read.
/// </summary>
public sealed class PinnedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;

    /// <summary>Parses an RFC 3339 time; a time without an offset is UTC.</summary>
    public static PinnedTimeProvider Parse(string rfc3339) =>
        new(DateTimeOffset.Parse(rfc3339, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal));
}
