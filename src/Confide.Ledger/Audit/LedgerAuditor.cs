using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;
using Confide.Ledger.Receipts;

namespace Confide.Ledger.Audit;

/// <summary>
/// Offline audit of a ledger directory: re-reads every entry, rebuilds the Merkle tree from the
/// entries' leaves, and at every signature transaction checks the signature, the signer and that the
/// signed root is the root of everything before it. Names the first bad entry.
/// </summary>
/// <remarks>
/// Without the secret, only what signatures cover is checked, so a damaged entry is found at the next
/// signature; the tree that signature recorded (<see cref="InternalMaps.Tree"/>, authenticated by the
/// signed root) then tells which entry differs. With the secret, every entry's GCM tag and commit
/// evidence are checked as it is read. Node membership (CCF's <c>public:ccf.gov.nodes.info</c>
/// statuses) is not tracked: a node certificate is trusted when the service identity endorses it.
/// </remarks>
public static class LedgerAuditor
{
    /// <summary>Audits <paramref name="directory"/>; never throws for a bad ledger, reports it.</summary>
    /// <param name="directory">The ledger directory (all chunks, committed or not).</param>
    /// <param name="serviceIdentity">When given, every signing node's certificate must be endorsed by it.</param>
    /// <param name="secret">When given, private domains and commit evidence are verified too.</param>
    public static AuditReport Audit(string directory, X509Certificate2? serviceIdentity = null, LedgerSecret? secret = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var report = new AuditReport { PrivateDomainsVerified = secret is not null };
        var state = new AuditState(serviceIdentity);
        try
        {
            foreach (StoredEntry stored in new LedgerReader(directory, secret).ReadEntries())
            {
                report.Failure = state.Check(stored, report);
                if (report.Failure is not null)
                {
                    return report;
                }
            }
        }
        catch (LedgerFormatException error)
        {
            AuditProblem problem = error.Error == LedgerFormatError.AuthenticationFailed ? AuditProblem.TamperedEntry : AuditProblem.MalformedLedger;
            report.Failure = new AuditFailure(problem, error.Detail, error.File, error.Offset, error.Seqno, error.Error);
        }

        return report;
    }

    /// <summary>The tree so far and the entries not yet covered by a verified signature.</summary>
    private sealed class AuditState(X509Certificate2? serviceIdentity)
    {
        private readonly MerkleTree _tree = new([Sha256Hash.Zero]);
        private readonly List<StoredEntry> _sinceLastSignature = [];

        public AuditFailure? Check(StoredEntry stored, AuditReport report)
        {
            LedgerEntry entry = stored.Entry;
            if (report.EntryCount == 0)
            {
                report.FirstSeqno = entry.TxId.Seqno;
                if (entry.TxId.Seqno != 1)
                {
                    return Fail(AuditProblem.NotFromGenesis, stored, $"the ledger starts at seqno {entry.TxId.Seqno}; auditing needs every entry from seqno 1");
                }
            }

            report.EntryCount++;
            report.LastSeqno = entry.TxId.Seqno;
            if (entry.IsSignature)
            {
                AuditFailure? failure = CheckSignature(stored);
                if (failure is not null)
                {
                    return failure;
                }

                report.SignatureCount++;
                report.LastSignedTxId = entry.TxId;
                _sinceLastSignature.Clear();
            }

            _tree.Append(entry.ComputeLeaf());
            _sinceLastSignature.Add(stored);
            report.UnsignedCount = report.LastSeqno - (report.LastSignedTxId?.Seqno ?? 0);
            return null;
        }

