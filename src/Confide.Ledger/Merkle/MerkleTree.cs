using System.Buffers.Binary;
using System.Numerics;

namespace Confide.Ledger.Merkle;

/// <summary>
/// CCF's Merkle tree (merklecpp): SHA-256 leaves, inner nodes SHA-256(left ‖ right), append-only,
/// with flushing of an old prefix and the serialised form CCF stores in <c>public:ccf.internal.tree</c>.
/// </summary>
/// <remarks>
/// <para>Shape: the tree over n leaves is built bottom-up, pairing nodes left to right; an odd node
/// at the end of a level is promoted unchanged (never hashed with itself). Equivalently, the tree is
/// the perfect tree over the largest power of two k &lt; n on the left and the tree over the other
/// n − k leaves on the right. So the root of 3 leaves is H(H(l0, l1), l2), and an inclusion proof
/// has no step where a node was promoted.</para>
/// <para>Storage: every complete perfect subtree is kept (one list per height), so appending is
/// O(log n), and roots and proofs for any prefix of the tree are O(log² n). Flushing forgets the
/// nodes wholly left of a leaf index and keeps only the roots of the perfect subtrees covering the
/// flushed prefix (one per set bit of the flushed count, as merklecpp does); the root and the proofs
/// of unflushed leaves stay available.</para>
/// <para>Not thread-safe.</para>
/// </remarks>
public sealed class MerkleTree
{
    private const int MaxHeight = 63;
    private const int HeaderSize = 16;

    // _levels[h][k] is the root of the perfect subtree of height h with index (_flushed >> h) + k,
    // i.e. covering leaves [(first + k) · 2^h, (first + k + 1) · 2^h). Only complete subtrees are kept.
    private readonly List<List<Sha256Hash>> _levels = [[]];

    // _flushedPeaks[h] is the perfect subtree of height h just left of index (_flushed >> h), for each
    // set bit h of _flushed: together they cover the flushed leaves [0, _flushed).
    private readonly Sha256Hash[] _flushedPeaks = new Sha256Hash[MaxHeight + 1];

    private long _flushed;

    /// <summary>An empty tree.</summary>
    public MerkleTree()
    {
    }

    /// <summary>A tree over <paramref name="leaves"/>, in order.</summary>
    public MerkleTree(IEnumerable<Sha256Hash> leaves)
    {
        ArgumentNullException.ThrowIfNull(leaves);
        foreach (Sha256Hash leaf in leaves)
        {
            Append(leaf);
        }
    }

    /// <summary>The number of leaves, flushed ones included.</summary>
    public long Count => _flushed + _levels[0].Count;

    /// <summary>Leaves below this index were flushed: their hashes and proofs are gone.</summary>
    public long FlushedCount => _flushed;

    /// <summary>The root over all leaves.</summary>
    /// <exception cref="InvalidOperationException">The tree is empty.</exception>
    public Sha256Hash Root => Count == 0 ? throw new InvalidOperationException("An empty Merkle tree has no root.") : GetRoot(Count);

    /// <summary>Appends a leaf (its index is the old <see cref="Count"/>).</summary>
    public void Append(Sha256Hash leaf)
    {
        _levels[0].Add(leaf);
        long count = Count;

        // The new leaf completes one perfect subtree per trailing zero bit of the new count.
        for (int height = 1; height <= MaxHeight && (count & ((1L << height) - 1)) == 0; height++)
        {
            long index = (count >> height) - 1;
            Sha256Hash node = Sha256Hash.Combine(Node(height - 1, 2 * index), Node(height - 1, (2 * index) + 1));
            LevelAt(height).Add(node);
        }
    }

    /// <summary>The leaf at <paramref name="index"/> (not flushed).</summary>
    public Sha256Hash GetLeaf(long index)
    {
        if (index < _flushed || index >= Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Leaves [{_flushed}, {Count}) are available.");
        }

        return Node(0, index);
    }

    /// <summary>
    /// The root of the tree formed by the first <paramref name="count"/> leaves: the root the tree had
    /// when it had that many (merklecpp's <c>past_root(count - 1)</c>).
    /// </summary>
    public Sha256Hash GetRoot(long count)
    {
        if (count < Math.Max(1, _flushed) || count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Roots of the first [{Math.Max(1, _flushed)}, {Count}] leaves are available.");
        }

        return SubtreeRoot(0, count);
    }

