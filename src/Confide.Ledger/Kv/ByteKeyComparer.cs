namespace Confide.Ledger.Kv;

/// <summary>
/// Orders and compares byte-string keys by content: lexicographic on unsigned bytes, a prefix first.
/// This is the order CCF's serialiser writes keys in (a <c>std::map</c> over byte vectors), so write
/// sets come out byte-identical on every node.
/// </summary>
internal sealed class ByteKeyComparer : IComparer<byte[]>, IEqualityComparer<byte[]>
{
    public static readonly ByteKeyComparer Instance = new();

    private ByteKeyComparer()
    {
    }

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y.AsSpan());

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y.AsSpan());

    public int GetHashCode(byte[] obj)
    {
        var hash = new HashCode();
        hash.AddBytes(obj);
        return hash.ToHashCode();
    }
}
