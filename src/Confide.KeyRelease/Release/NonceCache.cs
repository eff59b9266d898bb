using System.Collections.Concurrent;

namespace Confide.KeyRelease.Release;

/// <summary>
/// Nonces already used for a release, per issuer, each remembered until its token has expired
/// (after which the token itself is refused). In memory, so a restart forgets them; to keep a
/// restart from reopening them, tokens issued before this cache existed are refused
/// (<see cref="PredatesMemory"/>): their nonces may have been used before the restart.
/// </summary>
public sealed class NonceCache(TimeProvider time)
{
    // Tokens carry iat in whole seconds. Memory starts at the first whole second after this cache
    // was made: every token an earlier incarnation of the broker saw was issued before that.
    private readonly DateTimeOffset _memoryStarts = DateTimeOffset.FromUnixTimeSeconds(time.GetUtcNow().ToUnixTimeSeconds() + 1);

    /// <summary>How long until tokens issued from now on are accepted (at most a second); the broker waits that long before serving.</summary>
    public TimeSpan UntilMemoryStarts => _memoryStarts - time.GetUtcNow() is { Ticks: > 0 } wait ? wait : TimeSpan.Zero;

    /// <summary>True when a token issued at <paramref name="issuedAt"/> (null: unknown) may be older than this cache's memory.</summary>
    public bool PredatesMemory(DateTimeOffset? issuedAt) => issuedAt is not { } at || at < _memoryStarts;

    private const int PurgeEvery = 1024;

    private readonly ConcurrentDictionary<string, DateTimeOffset> _used = new(StringComparer.Ordinal);
    private int _additions;

    /// <summary>Marks <paramref name="nonce"/> of <paramref name="issuer"/> used until <paramref name="until"/>; false if it already was.</summary>
    public bool TryUse(string issuer, string nonce, DateTimeOffset until)
    {
        if (Interlocked.Increment(ref _additions) % PurgeEvery == 0)
        {
            Purge();
        }

        string key = issuer + "\n" + nonce;
        DateTimeOffset now = time.GetUtcNow();

        // An entry past its time may be reused: its token can no longer pass verification anyway.
        return _used.TryAdd(key, until)
            || (_used.TryGetValue(key, out DateTimeOffset old) && old < now && _used.TryUpdate(key, until, old));
    }

    public int Count => _used.Count;

    private void Purge()
    {
        DateTimeOffset now = time.GetUtcNow();
        foreach ((string key, DateTimeOffset until) in _used)
        {
            if (until < now)
            {
                _used.TryRemove(new KeyValuePair<string, DateTimeOffset>(key, until));
            }
        }
    }
}
