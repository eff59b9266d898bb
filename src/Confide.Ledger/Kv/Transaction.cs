namespace Confide.Ledger.Kv;

/// <summary>
/// A unit of work on a <see cref="Store"/>: reads see the snapshot at <see cref="ReadVersion"/> plus
/// this transaction's own writes; writes are buffered until <see cref="TryCommit"/>, which applies them
/// only if nothing this transaction read has been written since (optimistic concurrency, as CCF).
/// </summary>
/// <remarks>One thread at a time. After <see cref="TryCommit"/> the transaction is finished.</remarks>
public sealed class Transaction
{
    private readonly Store _store;
    private readonly Dictionary<string, MapHandle> _handles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<byte[]>> _readKeys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _enumeratedMaps = new(StringComparer.Ordinal);
    private bool _finished;

    internal Transaction(Store store, long readVersion)
    {
        _store = store;
        ReadVersion = readVersion;
    }

    /// <summary>The store version this transaction reads.</summary>
    public long ReadVersion { get; }

    internal WriteSetBuilder Writes { get; } = new();

    internal bool HasReads => _readKeys.Count > 0 || _enumeratedMaps.Count > 0;

    internal IReadOnlyDictionary<string, HashSet<byte[]>> ReadKeys => _readKeys;

    internal IReadOnlySet<string> EnumeratedMaps => _enumeratedMaps;

    /// <summary>The handle on map <paramref name="mapName"/> (created implicitly by its first write).</summary>
    public MapHandle GetMap(string mapName)
    {
        MapNames.ThrowIfInvalid(mapName, nameof(mapName));
        ThrowIfFinished();
        if (!_handles.TryGetValue(mapName, out MapHandle? handle))
        {
            handle = new MapHandle(this, mapName);
            _handles.Add(mapName, handle);
        }

        return handle;
    }

    /// <summary>
    /// Applies the writes unless a conflict is found; a transaction without writes commits as
    /// read-only. <paramref name="onCommit"/>, if given, runs inside the commit (see <see cref="CommitHook"/>).
    /// </summary>
    public CommitResult TryCommit(CommitHook? onCommit = null)
    {
        ThrowIfFinished();
        _finished = true;
        return _store.Commit(this, Writes.Build(), onCommit);
    }

    internal byte[]? Read(string mapName, byte[] key)
    {
        ThrowIfFinished();
        if (Writes.TryGetPending(mapName, key, out byte[]? pending))
        {
            return pending;
        }

        if (!_readKeys.TryGetValue(mapName, out HashSet<byte[]>? keys))
        {
            keys = new HashSet<byte[]>(ByteKeyComparer.Instance);
            _readKeys.Add(mapName, keys);
        }

        keys.Add(key);
        return _store.Read(mapName, key, ReadVersion, out _);
    }

    internal List<KeyValuePair<byte[], byte[]>> ReadAll(string mapName)
    {
        ThrowIfFinished();
        _enumeratedMaps.Add(mapName);
        List<KeyValuePair<byte[], byte[]>> committed = _store.ReadAll(mapName, ReadVersion);
        IReadOnlyDictionary<byte[], byte[]?>? pending = Writes.PendingIn(mapName);
        if (pending is null)
        {
            return committed;
        }

        // Overlay this transaction's writes and removes, keeping key order.
        var merged = new SortedDictionary<byte[], byte[]>(ByteKeyComparer.Instance);
        foreach ((byte[] key, byte[] value) in committed)
        {
            merged[key] = value;
        }

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

        return [.. merged];
    }

    internal void ThrowIfFinished()
    {
        if (_finished)
        {
            throw new InvalidOperationException("The transaction has already been committed; start a new one.");
        }
    }
}
