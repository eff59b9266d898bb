namespace Confide.Ledger.Kv;

/// <summary>
/// One map as seen by one transaction (CCF's map handle): snapshot reads plus the transaction's own
/// writes. Keys and values are byte strings; what is passed in is copied, what is handed out must
/// not be modified.
/// </summary>
public sealed class MapHandle
{
    private readonly Transaction _transaction;

    internal MapHandle(Transaction transaction, string name)
    {
        _transaction = transaction;
        Name = name;
        Domain = MapNames.DomainOf(name);
    }

    /// <summary>The map's name.</summary>
    public string Name { get; }

    /// <summary>Public or private, from the name.</summary>
    public SecurityDomain Domain { get; }

    /// <summary>The value of <paramref name="key"/>, if present. A conflict is detected at commit if it changes meanwhile.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlyMemory<byte> value)
    {
        byte[]? found = _transaction.Read(Name, key.ToArray());
        value = found;
        return found is not null;
    }

    /// <summary>A copy of the value of <paramref name="key"/>, or null when absent (or removed).</summary>
    public byte[]? Get(ReadOnlySpan<byte> key) => TryGet(key, out ReadOnlyMemory<byte> value) ? value.ToArray() : null;

    /// <summary>True when <paramref name="key"/> is present (a read, for conflict detection).</summary>
    public bool Has(ReadOnlySpan<byte> key) => TryGet(key, out _);

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/> when the transaction commits.</summary>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        _transaction.ThrowIfFinished();
        _transaction.Writes.Put(Name, key, value);
    }

    /// <summary>Removes <paramref name="key"/> (a tombstone at the commit version) when the transaction commits.</summary>
    public void Remove(ReadOnlySpan<byte> key)
    {
        _transaction.ThrowIfFinished();
        _transaction.Writes.Remove(Name, key);
    }

    /// <summary>
    /// Visits every present key in key-byte order until <paramref name="visit"/> returns false. The
    /// whole map counts as read: any later write to it makes the commit conflict.
    /// </summary>
    public void ForEach(Func<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>, bool> visit)
    {
        ArgumentNullException.ThrowIfNull(visit);
        foreach ((byte[] key, byte[] value) in _transaction.ReadAll(Name))
        {
            if (!visit(key, value))
            {
                return;
            }
        }
    }
}