    /// <summary>The inclusion proof of leaf <paramref name="index"/> in the whole tree.</summary>
    public MerkleProof GetProof(long index) => GetProof(index, Count);

    /// <summary>
    /// The inclusion proof of leaf <paramref name="index"/> in the tree of the first
    /// <paramref name="count"/> leaves; it folds to <see cref="GetRoot"/>(<paramref name="count"/>).
    /// </summary>
    public MerkleProof GetProof(long index, long count)
    {
        if (count < 1 || count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"The tree has {Count} leaves.");
        }

        if (index < _flushed || index >= count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Proofs exist for leaves [{_flushed}, {count}).");
        }

        // Walk down from the root: at each split the other half becomes a sibling. Collected top-down,
        // returned bottom-up as receipts list them.
        var steps = new List<ProofStep>();
        long start = 0;
        long size = count;
        while (size > 1)
        {
            long leftSize = LargestPowerOfTwoBelow(size);
            if (index < start + leftSize)
            {
                steps.Add(new ProofStep(ProofSide.Right, SubtreeRoot(start + leftSize, size - leftSize)));
                size = leftSize;
            }
            else
            {
                steps.Add(new ProofStep(ProofSide.Left, SubtreeRoot(start, leftSize)));
                start += leftSize;
                size -= leftSize;
            }
        }

