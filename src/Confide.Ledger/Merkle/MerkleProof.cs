namespace Confide.Ledger.Merkle;

/// <summary>Which side a proof step's hash joins the running hash on.</summary>
public enum ProofSide
{
    /// <summary><c>{"left": h}</c>: the running hash becomes SHA-256(h ‖ current).</summary>
    Left,

    /// <summary><c>{"right": h}</c>: the running hash becomes SHA-256(current ‖ h).</summary>
    Right,
}

/// <summary>One step of an inclusion proof: a sibling hash and the side it sits on.</summary>
public readonly record struct ProofStep(ProofSide Side, Sha256Hash Hash)
{
    /// <summary>Applies this step to the running hash.</summary>
    public Sha256Hash Apply(Sha256Hash current) =>
        Side == ProofSide.Left ? Sha256Hash.Combine(Hash, current) : Sha256Hash.Combine(current, Hash);
}

/// <summary>
/// An inclusion proof in CCF's receipt shape: the steps from a leaf up to the root, folded from the
/// leaf (receipt verification step 3).
/// </summary>
public sealed class MerkleProof
{
    /// <summary>Wraps steps ordered from the leaf upwards.</summary>
    public MerkleProof(IEnumerable<ProofStep> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        Steps = [.. steps];
    }

    /// <summary>The steps, from the leaf upwards.</summary>
    public IReadOnlyList<ProofStep> Steps { get; }

    /// <summary>Folds the steps over <paramref name="leaf"/>: the root the proof claims.</summary>
    public Sha256Hash ComputeRoot(Sha256Hash leaf)
    {
        Sha256Hash current = leaf;
        foreach (ProofStep step in Steps)
        {
            current = step.Apply(current);
        }

        return current;
    }

    /// <summary>True when folding the steps over <paramref name="leaf"/> gives <paramref name="root"/>.</summary>
    public bool Verify(Sha256Hash leaf, Sha256Hash root) => ComputeRoot(leaf) == root;
}
