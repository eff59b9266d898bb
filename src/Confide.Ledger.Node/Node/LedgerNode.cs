using System.Security.Cryptography.X509Certificates;
using Confide.Ledger.Consensus;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;
using Confide.Ledger.Receipts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Confide.Ledger.Node;

/// <summary>
/// One node of the ledger service, CCF's node layer: it executes transactions on the KV store
/// while it leads, serialises each into a ledger entry whose position in the consensus log is its
/// transaction id (view from the consensus term, a dense seqno), signs the Merkle root at intervals, and applies
/// what the consensus commits — its own entries and, as a follower, the leader's.
/// </summary>
/// <remarks>
/// <para>As in CCF, the leader's store and ledger run ahead of the commit point: they hold its
/// uncommitted entries, and roll back to the last applied entry if it loses the leadership.
/// Followers apply entries once committed. A transaction is committed once a signature
/// transaction at or after it is committed: commit advances at signatures.</para>
/// <para>One async lock orders execution commits, signatures, apply and rollback, so the store's
/// versions, the ledger's seqnos and the consensus indexes stay one sequence.</para>
/// </remarks>
public sealed class LedgerNode : IReplicatedStateMachine, IAsyncDisposable
{
    private const int MaxWriteAttempts = 5;

    private readonly LedgerNodeOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _order = new(1, 1);
    private readonly Lock _state = new();
    private readonly Store _store;
    private readonly LedgerWriter _writer;
    private readonly LedgerAppender _appender;
    private readonly MerkleTree _compactedTree; // flushed at commits: what signatures (and snapshots) record
    private readonly List<long> _terms = [0];                     // view of the entry at seqno i
    private readonly List<Sha256Hash> _writeSetDigests = [default]; // for receipts
    private readonly List<Sha256Hash> _claimsDigests = [default];
    private readonly SortedDictionary<long, SignatureRecord> _signatures = [];
    private readonly Dictionary<long, byte[]> _coseSignatures = []; // CCF's COSE ledger signatures, by seqno
    private readonly SortedDictionary<long, List<TaskCompletionSource>> _commitWaiters = [];
    private readonly CancellationTokenSource _stopping = new();
    private IConsensus? _consensus;
    private Task? _signatureLoop;
    private long _applied;
    private long _committed;
    private long _readyTerm = -1;
    private int _unsignedSince;
    private long _firstUnsignedAt;
    private Exception? _failure;
    private long _snapshotSeqno;
    private long _queuedView = -1; // the last entry this node queued for the log as leader (order lock)
    private long _queuedSeqno = -1;

    public LedgerNode(LedgerNodeOptions options, ILogger<LedgerNode>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger ?? NullLogger<LedgerNode>.Instance;
        Directory.CreateDirectory(options.LedgerDirectory);

        // A node starts from its latest snapshot if it has one (a joiner gets one from the service),
        // then rebuilds the rest from its own ledger, checking every entry (GCM tags, contiguous
        // seqnos, every signature over the recomputed root); the consensus log, replayed next, must
        // then agree with it entry by entry.
        (_store, MerkleTree tree, _compactedTree) = StartingPoint();
        RestoreFromLedger(new LedgerReader(options.LedgerDirectory, options.LedgerSecret), tree);
        _writer = LedgerWriter.Open(options.LedgerDirectory, new LedgerWriterOptions { ChunkSize = options.ChunkSize });
        _appender = new LedgerAppender(_writer, options.LedgerSecret, tree);
        if (options.RecoveredSeqno > 0)
        {
            AdoptRecoveredHistory(options.RecoveredSeqno);
        }
    }

    /// <summary>The consensus this node runs on; set once, before it starts.</summary>
    public IConsensus Consensus => _consensus ?? throw new InvalidOperationException("The node has no consensus yet.");

    public string NodeId => _options.Signer.NodeId;

    public X509Certificate2 ServiceCertificate => _options.ServiceCertificate;

    /// <summary>The last committed transaction (covered by a committed signature).</summary>
    public TxId CommittedTxId
    {
        get
        {
            lock (_state)
            {
                return new TxId(_terms[(int)_committed], _committed);
            }
        }
    }

    /// <summary>The seqno of the last committed signature transaction.</summary>
    public long LastSignedSeqno
    {
        get
        {
            lock (_state)
            {
                return _committed;
            }
        }
    }

    /// <summary>The Merkle root the last committed signature signed (CCF's state digest members acknowledge); zero before any.</summary>
    public Sha256Hash CommittedRoot
    {
        get
        {
            lock (_state)
            {
                return _signatures.TryGetValue(_committed, out SignatureRecord? signature) ? signature.Root : Sha256Hash.Zero;
            }
        }
    }

