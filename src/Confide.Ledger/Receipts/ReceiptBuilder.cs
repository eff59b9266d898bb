using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Receipts;

/// <summary>
/// Produces receipts: for an entry, the proof of its leaf in the tree a later signature signed, and
/// that signature.
/// </summary>
public static class ReceiptBuilder
{
    /// <summary>
    /// The receipt of the entry at <paramref name="seqno"/>, covered by <paramref name="signature"/>
    /// (a signature at a later seqno). <paramref name="tree"/> must hold the leaves up to the signature
    /// (and not be flushed past <paramref name="seqno"/>): the appender's tree, or the tree recorded by
    /// the signature transaction.
    /// </summary>
    /// <exception cref="ArgumentException">The signature does not cover the entry, or the tree or the components do not match.</exception>
    public static Receipt Build(MerkleTree tree, long seqno, LeafComponents components, SignatureRecord signature, IReadOnlyList<string>? serviceEndorsements = null)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(components);
        ArgumentNullException.ThrowIfNull(signature);
        long signed = signature.TxId.Seqno;
        if (seqno < 1 || seqno >= signed)
        {
            throw new ArgumentException($"The signature at {signature.TxId} covers seqnos 1 to {signed - 1}, not {seqno}.", nameof(seqno));
        }

        if (tree.Count < signed || tree.GetRoot(signed) != signature.Root)
        {
            throw new ArgumentException($"The tree is not the one signed at {signature.TxId}.", nameof(tree));
        }

        if (tree.GetLeaf(seqno) != components.ComputeLeaf())
        {
            throw new ArgumentException($"The leaf components are not those of the entry at seqno {seqno}.", nameof(components));
        }

        return new Receipt(signature.CertificatePem, signature.NodeId, components, null, tree.GetProof(seqno, signed), signature.Signature, serviceEndorsements);
    }

    /// <summary>The receipt of a signature transaction: its leaf is the root it signed, its proof empty.</summary>
    public static Receipt BuildForSignature(SignatureRecord signature, IReadOnlyList<string>? serviceEndorsements = null)
    {
        ArgumentNullException.ThrowIfNull(signature);
        return new Receipt(signature.CertificatePem, signature.NodeId, null, signature.Root, new MerkleProof([]), signature.Signature, serviceEndorsements);
    }

    /// <summary>
    /// A historical receipt read from a ledger directory: the entry at <paramref name="seqno"/> (its
    /// commit evidence recomputed with the secret) and the first signature after it, with the proof
    /// taken from the tree that signature transaction recorded (or, failing that, rebuilt from the
    /// whole ledger).
    /// </summary>
    /// <exception cref="InvalidOperationException">The entry is missing or no signature follows it yet.</exception>
    /// <exception cref="LedgerFormatException">The ledger is malformed or does not authenticate.</exception>
    public static Receipt FromLedger(string directory, LedgerSecret secret, long seqno, IReadOnlyList<string>? serviceEndorsements = null)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var reader = new LedgerReader(directory);
        LedgerEntry? target = null;
        foreach (StoredEntry stored in reader.ReadEntries())
        {
            if (stored.Entry.TxId.Seqno == seqno)
            {
                target = LedgerEntry.Parse(stored.Entry.Bytes, secret);
            }
            else if (target is not null && stored.Entry.IsSignature)
            {
                SignatureRecord signature = SignatureRecord.Parse(stored.Entry.WriteSet.Find(InternalMaps.Signatures)!.Writes[0].Value.Span);
                MerkleTree tree = RecordedTree(stored.Entry, seqno) ?? LedgerAppender.RebuildTree(reader);
                return Build(tree, seqno, target.GetLeafComponents(), signature, serviceEndorsements);
            }
        }

        throw new InvalidOperationException(target is null
            ? $"The ledger in '{directory}' has no entry at seqno {seqno}."
            : $"No signature follows seqno {seqno} yet: it cannot have a receipt.");
    }

    private static MerkleTree? RecordedTree(LedgerEntry signatureEntry, long seqno)
    {
        MapChanges? recorded = signatureEntry.WriteSet.Find(InternalMaps.Tree);
        if (recorded is not { Writes.Count: > 0 } || !MerkleTree.TryDeserialise(recorded.Writes[0].Value.Span, out MerkleTree? tree, out _))
        {
            return null;
        }

        return tree.FlushedCount <= seqno && tree.Count == signatureEntry.TxId.Seqno ? tree : null;
    }
}
