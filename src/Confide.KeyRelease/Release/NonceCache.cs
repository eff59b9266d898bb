using System.Collections.Concurrent;

namespace Confide.KeyRelease.Release;

/// <summary>
/// Nonces already used for a release, per issuer, each remembered until its token has expired
/// (after which the token itself is refused). In memory: a restart forgets them (docs/key-release.md, known gaps).
/// </summary>
public sealed class NonceCache(TimeProvider time)
{
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