    /// <summary>Issues recovery shares in <paramref name="tx"/> if the recovery members or threshold changed (see <see cref="Recovery.RecoveryRecords"/>).</summary>
    public bool IssueRecoveryShares(Transaction tx, bool force = false) => Recovery.RecoveryRecords.Issue(tx, _options.LedgerSecret, force);

    /// <summary>Why the node stopped applying entries, if it did (a corrupted or forged entry).</summary>
    public Exception? Failure => _failure;

    public void Attach(IConsensus consensus)
    {
        ArgumentNullException.ThrowIfNull(consensus);
        if (Interlocked.CompareExchange(ref _consensus, consensus, null) is not null)
        {
            throw new InvalidOperationException("The node already has a consensus.");
        }

        consensus.LeaderChanged += OnLeaderChanged;
        _signatureLoop = Task.Run(() => SignatureLoopAsync(_stopping.Token));
    }

    /// <summary>
    /// Runs <paramref name="handler"/> in a read-write transaction on the leader and appends its
    /// writes to the log. Returns once appended (the id's status is then Pending); see
    /// <see cref="WaitForCommitAsync"/> to answer on commit. Conflicting transactions are re-run.
    /// </summary>
    /// <exception cref="NotLeaderException">This node does not lead (forward the request to the leader).</exception>
    public async Task<WriteResult<T>> ExecuteWriteAsync<T>(Func<Transaction, TransactionOutcome<T>> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        for (int attempt = 1; ; attempt++)
        {
            ThrowIfFailed();
            await EnsureReadyToLeadAsync(cancellationToken).ConfigureAwait(false);
            Transaction transaction = _store.BeginTransaction();
            TransactionOutcome<T> outcome = handler(transaction);
            if (!outcome.ApplyWrites)
            {
                return new WriteResult<T>(outcome.Value, null);
            }

            TxId? written = await CommitAndAppendAsync(transaction, outcome.ClaimsDigest, cancellationToken).ConfigureAwait(false);
            if (written is { } id)
            {
                return new WriteResult<T>(outcome.Value, id.Seqno == 0 ? null : id);
            }

            if (attempt == MaxWriteAttempts)
            {
                throw new NotLeaderException($"The transaction could not be appended after {MaxWriteAttempts} attempts (leadership or conflicts changed under it).", Consensus.Leader);
            }
        }
    }

    /// <summary>Runs <paramref name="handler"/> in a read-only transaction on this node's current state.</summary>
    public ReadResult<T> ExecuteRead<T>(Func<Transaction, T> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ThrowIfFailed();
        Transaction transaction = _store.BeginTransaction();
        T value = handler(transaction);
        long version = transaction.ReadVersion;
        lock (_state)
        {
            return new ReadResult<T>(value, new TxId(version < _terms.Count ? _terms[(int)version] : 0, version));
        }
    }

    /// <summary>Waits until <paramref name="id"/> is Committed or Invalid and returns which.</summary>
    public async Task<TxStatus> WaitForCommitAsync(TxId id, CancellationToken cancellationToken = default)
    {
        Task waiting;
        lock (_state)
        {
            if (_committed >= id.Seqno)
            {
                return StatusLocked(id);
            }

            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_commitWaiters.TryGetValue(id.Seqno, out List<TaskCompletionSource>? list))
            {
                _commitWaiters.Add(id.Seqno, list = []);
            }

            list.Add(waiter);
            waiting = waiter.Task;
        }

