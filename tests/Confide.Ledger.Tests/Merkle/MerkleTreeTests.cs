using System.Text;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Tests.Merkle;

/// <summary>
/// <see cref="MerkleTree"/> against an independent, naive model of merklecpp's shape (pair nodes left
/// to right, promote the odd one), for every prefix size and leaf up to 40 leaves.
/// </summary>
public sealed class MerkleTreeTests
{
    private const int MaxLeaves = 40;

    private static readonly Sha256Hash[] Leaves = [.. Enumerable.Range(0, MaxLeaves + 1).Select(i => Sha256Hash.Compute(Encoding.UTF8.GetBytes($"leaf {i}")))];

    [Fact]
    public void Root_OfSmallTrees_HasMerklecppShape()
    {
        var tree = new MerkleTree(Leaves.Take(3));
        Sha256Hash expected = Sha256Hash.Combine(Sha256Hash.Combine(Leaves[0], Leaves[1]), Leaves[2]);

        Assert.Equal(Leaves[0], tree.GetRoot(1));
        Assert.Equal(Sha256Hash.Combine(Leaves[0], Leaves[1]), tree.GetRoot(2));
        Assert.Equal(expected, tree.Root);
    }

    [Fact]
    public void Root_EqualsLevelByLevelModel_ForEverySize()
    {
        var tree = new MerkleTree();
        for (int n = 1; n <= MaxLeaves; n++)
        {
            tree.Append(Leaves[n - 1]);
            Assert.Equal(ModelRoot(Leaves.AsSpan(0, n)), tree.Root);
        }

        for (int n = 1; n <= MaxLeaves; n++)
        {
            Assert.Equal(ModelRoot(Leaves.AsSpan(0, n)), tree.GetRoot(n));
        }
    }

    [Fact]
    public void Proofs_VerifyAgainstTheRoot_ForEveryPrefixAndLeaf()
    {
        var tree = new MerkleTree(Leaves.Take(MaxLeaves));
        for (int n = 1; n <= MaxLeaves; n++)
        {
            Sha256Hash root = ModelRoot(Leaves.AsSpan(0, n));
            for (int i = 0; i < n; i++)
            {
                MerkleProof proof = tree.GetProof(i, n);

                Assert.True(proof.Verify(Leaves[i], root), $"leaf {i} of {n}");
                Assert.Equal(ModelProof(Leaves.AsSpan(0, n), i), proof.Steps);
            }
        }
    }

    [Fact]
    public void Proof_FailsForAnyTamperedStepOrWrongLeaf()
    {
        var tree = new MerkleTree(Leaves.Take(13));
        Sha256Hash root = tree.Root;
        MerkleProof proof = tree.GetProof(6);
        Assert.True(proof.Verify(Leaves[6], root));

        Assert.False(proof.Verify(Leaves[7], root));
        for (int step = 0; step < proof.Steps.Count; step++)
        {
            ProofStep[] flippedHash = [.. proof.Steps];
            byte[] bytes = flippedHash[step].Hash.ToArray();
            bytes[0] ^= 1;
            flippedHash[step] = flippedHash[step] with { Hash = Sha256Hash.FromBytes(bytes) };
            Assert.False(new MerkleProof(flippedHash).Verify(Leaves[6], root), $"hash of step {step}");

            ProofStep[] flippedSide = [.. proof.Steps];
            flippedSide[step] = flippedSide[step] with { Side = flippedSide[step].Side == ProofSide.Left ? ProofSide.Right : ProofSide.Left };
            Assert.False(new MerkleProof(flippedSide).Verify(Leaves[6], root), $"side of step {step}");
        }

        Assert.False(new MerkleProof(proof.Steps.Take(proof.Steps.Count - 1)).Verify(Leaves[6], root));
    }

    [Fact]
    public void Flush_KeepsRootsAndProofsOfUnflushedLeaves()
    {
        for (int flushed = 0; flushed <= 20; flushed++)
        {
            var tree = new MerkleTree(Leaves.Take(21));
            tree.Flush(flushed);
            for (int n = Math.Max(1, flushed); n <= MaxLeaves; n++)
            {
                if (n > tree.Count)
                {
                    tree.Append(Leaves[n - 1]);
                }

                Assert.Equal(ModelRoot(Leaves.AsSpan(0, n)), tree.GetRoot(n));
                for (int i = flushed; i < n; i++)
                {
                    Assert.True(tree.GetProof(i, n).Verify(Leaves[i], tree.GetRoot(n)));
                }
            }

            if (flushed > 0)
            {
                Assert.Throws<ArgumentOutOfRangeException>(() => tree.GetProof(flushed - 1));
            }
        }
    }

