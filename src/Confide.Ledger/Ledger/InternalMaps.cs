namespace Confide.Ledger.Ledger;

/// <summary>The internal public maps the ledger layer writes and reads (CCF's names).</summary>
public static class InternalMaps
{
    /// <summary>The signature of the Merkle root, one <see cref="SignatureRecord"/> per signature transaction.</summary>
    public const string Signatures = "public:ccf.internal.signatures";

    /// <summary>
    /// CCF's COSE signature of the same root by the service identity (<see cref="Receipts.CoseLedgerSignature"/>):
    /// the signature from which COSE receipts are made, verifiable with the service certificate alone.
    /// </summary>
    public const string CoseSignatures = "public:ccf.internal.cose_signatures";

    /// <summary>The serialised Merkle tree as of the signature (<see cref="Merkle.MerkleTree.Serialise(long)"/>).</summary>
    public const string Tree = "public:ccf.internal.tree";

    /// <summary>The key of single-row maps (CCF's <c>ServiceValue</c>): eight zero bytes.</summary>
    public static ReadOnlySpan<byte> SingletonKey => [0, 0, 0, 0, 0, 0, 0, 0];
}