        await waiting.WaitAsync(cancellationToken).ConfigureAwait(false);
        return GetStatus(id);
    }

    public TxStatus GetStatus(TxId id)
    {
        lock (_state)
        {
            return StatusLocked(id);
        }
    }

    /// <summary>
    /// The receipt of a committed transaction: its leaf components, the Merkle path to the root
    /// signed by the first committed signature after it, and that signature. Null while no
    /// committed signature covers it yet (or it is not committed).
    /// </summary>
    public Receipt? GetReceipt(TxId id)
    {
        lock (_state)
        {
            if (StatusLocked(id) != TxStatus.Committed)
            {
                return null;
            }

            // A signature at g signs the root of leaves [0, g): it covers every seqno below g.
            KeyValuePair<long, SignatureRecord> covering = _signatures.FirstOrDefault(s => s.Key > id.Seqno && s.Key <= _committed);
            if (covering.Value is null)
            {
                return null;
            }

            if (_signatures.TryGetValue(id.Seqno, out SignatureRecord? own))
            {
                return ReceiptBuilder.BuildForSignature(own, EndorsementsFor(own.CertificatePem));
            }

            if (id.Seqno < _appender.Tree.FlushedCount)
            {
                return null; // before this node's snapshot: its leaves are not held here
            }

            int seqno = (int)id.Seqno;
            var components = new LeafComponents(_writeSetDigests[seqno], CommitEvidence.Create(_options.LedgerSecret, id).Value, _claimsDigests[seqno]);
            return ReceiptBuilder.Build(_appender.Tree, id.Seqno, components, covering.Value, EndorsementsFor(covering.Value.CertificatePem));
        }
    }

    /// <summary>
    /// The <c>service_endorsements</c> of a receipt signed with <paramref name="certificatePem"/>:
    /// none when the current identity endorsed that node, else the chain from the previous identity
    /// that did up to the current one. Costs nothing until the service has been recovered.
    /// </summary>
    private IReadOnlyList<string>? EndorsementsFor(string certificatePem)
    {
        IReadOnlyList<X509Certificate2> previous = _options.PreviousServiceCertificates;
        if (_options.ServiceEndorsements.Count == 0 || _options.ServiceEndorsements.Count != previous.Count)
        {
            return null;
        }

        using X509Certificate2 certificate = X509Certificate2.CreateFromPem(certificatePem);
        if (CertificateEndorsement.IsEndorsedBy(certificate, _options.ServiceCertificate))
        {
            return null;
        }

        for (int i = previous.Count - 1; i >= 0; i--)
        {
            if (CertificateEndorsement.IsEndorsedBy(certificate, previous[i]))
            {
                return [.. _options.ServiceEndorsements.Skip(i).Select(e => e.ExportCertificatePem())];
            }
        }

        return null;
    }

    /// <summary>
    /// The COSE receipt of a committed transaction (CCF's profile): the service's COSE signature of
    /// the first committed root after it, with the transaction's leaf components and path. Null while
    /// none covers it, for a signature transaction, before this node's snapshot, or when the covering
    /// signature has no COSE signature (a ledger written without the service key).
    /// </summary>
    public byte[]? GetCoseReceipt(TxId id)
    {
        lock (_state)
        {
            if (StatusLocked(id) != TxStatus.Committed || _signatures.ContainsKey(id.Seqno) || id.Seqno < _appender.Tree.FlushedCount)
            {
                return null;
            }

            KeyValuePair<long, SignatureRecord> covering = _signatures.FirstOrDefault(s => s.Key > id.Seqno && s.Key <= _committed);
            if (covering.Value is null || !_coseSignatures.TryGetValue(covering.Key, out byte[]? cose))
            {
                return null;
            }

            int seqno = (int)id.Seqno;
            var components = new LeafComponents(_writeSetDigests[seqno], CommitEvidence.Create(_options.LedgerSecret, id).Value, _claimsDigests[seqno]);
            return CoseReceipt.Create(cose, components, _appender.Tree.GetProof(id.Seqno, covering.Key));
        }
    }

    /// <summary>The view (term) of the entry at each seqno up to <paramref name="seqno"/>, for the history of views.</summary>
    public long ViewOf(long seqno)
    {
        lock (_state)
        {
            return seqno < _terms.Count ? _terms[(int)seqno] : 0;
        }
    }

    async ValueTask IReplicatedStateMachine.ApplyAsync(CommittedEntry entry, CancellationToken cancellationToken)
    {
        await _order.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_failure is not null)
            {
                return;
            }

            ApplyCommittedLocked(entry);
        }

        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Fail closed: a node that cannot account for an entry stops applying, and says why.
            // Whatever the exception, it is kept here rather than thrown into the engine, whose
            // apply loop would end silently and leave every later commit waiting.
            _failure = ex;
            if (_logger.IsEnabled(LogLevel.Critical))
            {
                _logger.LogCritical(ex, "The ledger node stopped applying entries at {Index}.", entry.Index);
            }
        }
        finally
        {
            _order.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_signatureLoop is not null)
        {
            await _signatureLoop.ConfigureAwait(false);
        }

        lock (_state)
        {
            foreach (TaskCompletionSource waiter in _commitWaiters.Values.SelectMany(w => w))
            {
                waiter.TrySetCanceled();
            }
        }

        _writer.Dispose();
        _stopping.Dispose();
    }

    private TxStatus StatusLocked(TxId id)
    {
        if (id.Seqno <= 0 || id.View <= 0)
        {
            return TxStatus.Unknown;
        }

        if (id.Seqno < _terms.Count)
        {
            long view = _terms[(int)id.Seqno];
            if (view < 0)
            {
                return TxStatus.Unknown; // before this node's snapshot
            }

            if (view != id.View)
            {
                // A later view holds this seqno, or it is committed in another view: never this one.
                return id.Seqno <= _committed || view > id.View ? TxStatus.Invalid : TxStatus.Unknown;
            }

            return id.Seqno <= _committed ? TxStatus.Committed : TxStatus.Pending;
        }

        return TxStatus.Unknown;
    }

    private async Task EnsureReadyToLeadAsync(CancellationToken cancellationToken)
    {
        IConsensus consensus = Consensus;
        if (!consensus.IsLeader)
        {
            throw new NotLeaderException($"This node is not the leader; the leader is {consensus.Leader?.ToString() ?? "being elected"}.", consensus.Leader);
        }

        long term = consensus.Term;
        if (Volatile.Read(ref _readyTerm) == term)
        {
            return;
        }

        // A new leader first applies everything in its log (the engine's no-op of its term commits
        // all earlier entries), so that its store is its log before it executes anything.
        long lastIndex = consensus.LastIndex;
        await consensus.WaitForAppliedAsync(lastIndex, cancellationToken).ConfigureAwait(false);
        await _order.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Entries restored from this node's ledger beyond what its log committed were never
            // committed: drop them, so that the store is exactly the applied log.
            RollBackLocked(_applied);
            if (consensus.IsLeader && consensus.Term == term && consensus.CommitIndex >= lastIndex)
            {
                Volatile.Write(ref _readyTerm, term);
            }
        }
        finally
        {
            _order.Release();
        }
    }

    /// <summary>Commits the transaction into the store and ledger and appends it; null when it must be re-run.</summary>
    private async Task<TxId?> CommitAndAppendAsync(Transaction transaction, Sha256Hash claimsDigest, CancellationToken cancellationToken)
    {
        LedgerEntry? entry = null;
        long term;
        ValueTask<LogPosition> appending;
        await _order.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            term = Consensus.Term;
            if (Volatile.Read(ref _readyTerm) != term || !Consensus.IsLeader)
            {
                return null;
            }

            CommitResult result = transaction.TryCommit((version, writeSet) => entry = _appender.Append(new TxId(ViewOfTerm(term), version), writeSet, claimsDigest));
            if (result.Status == CommitStatus.Conflict)
            {
                return null;
            }

            if (entry is null)
            {
                return new TxId(0, 0); // read-only after all
            }

            appending = AppendLocalEntryLocked(entry, term);
        }
        finally
        {
            _order.Release();
        }

        try
        {
            await CompleteAppendAsync(appending, term).ConfigureAwait(false);
        }
        catch (NotLeaderException ex)
        {
            // Handed to the log, then the leadership changed: the entry may be in it, and may be
            // committed by the next leader. Running the transaction again elsewhere could run it twice.
            throw new WriteOutcomeUnknownException(entry.TxId, ex);
        }

        return entry.TxId;
    }

    /// <summary>
    /// With the order lock held: records a locally made entry and queues it for the consensus log.
    /// The append is awaited after the lock is released (<see cref="CompleteAppendAsync"/>), so that
    /// the transactions executed meanwhile join the same log batch.
    /// </summary>
    private ValueTask<LogPosition> AppendLocalEntryLocked(LedgerEntry entry, long term)
    {
        if (entry.TxId.View == _queuedView && entry.TxId.Seqno <= _queuedSeqno)
        {
            // This view already queued an entry at this seqno, and it may be in the log: a second
            // one would fork the ledger (followers refuse it, and stop). Only a new view can go on,
            // so this node gives up the leadership.
            RollBackLocked(_applied);
            Volatile.Write(ref _readyTerm, -1);
            if (_logger.IsEnabled(LogLevel.Error))
            {
                _logger.LogError("Seqno {Seqno} of view {View} was already queued for the log (up to {Queued}); resigning the leadership.", entry.TxId.Seqno, entry.TxId.View, _queuedSeqno);
            }

            _ = Consensus.ResignAsync();
            throw new NotLeaderException($"This node resigned: seqno {entry.TxId.Seqno} of view {entry.TxId.View} may already be in the log.", null);
        }
        Record(entry);
        ValueTask<LogPosition> appending;
        try
        {
            appending = Consensus.AppendAsync(term, entry.Bytes, entry);
        }
        catch (NotLeaderException)
        {
            RollBackLocked(_applied);
            throw;
        }

        _queuedView = entry.TxId.View;
        _queuedSeqno = entry.TxId.Seqno;
        Interlocked.Increment(ref _unsignedSince);
        Interlocked.CompareExchange(ref _firstUnsignedAt, Environment.TickCount64, 0);
        return appending;
    }

    private async Task CompleteAppendAsync(ValueTask<LogPosition> appending, long term)
    {
        LogPosition position;
        try
        {
            position = await appending.ConfigureAwait(false);
        }
        catch (NotLeaderException)
        {
            await AbandonTermAsync(term).ConfigureAwait(false);
            throw;
        }

        if (position.Term != term)
        {
            // Cannot happen while this node leads the term it read; a defensive stop rather than a fork.
            await AbandonTermAsync(term).ConfigureAwait(false);
            throw new NotLeaderException($"The term changed from {term} to {position.Term} while appending.", Consensus.Leader);
        }
    }

    /// <summary>
    /// An append of <paramref name="term"/> did not reach the log: what this node executed in that
    /// term beyond the applied log is dropped, unless a later term already did so (then its own
    /// transactions, on top of the applied log, stay).
    /// </summary>
    private async Task AbandonTermAsync(long term)
    {
        await _order.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Interlocked.CompareExchange(ref _readyTerm, -1, term) == term)
            {
                RollBackLocked(_applied);
            }
        }
        finally
        {
            _order.Release();
        }
    }

    private void ApplyCommittedLocked(CommittedEntry committed)
    {
        if (committed.Payload.IsEmpty)
        {
            return;
        }

        // The leader's own entries come with the entry as context; the others are decoded (and
        // their GCM tag checked) here. The view is the term the entry was appended in.
        LedgerEntry entry = committed.Context as LedgerEntry ?? LedgerEntry.Parse(committed.Payload, _options.LedgerSecret);
        if (entry.TxId.View != ViewOfTerm(committed.Term))
        {
            throw new LedgerIntegrityException($"Entry {entry.TxId} was committed in term {committed.Term} (view {ViewOfTerm(committed.Term)}): only the leader of view {entry.TxId.View} may write it.");
        }

        long seqno = entry.TxId.Seqno;
        if (seqno <= _snapshotSeqno)
        {
            return; // this node started from a snapshot that holds it
        }

        if (seqno <= _store.Version)
        {
            bool ours;
            lock (_state)
            {
                ours = _terms[(int)seqno] == entry.TxId.View;
            }

            if (ours)
            {
                // Executed here as leader, or restored from this node's ledger: then it must be byte
                // for byte what the consensus log holds.
                if (committed.Context is null && Sha256Hash.Compute(committed.Payload.Span) != WriteSetDigest(seqno))
                {
                    throw new LedgerIntegrityException($"The ledger on disk holds another entry at seqno {seqno} than the consensus log: the ledger files were altered.");
                }

                MarkApplied(seqno);
                return;
            }

            // The log committed another leader's entry where this node had one of its own.
            RollBackLocked(seqno - 1);
        }

        if (seqno != _store.Version + 1)
        {
            throw new LedgerIntegrityException($"Entry {entry.TxId} arrived with the store at version {_store.Version}: entries were skipped.");
        }

        if (entry.IsSignature)
        {
            VerifySignature(entry, entry.TxId, _appender.Tree);
        }

        // Parsing with the secret authenticated the entry (GCM over all of it) and accepted only the
        // canonical encoding, so the replicated bytes are appended as they are.
        _store.Apply(entry.WriteSet, seqno);
        _appender.AppendEntry(entry);
        Record(entry);
        MarkApplied(seqno);
    }

    private void VerifySignature(LedgerEntry entry, TxId id, MerkleTree tree)
    {
        MapChanges signatures = entry.WriteSet.Find(InternalMaps.Signatures)!;
        SignatureRecord record = SignatureRecord.Parse(signatures.Writes[0].Value.Span);
        Sha256Hash expected = tree.GetRoot(id.Seqno);
        if (record.Root != expected || record.TxId != id)
        {
            throw new LedgerIntegrityException($"The signature at {id} signs root {record.Root} for {record.TxId}; this node's tree gives {expected}.");
        }

        if (!record.VerifySignature() || !IssuedByService(record.CertificatePem))
        {
            throw new LedgerIntegrityException($"The signature at {id} does not verify with a certificate the service identity issued.");
        }

        if (entry.WriteSet.Find(InternalMaps.CoseSignatures) is { Writes.Count: > 0 } cose && !CoseSignatureVerifies(cose.Writes[0].Value.Span, id, expected))
        {
            throw new LedgerIntegrityException($"The COSE signature at {id} is not the service identity's signature of root {expected} at {id}.");
        }
    }

    /// <summary>
    /// The write set of a signature transaction: the node's signature of the root (CCF's
    /// PrimarySignature), the compacted tree, and with the service key the COSE ledger signature.
    /// </summary>
    private WriteSet SignatureWriteSet(TxId id, Sha256Hash root, byte[] compactedTree)
    {
        WriteSet signature = SignatureRecord.Create(_options.Signer, id, root).ToWriteSet(compactedTree);
        if (_options.ServiceKey is not { } serviceKey)
        {
            return signature;
        }

        byte[] cose = CoseLedgerSignature.Create(serviceKey, id, root, DateTimeOffset.UtcNow, _options.CoseIssuer);
        return new WriteSetBuilder().Add(signature).Put(InternalMaps.CoseSignatures, InternalMaps.SingletonKey, cose).Build();
    }

    /// <summary>True when <paramref name="cose"/> is a COSE ledger signature of <paramref name="root"/> at <paramref name="id"/> by this service's identity or a previous one.</summary>
    private bool CoseSignatureVerifies(ReadOnlySpan<byte> cose, TxId id, Sha256Hash root)
    {
        byte[]? keyId = CoseLedgerSignature.ReadKeyId(cose);
        foreach (X509Certificate2 service in _options.PreviousServiceCertificates.Prepend(_options.ServiceCertificate))
        {
            using System.Security.Cryptography.ECDsa? key = service.GetECDsaPublicKey();
            if (key is not null && keyId is not null && keyId.AsSpan().SequenceEqual(CoseLedgerSignature.KeyId(key.ExportSubjectPublicKeyInfo())))
            {
                return CoseLedgerSignature.Verify(cose, id, root, key);
            }
        }

        return false;
    }

    private bool IssuedByService(string certificatePem)
    {
        using X509Certificate2 certificate = X509Certificate2.CreateFromPem(certificatePem);
        return ServiceIdentity.IsIssuedBy(certificate, _options.ServiceCertificate)
            || _options.PreviousServiceCertificates.Any(previous => ServiceIdentity.IsIssuedBy(certificate, previous));
    }

    /// <summary>A recovered service starts from the previous service's committed history, with no log to replay it.</summary>
    private void AdoptRecoveredHistory(long seqno)
    {
        if (_store.Version < seqno || !_signatures.ContainsKey(seqno))
        {
            throw new LedgerIntegrityException($"The recovered ledger must hold a signature at seqno {seqno}; it ends at {_store.Version}.");
        }

        RollBackLocked(seqno);
        _applied = seqno;
        lock (_state)
        {
            _committed = seqno;
            _compactedTree.Flush(seqno);
        }

        _writer.Commit(seqno);

        // Nodes joining the recovered service start from here: its consensus log begins after it.
        TakeSnapshot(seqno);
    }

    private Sha256Hash WriteSetDigest(long seqno)
    {
        lock (_state)
        {
            return _writeSetDigests[(int)seqno];
        }
    }

    /// <summary>An empty state, or the latest snapshot's: its store, its tree, and the bookkeeping up to it.</summary>
    private (Store Store, MerkleTree Tree, MerkleTree Compacted) StartingPoint()
    {
        // A node whose own ledger holds the whole history replays it (and keeps every receipt and
        // status); a snapshot stands in for a history the node does not have.
        bool wholeHistory = new LedgerReader(_options.LedgerDirectory).ListChunks() is [{ Start: 1 }, ..];
        if (wholeHistory || _options.SnapshotDirectory is not { } directory || NodeSnapshot.Latest(directory) is not { } path)
        {
            return (new Store(), new MerkleTree([Sha256Hash.Zero]), new MerkleTree([Sha256Hash.Zero]));
        }

        NodeSnapshot snapshot = NodeSnapshot.Open(File.ReadAllBytes(path), _options.LedgerSecret);
        long seqno = snapshot.TxId.Seqno;
        var store = new Store(seqno - 1);
        store.Apply(snapshot.State, seqno);

        // What happened before the snapshot is not known here: views unknown (-1), no receipts.
        _terms.Clear();
        _writeSetDigests.Clear();
        _claimsDigests.Clear();
        for (long i = 0; i <= seqno; i++)
        {
            _terms.Add(i == seqno ? snapshot.TxId.View : -1);
            _writeSetDigests.Add(default);
            _claimsDigests.Add(default);
        }

        _snapshotSeqno = seqno;
        _applied = seqno;
        _committed = seqno;
        if (_logger.IsEnabled(LogLevel.Information))
        {
            _logger.LogInformation("Starting from snapshot {File}.", Path.GetFileName(path));
        }
        return (store, MerkleTree.Deserialise(snapshot.CompactedTree), MerkleTree.Deserialise(snapshot.CompactedTree));
    }

    private void RestoreFromLedger(LedgerReader reader, MerkleTree tree)
    {
        foreach (StoredEntry stored in reader.ReadEntries())
        {
            LedgerEntry entry = stored.Entry;
            if (entry.TxId.Seqno <= _snapshotSeqno)
            {
                continue; // covered by the snapshot
            }

            if (entry.TxId.Seqno != _store.Version + 1)
            {
                throw new LedgerFormatException(LedgerFormatError.NotContiguous, $"seqno {entry.TxId.Seqno} follows {_store.Version}", stored.Offset, entry.TxId.Seqno, stored.File);
            }

            if (entry.IsSignature)
            {
                VerifySignature(entry, entry.TxId, tree);
            }

            _store.Apply(entry.WriteSet, entry.TxId.Seqno);
            tree.Append(entry.ComputeLeaf());
            Record(entry);
        }
    }

    /// <summary>Writes a snapshot of the state as of the committed signature at <paramref name="seqno"/> (order lock held).</summary>
    private void TakeSnapshot(long seqno)
    {
        if (_options.SnapshotDirectory is not { } directory)
        {
            return;
        }

        byte[] tree;
        long view;
        lock (_state)
        {
            tree = _compactedTree.Serialise(seqno + 1);
            view = _terms[(int)seqno];
        }

        var snapshot = new NodeSnapshot(new TxId(view, seqno), _store.CaptureState(seqno), tree);
        Directory.CreateDirectory(directory);
        Confide.Tee.Storage.DurableFile.WriteAllBytes(Path.Combine(directory, snapshot.FileName), snapshot.Seal(_options.LedgerSecret));
        _snapshotTaken = seqno;
    }

    private long _snapshotTaken;

    /// <summary>The latest snapshot file of this node, or null.</summary>
    public string? LatestSnapshot => _options.SnapshotDirectory is { } directory ? NodeSnapshot.Latest(directory) : null;

    private void Record(LedgerEntry entry)
    {
        lock (_state)
        {
            int seqno = (int)entry.TxId.Seqno;
            if (seqno != _terms.Count)
            {
                throw new LedgerIntegrityException($"Entry {entry.TxId} is not the next seqno ({_terms.Count}).");
            }

            _terms.Add(entry.TxId.View);
            _compactedTree.Append(entry.ComputeLeaf());
            _writeSetDigests.Add(entry.WriteSetDigest);
            _claimsDigests.Add(entry.ClaimsDigest);
            if (entry.IsSignature)
            {
                _signatures[entry.TxId.Seqno] = SignatureRecord.Parse(entry.WriteSet.Find(InternalMaps.Signatures)!.Writes[0].Value.Span);
                if (entry.WriteSet.Find(InternalMaps.CoseSignatures) is { Writes.Count: > 0 } cose)
                {
                    _coseSignatures[entry.TxId.Seqno] = cose.Writes[0].Value.ToArray();
                }
            }
        }
    }

    private void MarkApplied(long index)
    {
        _applied = index;
        List<TaskCompletionSource> released = [];
        lock (_state)
        {
            if (!_signatures.ContainsKey(index))
            {
                return;
            }

            _committed = index;
            _compactedTree.Flush(index);
            while (_commitWaiters.Count > 0 && _commitWaiters.First().Key <= index)
            {
                KeyValuePair<long, List<TaskCompletionSource>> first = _commitWaiters.First();
                released.AddRange(first.Value);
                _commitWaiters.Remove(first.Key);
            }
        }

        // What is committed is durable in the ledger files too, not only in the consensus log: a
        // disaster recovery starts from these files alone.
        _writer.Commit(index);
        _writer.Flush();
        if (_options.SnapshotTxInterval > 0 && index - Math.Max(_snapshotTaken, _snapshotSeqno) >= _options.SnapshotTxInterval)
        {
            TakeSnapshot(index);
        }

        foreach (TaskCompletionSource waiter in released)
        {
            waiter.TrySetResult();
        }
    }

    private void RollBackLocked(long seqno)
    {
        if (seqno >= _store.Version)
        {
            return;
        }

        _store.Rollback(seqno);
        _appender.Truncate(seqno);
        lock (_state)
        {
            int keep = (int)seqno + 1;
            _terms.RemoveRange(keep, _terms.Count - keep);
            _compactedTree.Truncate(keep);
            _writeSetDigests.RemoveRange(keep, _writeSetDigests.Count - keep);
            _claimsDigests.RemoveRange(keep, _claimsDigests.Count - keep);
            foreach (long signature in _signatures.Keys.Where(s => s > seqno).ToList())
            {
                _signatures.Remove(signature);
                _coseSignatures.Remove(signature);
            }
        }
    }

    private void OnLeaderChanged(System.Net.EndPoint? leader) => _ = StepDownIfDeposedAsync();

    private async Task StepDownIfDeposedAsync()
    {
        await _order.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!Consensus.IsLeader)
            {
                Volatile.Write(ref _readyTerm, -1);
                RollBackLocked(_applied);
            }
        }
        finally
        {
            _order.Release();
        }
    }

    private async Task SignatureLoopAsync(CancellationToken cancellationToken)
    {
        var tick = TimeSpan.FromMilliseconds(Math.Clamp(_options.SignatureDelay.TotalMilliseconds / 4, 1, 50));
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(tick, cancellationToken).ConfigureAwait(false);
                if (IsSignatureDue())
                {
                    await EmitSignatureAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (NotLeaderException)
            {
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Emitting a signature transaction failed.");
            }
        }
    }

    private bool IsSignatureDue()
    {
        long first = Interlocked.Read(ref _firstUnsignedAt);
        return _consensus is { IsLeader: true } && first != 0
            && (Volatile.Read(ref _unsignedSince) >= _options.SignatureTxInterval || Environment.TickCount64 - first >= _options.SignatureDelay.TotalMilliseconds);
    }

    /// <summary>Appends a signature transaction over the root of everything before it.</summary>
    internal async Task EmitSignatureAsync(CancellationToken cancellationToken)
    {
        await EnsureReadyToLeadAsync(cancellationToken).ConfigureAwait(false);
        long term;
        ValueTask<LogPosition> appending;
        await _order.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            term = Consensus.Term;
            if (Volatile.Read(ref _readyTerm) != term)
            {
                return;
            }

            Interlocked.Exchange(ref _unsignedSince, 0);
            Interlocked.Exchange(ref _firstUnsignedAt, 0);
            LedgerEntry? entry = null;
            _store.ApplyNext(
                seqno => SignatureWriteSet(new TxId(ViewOfTerm(term), seqno), _appender.Tree.GetRoot(seqno), CompactedTree(seqno)),
                (seqno, writeSet) => entry = _appender.Append(new TxId(ViewOfTerm(term), seqno), writeSet));
            appending = AppendLocalEntryLocked(entry!, term);

            // The signature itself is not a transaction that needs signing.
            Interlocked.Decrement(ref _unsignedSince);
            Interlocked.Exchange(ref _firstUnsignedAt, 0);
        }
        finally
        {
            _order.Release();
        }

        await CompleteAppendAsync(appending, term).ConfigureAwait(false);
    }

    /// <summary>The tree as of <paramref name="seqno"/>, compacted to the last commit (CCF's public:ccf.internal.tree row): enough to name a damaged entry offline.</summary>
    private byte[] CompactedTree(long seqno)
    {
        lock (_state)
        {
            return _compactedTree.Serialise(seqno);
        }
    }

    /// <summary>
    /// The view of entries appended in a consensus term. Views start at 1 (a single-node engine may
    /// lead in term 0), and a recovered service continues above the views of the ledger it recovered.
    /// </summary>
    private long ViewOfTerm(long term) => term + _options.ViewOffset;

    private void ThrowIfFailed()
    {
        if (_failure is not null)
        {
            throw new LedgerIntegrityException($"This node stopped: {_failure.Message}", _failure);
        }
    }
}

/// <summary>What a read-write handler decides: its value, whether its writes are applied (CCF applies them on a 2xx answer), and an optional claims digest.</summary>
public readonly record struct TransactionOutcome<T>(T Value, bool ApplyWrites = true, Sha256Hash ClaimsDigest = default);

/// <summary>The value of a write and its transaction id (null when nothing was written).</summary>
public readonly record struct WriteResult<T>(T Value, TxId? TxId);

/// <summary>The value of a read and the id of the last write it could see.</summary>
public readonly record struct ReadResult<T>(T Value, TxId TxId);

/// <summary>An entry that does not fit the ledger this node holds: a forged, altered or skipped one. The node stops applying.</summary>
public sealed class LedgerIntegrityException(string message, Exception? inner = null) : Exception(message, inner);