    [Fact]
    public void Truncate_RollsBackToAnEarlierTree()
    {
        var tree = new MerkleTree(Leaves.Take(30));
        tree.Flush(9);

        tree.Truncate(17);

        Assert.Equal(17, tree.Count);
        Assert.Equal(ModelRoot(Leaves.AsSpan(0, 17)), tree.Root);
        tree.Append(Leaves[40]);
        Assert.Equal(ModelRoot([.. Leaves.Take(17), Leaves[40]]), tree.Root);
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Truncate(8));
    }

    [Fact]
    public void Serialise_HasMerklecppLayout_AndRoundTrips()
    {
        var tree = new MerkleTree(Leaves.Take(11));
        tree.Flush(5); // 5 = 0b101: peaks of heights 0 and 2

        byte[] bytes = tree.Serialise();

        Assert.Equal(16 + (32 * (6 + 2)), bytes.Length);
        Assert.Equal(6UL, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes));
        Assert.Equal(5UL, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(8)));
        Assert.Equal(Leaves[5], Sha256Hash.FromBytes(bytes.AsSpan(16, 32)));
        Assert.Equal(Leaves[4], Sha256Hash.FromBytes(bytes.AsSpan(16 + (6 * 32), 32)));
        Assert.Equal(ModelRoot(Leaves.AsSpan(0, 4)), Sha256Hash.FromBytes(bytes.AsSpan(16 + (7 * 32), 32)));

        MerkleTree copy = MerkleTree.Deserialise(bytes);
        Assert.Equal(tree.Root, copy.Root);
        Assert.Equal(11, copy.Count);
        Assert.Equal(5, copy.FlushedCount);
        copy.Append(Leaves[11]);
        Assert.Equal(ModelRoot(Leaves.AsSpan(0, 12)), copy.Root);
        Assert.True(copy.GetProof(7).Verify(Leaves[7], copy.Root));
    }

    [Fact]
    public void Serialise_OfAPrefix_IsTheTreeAsItWas()
    {
        var tree = new MerkleTree(Leaves.Take(20));
        tree.Flush(3);

        MerkleTree past = MerkleTree.Deserialise(tree.Serialise(12));

        Assert.Equal(ModelRoot(Leaves.AsSpan(0, 12)), past.Root);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(17)]
    [InlineData(16 + 31)]
    public void Deserialise_RejectsWrongLengths(int length)
    {
        byte[] bytes = new byte[length];
        if (length >= 16)
        {
            bytes[7] = 1; // one leaf declared
        }

        Assert.False(MerkleTree.TryDeserialise(bytes, out _, out string? error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Deserialise_RejectsHugeCountsWithoutAllocating()
    {
        byte[] bytes = new byte[16 + 32];
        bytes.AsSpan(0, 16).Fill(0xFF);

        Assert.Throws<FormatException>(() => MerkleTree.Deserialise(bytes));
    }

    // The model: levels paired left to right, an odd last node promoted unchanged.
    private static Sha256Hash ModelRoot(ReadOnlySpan<Sha256Hash> leaves)
    {
        List<Sha256Hash> level = [.. leaves];
        while (level.Count > 1)
        {
            var next = new List<Sha256Hash>();
            for (int i = 0; i < level.Count; i += 2)
            {
                next.Add(i + 1 < level.Count ? Sha256Hash.Combine(level[i], level[i + 1]) : level[i]);
            }

            level = next;
        }

        return level[0];
    }

    private static List<ProofStep> ModelProof(ReadOnlySpan<Sha256Hash> leaves, int index)
    {
        var steps = new List<ProofStep>();
        List<Sha256Hash> level = [.. leaves];
        while (level.Count > 1)
        {
            int sibling = index ^ 1;
            if (sibling < level.Count)
            {
                steps.Add(new ProofStep(index % 2 == 0 ? ProofSide.Right : ProofSide.Left, level[sibling]));
            }

            var next = new List<Sha256Hash>();
            for (int i = 0; i < level.Count; i += 2)
            {
                next.Add(i + 1 < level.Count ? Sha256Hash.Combine(level[i], level[i + 1]) : level[i]);
            }

            level = next;
            index /= 2;
        }

        return steps;
    }
}