        steps.Reverse();
        return new MerkleProof(steps);
    }

    /// <summary>
    /// Forgets the leaves below <paramref name="count"/> (merklecpp's <c>flush_to</c>): roots stay
    /// available, proofs only for leaves from <paramref name="count"/> on.
    /// </summary>
    public void Flush(long count)
    {
        if (count < _flushed || count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"The tree can be flushed to [{_flushed}, {Count}].");
        }

        var peaks = new Sha256Hash[MaxHeight + 1];
        for (int height = 0; height <= MaxHeight; height++)
        {
            if (((count >> height) & 1) == 1)
            {
                peaks[height] = Node(height, (count >> height) - 1);
            }
        }

        for (int height = 0; height < _levels.Count; height++)
        {
            long dropped = (count >> height) - (_flushed >> height);
            List<Sha256Hash> level = _levels[height];
            level.RemoveRange(0, (int)Math.Min(dropped, level.Count));
        }

        peaks.CopyTo(_flushedPeaks, 0);
        _flushed = count;
    }

    /// <summary>
    /// Drops the leaves from <paramref name="count"/> on (merklecpp's <c>retract_to(count - 1)</c>),
    /// as a Raft rollback of the log requires.
    /// </summary>
    public void Truncate(long count)
    {
        if (count < _flushed || count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"The tree can be truncated to [{_flushed}, {Count}].");
        }

        for (int height = 0; height < _levels.Count; height++)
        {
            int kept = (int)((count >> height) - (_flushed >> height));
            List<Sha256Hash> level = _levels[height];
            if (level.Count > kept)
            {
                level.RemoveRange(kept, level.Count - kept);
            }
        }
    }

    /// <summary>The serialised form of the whole tree (see <see cref="Serialise(long)"/>).</summary>
    public byte[] Serialise() => Serialise(Count);

    /// <summary>
    /// merklecpp's serialisation of the tree of the first <paramref name="count"/> leaves, the value
    /// CCF writes to <c>public:ccf.internal.tree</c>: big-endian u64 number of unflushed leaves,
    /// big-endian u64 number of flushed leaves, the unflushed leaf hashes, then the root of each
    /// perfect subtree covering the flushed prefix, smallest first (one per set bit of the flushed count).
    /// </summary>
    public byte[] Serialise(long count)
    {
        if (count < _flushed || count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"The tree can be serialised up to [{_flushed}, {Count}] leaves.");
        }

        int leaves = (int)(count - _flushed);
        int peaks = BitOperations.PopCount((ulong)_flushed);
        byte[] bytes = new byte[HeaderSize + (Sha256Hash.Size * (leaves + peaks))];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, (ulong)leaves);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8), (ulong)_flushed);

        Span<byte> cursor = bytes.AsSpan(HeaderSize);
        for (int i = 0; i < leaves; i++)
        {
            _levels[0][i].CopyTo(cursor);
            cursor = cursor[Sha256Hash.Size..];
        }

        for (int height = 0; height <= MaxHeight; height++)
        {
            if (((_flushed >> height) & 1) == 1)
            {
                _flushedPeaks[height].CopyTo(cursor);
                cursor = cursor[Sha256Hash.Size..];
            }
        }

        return bytes;
    }

    /// <summary>Rebuilds a tree from <see cref="Serialise(long)"/>'s form.</summary>
    /// <exception cref="FormatException">The bytes are not a serialised tree.</exception>
    public static MerkleTree Deserialise(ReadOnlySpan<byte> bytes) =>
        TryDeserialise(bytes, out MerkleTree? tree, out string? error) ? tree : throw new FormatException(error);

    /// <summary>Rebuilds a tree from <see cref="Serialise(long)"/>'s form; false (with why) for anything else.</summary>
    public static bool TryDeserialise(ReadOnlySpan<byte> bytes, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MerkleTree? tree, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        tree = null;
        if (bytes.Length < HeaderSize)
        {
            error = $"A serialised Merkle tree has a {HeaderSize}-byte header; got {bytes.Length} bytes.";
            return false;
        }

        ulong leaves = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        ulong flushed = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        ulong available = (ulong)(bytes.Length - HeaderSize) / Sha256Hash.Size;

        // Check the counts against the bytes present before trusting them with any arithmetic.
        if (flushed > long.MaxValue / 2 || leaves > available || (ulong)BitOperations.PopCount(flushed) > available - leaves)
        {
            error = $"The header declares {leaves} leaves and {flushed} flushed ones; {bytes.Length} bytes cannot hold them.";
            return false;
        }

        int peakCount = BitOperations.PopCount(flushed);
        if ((ulong)bytes.Length != HeaderSize + (Sha256Hash.Size * (leaves + (ulong)peakCount)))
        {
            error = $"A tree of {leaves} leaves and {flushed} flushed ones takes {HeaderSize + (Sha256Hash.Size * (leaves + (ulong)peakCount))} bytes, not {bytes.Length}.";
            return false;
        }

        var result = new MerkleTree { _flushed = (long)flushed };
        ReadOnlySpan<byte> peaks = bytes[(HeaderSize + (Sha256Hash.Size * (int)leaves))..];
        for (int height = 0; height <= MaxHeight; height++)
        {
            if (((flushed >> height) & 1) == 1)
            {
                result._flushedPeaks[height] = Sha256Hash.FromBytes(peaks[..Sha256Hash.Size]);
                peaks = peaks[Sha256Hash.Size..];
            }
        }

        ReadOnlySpan<byte> leafBytes = bytes[HeaderSize..];
        for (int i = 0; i < (int)leaves; i++)
        {
            result.Append(Sha256Hash.FromBytes(leafBytes.Slice(i * Sha256Hash.Size, Sha256Hash.Size)));
        }

        tree = result;
        error = null;
        return true;
    }

    // The root of leaves [start, start + size). Starts met on the way down from a root are always
    // aligned to the perfect subtrees, so each call is a stored node or one split.
    private Sha256Hash SubtreeRoot(long start, long size)
    {
        if (BitOperations.IsPow2(size) && start % size == 0)
        {
            return Node(BitOperations.Log2((ulong)size), start / size);
        }

        long leftSize = LargestPowerOfTwoBelow(size);
        return Sha256Hash.Combine(SubtreeRoot(start, leftSize), SubtreeRoot(start + leftSize, size - leftSize));
    }

    private Sha256Hash Node(int height, long index)
    {
        long first = _flushed >> height;
        if (index >= first && height < _levels.Count && index - first < _levels[height].Count)
        {
            return _levels[height][(int)(index - first)];
        }

        if (index == first - 1 && (first & 1) == 1)
        {
            return _flushedPeaks[height];
        }

        throw new InvalidOperationException($"Node {index} at height {height} is not available (flushed below leaf {_flushed}, {Count} leaves).");
    }

    private List<Sha256Hash> LevelAt(int height)
    {
        while (_levels.Count <= height)
        {
            _levels.Add([]);
        }

        return _levels[height];
    }

    // The largest power of two strictly below size (size ≥ 2).
    private static long LargestPowerOfTwoBelow(long size) => 1L << BitOperations.Log2((ulong)(size - 1));
}
