using Confide.Ledger.Kv;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Ledger;

/// <summary>
/// The primary's side of the ledger (CCF's history): serialises each committed write set, appends it
/// to the chunk files and its leaf to the Merkle tree, and emits signature transactions over the root.
/// </summary>
/// <remarks>
/// <para>Leaf i of the tree is the entry at seqno i; leaf 0 is all-zero, as in CCF, so the tree of the
/// first s leaves is "the tree as of seqno s − 1", the one a signature at seqno s signs.</para>
/// <para>Wire it to a store so that ledger order is version order, e.g.
/// <c>tx.TryCommit((version, writeSet) =&gt; appender.Append(new TxId(view, version), writeSet))</c>
/// and <c>store.ApplyNext(seqno =&gt; appender.CreateSignature(new TxId(view, seqno), signer), ...)</c>.
/// Not thread-safe: the store's commit lock serialises the calls.</para>
/// </remarks>
public sealed class LedgerAppender
{
    private readonly LedgerWriter _writer;
    private readonly LedgerSecret _secret;

    // Signature seqnos from the last one at or before the commit point on (older ones are not needed).
    private readonly List<long> _signatures = [];

    /// <summary>
    /// Appends to <paramref name="writer"/>. For a ledger that already has entries pass the tree over
    /// them (<see cref="RebuildTree"/>); for an empty ledger leave it null.
    /// </summary>
    public LedgerAppender(LedgerWriter writer, LedgerSecret secret, MerkleTree? tree = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(secret);
        _writer = writer;
        _secret = secret;
        if (tree is null)
        {
            tree = new MerkleTree();
            tree.Append(Sha256Hash.Zero);
        }

        if (writer.LastSeqno != 0 && tree.Count != writer.LastSeqno + 1)
        {
            throw new ArgumentException($"The tree has {tree.Count} leaves; a ledger ending at seqno {writer.LastSeqno} needs {writer.LastSeqno + 1}.", nameof(tree));
        }

        Tree = tree;
    }

    /// <summary>The Merkle tree: leaf i is the entry at seqno i.</summary>
    public MerkleTree Tree { get; }

    /// <summary>The seqno the next entry must have.</summary>
    public long NextSeqno => Tree.Count;

    /// <summary>The seqno of the last signature transaction appended (0 if none).</summary>
    public long LastSignatureSeqno => _signatures.Count > 0 ? _signatures[^1] : 0;

    /// <summary>Serialises and appends the write set committed at <paramref name="txId"/>.</summary>
    /// <exception cref="InvalidOperationException">Not the next seqno.</exception>
    public LedgerEntry Append(TxId txId, WriteSet writeSet, Sha256Hash claimsDigest = default, EntryFlags flags = EntryFlags.None)
    {
        if (txId.Seqno != NextSeqno)
        {
            throw new InvalidOperationException($"Entry {txId} is not the next one (seqno {NextSeqno}).");
        }

        LedgerEntry entry = LedgerEntry.Create(txId, writeSet, _secret, claimsDigest, flags);
        _writer.Append(entry);
        Tree.Append(entry.ComputeLeaf());
        if (entry.IsSignature)
        {
            _signatures.Add(txId.Seqno);
        }

        return entry;
    }

    /// <summary>
    /// Appends an entry made elsewhere (a follower applying the leader's): already serialised and,
    /// having been parsed with the secret, authenticated and canonical.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not the next seqno.</exception>
    public void AppendEntry(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.TxId.Seqno != NextSeqno)
        {
            throw new InvalidOperationException($"Entry {entry.TxId} is not the next one (seqno {NextSeqno}).");
        }

        _writer.Append(entry);
        Tree.Append(entry.ComputeLeaf());
        if (entry.IsSignature)
        {
            _signatures.Add(entry.TxId.Seqno);
        }
    }

    /// <summary>
    /// The write set of the signature transaction at <paramref name="txId"/> (the next seqno): the
    /// signed root of leaves [0, seqno) and the serialised tree as of that root.
    /// </summary>
    public WriteSet CreateSignature(TxId txId, LedgerSigner signer)
    {
        if (txId.Seqno != NextSeqno)
        {
            throw new InvalidOperationException($"A signature at {txId} is not the next entry (seqno {NextSeqno}).");
        }

        SignatureRecord record = SignatureRecord.Create(signer, txId, Tree.GetRoot(txId.Seqno));
        return record.ToWriteSet(Tree.Serialise(txId.Seqno));
    }

    /// <summary>Creates and appends the signature transaction at <paramref name="txId"/>; returns the entry.</summary>
    public LedgerEntry AppendSignature(TxId txId, LedgerSigner signer, EntryFlags flags = EntryFlags.None) =>
        Append(txId, CreateSignature(txId, signer), default, flags);

    /// <summary>
    /// Entries up to <paramref name="seqno"/> are committed: chunks are marked committed, and the tree is
    /// flushed up to the last signature at or before it (rollback never goes below a commit, and every
    /// later signature's serialised tree still holds the leaves since that signature).
    /// </summary>
    public void Commit(long seqno)
    {
        _writer.Commit(seqno);
        int lastCommitted = _signatures.FindLastIndex(signature => signature <= seqno);
        if (lastCommitted < 0)
        {
            return;
        }

        _signatures.RemoveRange(0, lastCommitted);
        if (_signatures[0] > Tree.FlushedCount)
        {
            Tree.Flush(_signatures[0]);
        }
    }

    /// <summary>Drops entries after <paramref name="seqno"/> from the files and the tree (a Raft rollback).</summary>
    public void Truncate(long seqno)
    {
        _writer.Truncate(seqno);
        Tree.Truncate(seqno + 1);
        _signatures.RemoveAll(signature => signature > seqno);
    }

    /// <summary>The tree over a whole ledger (leaf 0 all-zero, then each entry's leaf).</summary>
    /// <exception cref="LedgerFormatException">The ledger is malformed or does not start at seqno 1.</exception>
    public static MerkleTree RebuildTree(LedgerReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var tree = new MerkleTree();
        tree.Append(Sha256Hash.Zero);
        foreach (StoredEntry stored in reader.ReadEntries())
        {
            if (stored.Entry.TxId.Seqno != tree.Count)
            {
                throw new LedgerFormatException(LedgerFormatError.NotContiguous, $"the tree needs every entry from seqno 1; found seqno {stored.Entry.TxId.Seqno} where {tree.Count} was expected", stored.Offset, stored.Entry.TxId.Seqno, stored.File);
            }

            tree.Append(stored.Entry.ComputeLeaf());
        }

        return tree;
    }
}
