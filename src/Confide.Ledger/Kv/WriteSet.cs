using System.Text;

namespace Confide.Ledger.Kv;

/// <summary>One key written with its new value.</summary>
public readonly record struct KvWrite(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value);

/// <summary>What one transaction did to one map: keys written and keys removed (tombstoned).</summary>
/// <remarks>A key appears at most once, in <see cref="Writes"/> or in <see cref="Removes"/>: the last operation on it wins.</remarks>
public sealed class MapChanges
{
    internal MapChanges(string name, IReadOnlyList<KvWrite> writes, IReadOnlyList<ReadOnlyMemory<byte>> removes)
    {
        Name = name;
        Domain = MapNames.DomainOf(name);
        Writes = writes;
        Removes = removes;
    }

    /// <summary>The map's name (its prefix gives its domain).</summary>
    public string Name { get; }

    /// <summary>Public or private, from the name.</summary>
    public SecurityDomain Domain { get; }

    /// <summary>Written keys and values, ordered by key bytes.</summary>
    public IReadOnlyList<KvWrite> Writes { get; }

    /// <summary>Removed keys, ordered by key bytes.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Removes { get; }
}

/// <summary>
/// The changes of one transaction, in a deterministic order: maps by the bytes of their UTF-8 names
/// (ordinal), keys by their bytes. Two nodes that make the same changes, in any order of calls, get
/// equal write sets and so byte-identical ledger entries.
/// </summary>
public sealed class WriteSet
{
    internal WriteSet(IReadOnlyList<MapChanges> maps) => Maps = maps;

    /// <summary>A write set that changes nothing.</summary>
    public static WriteSet Empty { get; } = new([]);

    /// <summary>The changed maps, ordered by name.</summary>
    public IReadOnlyList<MapChanges> Maps { get; }

    /// <summary>True when no map is changed.</summary>
    public bool IsEmpty => Maps.Count == 0;

    /// <summary>The changes to <paramref name="mapName"/>, or null when it is untouched.</summary>
    public MapChanges? Find(string mapName) => Maps.FirstOrDefault(map => map.Name == mapName);

    /// <summary>The changed maps of one domain, in order.</summary>
    public IEnumerable<MapChanges> InDomain(SecurityDomain domain) => Maps.Where(map => map.Domain == domain);
}

/// <summary>Collects puts and removes into a <see cref="WriteSet"/>. Keys and values are copied on the way in.</summary>
public sealed class WriteSetBuilder
{
    // Per map, key → value, or null for a remove.
    private readonly Dictionary<string, SortedDictionary<byte[], byte[]?>> _maps = new(StringComparer.Ordinal);

    /// <summary>True when nothing has been put or removed.</summary>
    public bool IsEmpty => _maps.Count == 0;

    /// <summary>Records that <paramref name="key"/> in <paramref name="mapName"/> now holds <paramref name="value"/>.</summary>
    public WriteSetBuilder Put(string mapName, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        MapOf(mapName)[key.ToArray()] = value.ToArray();
        return this;
    }

    /// <summary>Records that <paramref name="key"/> in <paramref name="mapName"/> is removed.</summary>
    public WriteSetBuilder Remove(string mapName, ReadOnlySpan<byte> key)
    {
        MapOf(mapName)[key.ToArray()] = null;
        return this;
    }

    /// <summary>Adds every change of <paramref name="writeSet"/> (later changes win).</summary>
    public WriteSetBuilder Add(WriteSet writeSet)
    {
        ArgumentNullException.ThrowIfNull(writeSet);
        foreach (MapChanges map in writeSet.Maps)
        {
            foreach (KvWrite write in map.Writes)
            {
                Put(map.Name, write.Key.Span, write.Value.Span);
            }

            foreach (ReadOnlyMemory<byte> key in map.Removes)
            {
                Remove(map.Name, key.Span);
            }
        }

        return this;
    }

    /// <summary>The write set, in canonical order. The builder can keep being used.</summary>
    public WriteSet Build()
    {
        var maps = new List<MapChanges>(_maps.Count);
        foreach ((string name, SortedDictionary<byte[], byte[]?> changes) in _maps.OrderBy(pair => pair.Key, MapNameComparer.Instance))
        {
            var writes = new List<KvWrite>();
            var removes = new List<ReadOnlyMemory<byte>>();
            foreach ((byte[] key, byte[]? value) in changes)
            {
                if (value is null)
                {
                    removes.Add(key);
                }
                else
                {
                    writes.Add(new KvWrite(key, value));
                }
            }

            maps.Add(new MapChanges(name, writes, removes));
        }

        return maps.Count == 0 ? WriteSet.Empty : new WriteSet(maps);
    }

    internal bool Contains(string mapName) => _maps.ContainsKey(mapName);

    // A transaction reads its own writes through these: true when the key has a pending change
    // (value null for a remove).
    internal bool TryGetPending(string mapName, byte[] key, out byte[]? value)
    {
        value = null;
        return _maps.TryGetValue(mapName, out SortedDictionary<byte[], byte[]?>? map) && map.TryGetValue(key, out value);
    }

    internal IReadOnlyDictionary<byte[], byte[]?>? PendingIn(string mapName) =>
        _maps.TryGetValue(mapName, out SortedDictionary<byte[], byte[]?>? map) ? map : null;

    private SortedDictionary<byte[], byte[]?> MapOf(string mapName)
    {
        MapNames.ThrowIfInvalid(mapName, nameof(mapName));
        if (!_maps.TryGetValue(mapName, out SortedDictionary<byte[], byte[]?>? map))
        {
            map = new SortedDictionary<byte[], byte[]?>(ByteKeyComparer.Instance);
            _maps.Add(mapName, map);
        }

        return map;
    }
}

/// <summary>Orders map names by their UTF-8 bytes, as CCF's <c>std::string</c> comparison does.</summary>
internal sealed class MapNameComparer : IComparer<string>
{
    public static readonly MapNameComparer Instance = new();

    private MapNameComparer()
    {
    }

    public int Compare(string? x, string? y) =>
        Encoding.UTF8.GetBytes(x ?? string.Empty).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y ?? string.Empty));
}
