using Confide.Ledger.Kv;

namespace Confide.Ledger.Governance.Constitution;

/// <summary>
/// The store as one script run sees it through <c>ccf.kv</c>: reads go to the transaction (so they
/// count for its conflict detection), writes are held here and reach the transaction only through
/// <see cref="Flush"/>, so that a script that throws half-way leaves nothing behind.
/// </summary>
/// <remarks>
/// As CCF's governance context: only <c>public:ccf.gov.*</c> and <c>public:ccf.internal.*</c> can
/// be read (never an application's maps, private ones least of all), and only
/// <c>public:ccf.gov.*</c> can be written, and only by <see cref="KvAccess.ReadWrite"/> runs.
/// </remarks>
internal sealed class ScriptKv(Transaction transaction, KvAccess access, string function)
{
    private const string GovernancePrefix = "public:ccf.gov.";
    private const string InternalPrefix = "public:ccf.internal.";

    // Per map: key → pending value, null for a pending delete; keys in the store's byte order.
    private readonly Dictionary<string, SortedDictionary<byte[], byte[]?>> _pending = new(StringComparer.Ordinal);

    /// <summary>Why <paramref name="mapName"/> cannot be read, or null when it can.</summary>
    public string? RefuseRead(string mapName) =>
        mapName.StartsWith(GovernancePrefix, StringComparison.Ordinal) || mapName.StartsWith(InternalPrefix, StringComparison.Ordinal)
            ? null
            : $"Map '{mapName}' is not accessible to governance scripts: only {GovernancePrefix}* and {InternalPrefix}* maps are.";

    /// <summary>Why <paramref name="mapName"/> cannot be written, or null when it can.</summary>
    public string? RefuseWrite(string mapName)
    {
        if (access != KvAccess.ReadWrite)
        {
            return $"Cannot write to map '{mapName}': the store is read-only during {function}.";
        }

        return mapName.StartsWith(GovernancePrefix, StringComparison.Ordinal)
            ? null
            : $"Cannot write to map '{mapName}': governance writes only {GovernancePrefix}* maps.";
    }

    public byte[]? Get(string mapName, byte[] key)
    {
        if (_pending.TryGetValue(mapName, out SortedDictionary<byte[], byte[]?>? pending) && pending.TryGetValue(key, out byte[]? value))
        {
            return value;
        }

        return transaction.GetMap(mapName).Get(key);
    }

    public void Set(string mapName, byte[] key, byte[] value) => PendingIn(mapName)[key] = value;

    public void Delete(string mapName, byte[] key) => PendingIn(mapName)[key] = null;

    /// <summary>Every present entry, in key order, as of now (later writes do not disturb the list).</summary>
    public List<KeyValuePair<byte[], byte[]>> Entries(string mapName)
    {
        var merged = new SortedDictionary<byte[], byte[]>(ByteOrder.Instance);
        transaction.GetMap(mapName).ForEach((key, value) =>
        {
            merged[key.ToArray()] = value.ToArray();
            return true;
        });

        if (_pending.TryGetValue(mapName, out SortedDictionary<byte[], byte[]?>? pending))
        {
            foreach ((byte[] key, byte[]? value) in pending)
            {
                if (value is null)
                {
                    merged.Remove(key);
                }
                else
                {
                    merged[key] = value;
                }
            }
        }

        return [.. merged];
    }

    /// <summary>Hands the held writes to the transaction.</summary>
    public void Flush()
    {
        foreach ((string mapName, SortedDictionary<byte[], byte[]?> pending) in _pending)
        {
            MapHandle map = transaction.GetMap(mapName);
            foreach ((byte[] key, byte[]? value) in pending)
            {
                if (value is null)
                {
                    map.Remove(key);
                }
                else
                {
                    map.Put(key, value);
                }
            }
        }

        _pending.Clear();
    }

    private SortedDictionary<byte[], byte[]?> PendingIn(string mapName)
    {
        if (!_pending.TryGetValue(mapName, out SortedDictionary<byte[], byte[]?>? pending))
        {
            pending = new SortedDictionary<byte[], byte[]?>(ByteOrder.Instance);
            _pending.Add(mapName, pending);
        }

        return pending;
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y.AsSpan());
    }
}