        private AuditFailure? CheckSignature(StoredEntry stored)
        {
            LedgerEntry entry = stored.Entry;
            MapChanges signatures = entry.WriteSet.Find(InternalMaps.Signatures)!;
            if (!SignatureRecord.TryParse(signatures.Writes[0].Value.Span, out SignatureRecord? record, out string? error))
            {
                return Fail(AuditProblem.MalformedSignature, stored, $"the signature record does not parse: {error}");
            }

            if (record.TxId != entry.TxId)
            {
                return Fail(AuditProblem.MalformedSignature, stored, $"the signature record says {record.TxId}, the entry is {entry.TxId}");
            }

            if (!record.NodeIdMatchesCertificate())
            {
                return Fail(AuditProblem.NodeIdMismatch, stored, $"node {record.NodeId} is not the key of the recorded certificate");
            }

            if (!record.VerifySignature())
            {
                return Fail(AuditProblem.BadSignature, stored, $"the signature by node {record.NodeId} does not verify over root {record.Root}");
            }

            if (serviceIdentity is not null && !IsEndorsed(record.CertificatePem, serviceIdentity))
            {
                return Fail(AuditProblem.UntrustedNode, stored, $"node {record.NodeId}'s certificate is not endorsed by the service identity");
            }

            if (serviceIdentity is not null && entry.WriteSet.Find(InternalMaps.CoseSignatures) is { Writes.Count: > 0 } cose)
            {
                using ECDsa? serviceKey = serviceIdentity.GetECDsaPublicKey();
                if (serviceKey is null || !Receipts.CoseLedgerSignature.Verify(cose.Writes[0].Value.Span, entry.TxId, record.Root, serviceKey))
                {
                    return Fail(AuditProblem.BadCoseSignature, stored, $"the COSE signature is not the service identity's signature of root {record.Root} at {entry.TxId}");
                }
            }

            MerkleTree? recorded = RecordedTree(entry);
            if (recorded is not null && (recorded.Count != entry.TxId.Seqno || recorded.Root != record.Root))
            {
                return Fail(AuditProblem.RecordedTreeMismatch, stored, "the recorded Merkle tree is not the tree of the signed root");
            }

            Sha256Hash computed = _tree.GetRoot(entry.TxId.Seqno);
            return computed == record.Root ? null : BlameEntry(stored, record, recorded, computed);
        }

        // The signature is genuine, so its root is what the service signed: whichever entry's leaf
        // differs from the recorded tree's leaf is the one that was altered.
        private AuditFailure BlameEntry(StoredEntry signature, SignatureRecord record, MerkleTree? recorded, Sha256Hash computed)
        {
            if (recorded is not null)
            {
                foreach (StoredEntry pending in _sinceLastSignature)
                {
                    long seqno = pending.Entry.TxId.Seqno;
                    if (seqno >= recorded.FlushedCount && recorded.GetLeaf(seqno) != _tree.GetLeaf(seqno))
                    {
                        return Fail(AuditProblem.LeafMismatch, pending, $"the entry is not the one the signature at {record.TxId} covers (its leaf differs from the signed tree's)");
                    }
                }
            }

            return Fail(AuditProblem.RootMismatch, signature, $"the signed root {record.Root} is not the root {computed} of the entries before it");
        }

        private static MerkleTree? RecordedTree(LedgerEntry entry)
        {
            MapChanges? row = entry.WriteSet.Find(InternalMaps.Tree);
            if (row is not { Writes.Count: > 0 })
            {
                return null;
            }

            // A row that does not parse stands for an empty tree, which can never match the signed root.
            return MerkleTree.TryDeserialise(row.Writes[0].Value.Span, out MerkleTree? tree, out _) ? tree : new MerkleTree();
        }

        private static bool IsEndorsed(string certificatePem, X509Certificate2 serviceIdentity)
        {
            try
            {
                using X509Certificate2 certificate = X509Certificate2.CreateFromPem(certificatePem);
                return CertificateEndorsement.IsEndorsedBy(certificate, serviceIdentity);
            }
            catch (Exception exception) when (exception is CryptographicException or ArgumentException)
            {
                return false;
            }
        }

        private static AuditFailure Fail(AuditProblem problem, StoredEntry at, string message) =>
            new(problem, message, at.File, at.Offset, at.Entry.TxId.Seqno);
    }
}
