namespace Confide.Ledger.Kv;

/// <summary>
/// Called inside a commit's critical section with the version the write set is about to be applied
/// at, in version order, before any reader can see it: the place to serialise the entry and append it
/// to the ledger so that the ledger order is the version order. If it throws, nothing is applied.
/// </summary>
public delegate void CommitHook(long version, WriteSet writeSet);

/// <summary>
/// A versioned in-memory key-value store of named maps, CCF's <c>kv::Store</c>: each committed write
/// set gets the next version; transactions read a snapshot at the version they started at and commit
/// optimistically (<see cref="Transaction.TryCommit"/>).
/// </summary>
/// <remarks>
/// Every key keeps its history of (version, value-or-tombstone) so that a snapshot read is a binary
/// search; <see cref="Compact"/> drops history no live transaction needs. Thread-safe: reads and
/// commits are serialised by one lock, which a commit holds only to check and apply.
/// </remarks>
public sealed class Store
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, MapState> _maps = new(StringComparer.Ordinal);
    private long _version;
    private long _compactedVersion;

    /// <summary>A store at version <paramref name="version"/> with no data (a node starting from a snapshot sets it).</summary>
    public Store(long version = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        _version = version;
        _compactedVersion = version;
    }

    /// <summary>The version of the last applied write set.</summary>
    public long Version
    {
        get
        {
            lock (_lock)
            {
                return _version;
            }
        }
    }

    /// <summary>History older than this was dropped; transactions that read below it cannot commit.</summary>
    public long CompactedVersion
    {
        get
        {
            lock (_lock)
            {
                return _compactedVersion;
            }
        }
    }

    /// <summary>A transaction reading the current version.</summary>
    public Transaction BeginTransaction()
    {
        lock (_lock)
        {
            return new Transaction(this, _version);
        }
    }

    /// <summary>
    /// Applies a write set at <paramref name="version"/>, which must be the next one: how a follower
    /// replays what the primary replicated and how recovery replays the ledger.
    /// </summary>
    public void Apply(WriteSet writeSet, long version)
    {
        ArgumentNullException.ThrowIfNull(writeSet);
        lock (_lock)
        {
            if (version != _version + 1)
            {
                throw new ArgumentOutOfRangeException(nameof(version), version, $"The store is at version {_version}; only version {_version + 1} can be applied.");
            }

            ApplyLocked(writeSet, version);
        }
    }

    /// <summary>
    /// Builds a write set for the next version and applies it, atomically with respect to commits:
    /// how a primary emits a transaction that must know its own version (a signature transaction).
    /// </summary>
    /// <returns>The version applied.</returns>
    public long ApplyNext(Func<long, WriteSet> build, CommitHook? onCommit = null)
    {
        ArgumentNullException.ThrowIfNull(build);
        lock (_lock)
        {
            long version = _version + 1;
            WriteSet writeSet = build(version);
            onCommit?.Invoke(version, writeSet);
            ApplyLocked(writeSet, version);
            return version;
        }
    }

    /// <summary>Forgets every version after <paramref name="version"/> (a Raft rollback of uncommitted entries).</summary>
    public void Rollback(long version)
    {
        lock (_lock)
        {
            if (version < _compactedVersion || version > _version)
            {
                throw new ArgumentOutOfRangeException(nameof(version), version, $"Can roll back to [{_compactedVersion}, {_version}].");
            }

            foreach ((string name, MapState map) in _maps.ToList())
            {
                map.RollBack(version);
                if (map.IsEmpty)
                {
                    _maps.Remove(name);
                }
            }

            _version = version;
        }
    }

    /// <summary>
    /// Drops the history before <paramref name="version"/>, keeping each key's value as of that
    /// version. Transactions that started before it will fail to commit (and should be retried).
    /// </summary>
    public void Compact(long version)
    {
        lock (_lock)
        {
            if (version < _compactedVersion || version > _version)
            {
                throw new ArgumentOutOfRangeException(nameof(version), version, $"Can compact to [{_compactedVersion}, {_version}].");
            }

            foreach ((string name, MapState map) in _maps.ToList())
            {
                map.Compact(version);
                if (map.IsEmpty)
                {
                    _maps.Remove(name);
                }
            }

            _compactedVersion = version;
        }
    }

    /// <summary>
    /// The whole state as of <paramref name="version"/> (no later than the store's version, no
    /// earlier than its compaction), as one write set: what a snapshot holds.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The version is not held.</exception>
    public WriteSet CaptureState(long version)
    {
        lock (_lock)
        {
            if (version < _compactedVersion || version > _version)
            {
                throw new ArgumentOutOfRangeException(nameof(version), version, $"The store holds versions [{_compactedVersion}, {_version}].");
            }

            var state = new WriteSetBuilder();
            foreach ((string name, MapState map) in _maps)
            {
                foreach (KeyValuePair<byte[], byte[]> pair in map.ReadAll(version))
                {
                    state.Put(name, pair.Key, pair.Value);
                }
            }

            return state.Build();
        }
    }

    internal byte[]? Read(string mapName, byte[] key, long atVersion, out long keyVersion)
    {
        lock (_lock)
        {
            keyVersion = 0;
            return _maps.TryGetValue(mapName, out MapState? map) ? map.Read(key, atVersion, out keyVersion) : null;
        }
    }

    internal List<KeyValuePair<byte[], byte[]>> ReadAll(string mapName, long atVersion)
    {
        lock (_lock)
        {
            return _maps.TryGetValue(mapName, out MapState? map) ? map.ReadAll(atVersion) : [];
        }
    }

    internal CommitResult Commit(Transaction transaction, WriteSet writeSet, CommitHook? onCommit)
    {
        lock (_lock)
        {
            if (FindConflict(transaction) is CommitResult conflict)
            {
                return conflict;
            }

            // A read-only transaction changes nothing and gets no version of its own: it reports the
            // last version it could have read.
            if (writeSet.IsEmpty)
            {
                return CommitResult.ReadOnly(transaction.ReadVersion);
            }

            long version = _version + 1;
            onCommit?.Invoke(version, writeSet);
            ApplyLocked(writeSet, version);
            return CommitResult.Committed(version, writeSet);
        }
    }

    private CommitResult? FindConflict(Transaction transaction)
    {
        long readVersion = transaction.ReadVersion;
        if (!transaction.HasReads)
        {
            return null;
        }

        if (readVersion > _version)
        {
            return CommitResult.Conflict(readVersion, null, null, $"the state read at version {readVersion} was rolled back to {_version}");
        }

        if (readVersion < _compactedVersion)
        {
            return CommitResult.Conflict(readVersion, null, null, $"the history at version {readVersion} was compacted (now from {_compactedVersion})");
        }

        foreach (string mapName in transaction.EnumeratedMaps)
        {
            if (_maps.TryGetValue(mapName, out MapState? map) && map.LastWriteVersion > readVersion)
            {
                return CommitResult.Conflict(readVersion, mapName, null, $"map '{mapName}' was enumerated and has been written at version {map.LastWriteVersion}");
            }
        }

        foreach ((string mapName, HashSet<byte[]> keys) in transaction.ReadKeys)
        {
            if (!_maps.TryGetValue(mapName, out MapState? map))
            {
                continue;
            }

            foreach (byte[] key in keys)
            {
                long written = map.LatestVersionOf(key);
                if (written > readVersion)
                {
                    return CommitResult.Conflict(readVersion, mapName, key, $"a key read in map '{mapName}' has been written at version {written}");
                }
            }
        }

        return null;
    }

    private void ApplyLocked(WriteSet writeSet, long version)
    {
        foreach (MapChanges changes in writeSet.Maps)
        {
            if (!_maps.TryGetValue(changes.Name, out MapState? map))
            {
                map = new MapState();
                _maps.Add(changes.Name, map);
            }

            map.Apply(changes, version);
        }

        _version = version;
    }

    /// <summary>One map: every key's history, ordered by key bytes.</summary>
    private sealed class MapState
    {
        private readonly SortedDictionary<byte[], List<(long Version, byte[]? Value)>> _keys = new(ByteKeyComparer.Instance);

        public long LastWriteVersion { get; private set; }

        public bool IsEmpty => _keys.Count == 0;

        public void Apply(MapChanges changes, long version)
        {
            foreach (KvWrite write in changes.Writes)
            {
                HistoryOf(write.Key.ToArray()).Add((version, write.Value.ToArray()));
            }

            foreach (ReadOnlyMemory<byte> key in changes.Removes)
            {
                HistoryOf(key.ToArray()).Add((version, null)); // a tombstone
            }

            LastWriteVersion = version;
        }

        public byte[]? Read(byte[] key, long atVersion, out long keyVersion)
        {
            keyVersion = 0;
            if (!_keys.TryGetValue(key, out List<(long Version, byte[]? Value)>? history))
            {
                return null;
            }

            int index = LastAtOrBefore(history, atVersion);
            if (index < 0)
            {
                return null;
            }

            keyVersion = history[index].Version;
            return history[index].Value;
        }

        public List<KeyValuePair<byte[], byte[]>> ReadAll(long atVersion)
        {
            var entries = new List<KeyValuePair<byte[], byte[]>>();
            foreach ((byte[] key, List<(long Version, byte[]? Value)> history) in _keys)
            {
                int index = LastAtOrBefore(history, atVersion);
                if (index >= 0 && history[index].Value is byte[] value)
                {
                    entries.Add(new(key, value));
                }
            }

            return entries;
        }

        public long LatestVersionOf(byte[] key) =>
            _keys.TryGetValue(key, out List<(long Version, byte[]? Value)>? history) ? history[^1].Version : 0;

        public void RollBack(long version)
        {
            foreach ((byte[] key, List<(long Version, byte[]? Value)> history) in _keys.ToList())
            {
                history.RemoveAll(entry => entry.Version > version);
                if (history.Count == 0)
                {
                    _keys.Remove(key);
                }
            }

            LastWriteVersion = _keys.Count == 0 ? 0 : _keys.Values.Max(history => history[^1].Version);
        }

        public void Compact(long version)
        {
            foreach ((byte[] key, List<(long Version, byte[]? Value)> history) in _keys.ToList())
            {
                int index = LastAtOrBefore(history, version);
                if (index > 0)
                {
                    history.RemoveRange(0, index);
                }

                // A lone old tombstone says nothing a missing key would not.
                if (history.Count == 1 && history[0].Value is null && history[0].Version <= version)
                {
                    _keys.Remove(key);
                }
            }
        }

        private List<(long Version, byte[]? Value)> HistoryOf(byte[] key)
        {
            if (!_keys.TryGetValue(key, out List<(long Version, byte[]? Value)>? history))
            {
                history = [];
                _keys.Add(key, history);
            }

            return history;
        }

        private static int LastAtOrBefore(List<(long Version, byte[]? Value)> history, long version)
        {
            int low = 0;
            int high = history.Count - 1;
            int found = -1;
            while (low <= high)
            {
                int middle = low + ((high - low) / 2);
                if (history[middle].Version <= version)
                {
                    found = middle;
                    low = middle + 1;
                }
                else
                {
                    high = middle - 1;
                }
            }

            return found;
        }
    }
}
