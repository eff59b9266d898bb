using System.Buffers;
using System.Net;
using DotNext.IO;
using DotNext.Net.Cluster;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using DotNextNotLeader = DotNext.Net.Cluster.Consensus.Raft.NotLeaderException;

namespace Confide.Ledger.Consensus;

/// <summary>
/// <see cref="IConsensus"/> on DotNext's Raft (TCP transport, its write-ahead log). The log is
/// never compacted into engine snapshots: the ledger is the record a node restarts from, and a
/// lagging follower catches up from the log itself.
/// </summary>
public sealed class RaftConsensus : IConsensus
{
    private const int WalChunkSize = 4 * 1024 * 1024;

    /// <summary>Appends are grouped into one engine entry up to this size (a larger single payload is its own entry).</summary>
    private const int MaxBatchBytes = 1024 * 1024;

    private readonly RaftCluster _cluster;
    private readonly WriteAheadLog _log;
    private readonly StateMachineAdapter _machine;
    private readonly Lock _batchLock = new();
    private List<PendingAppend> _batch = [];
    private bool _writingBatches;
    private int _disposed;
    private int _flushRequested;
    private int _flushing;

    private RaftConsensus(RaftCluster cluster, WriteAheadLog log, StateMachineAdapter machine, EndPoint endPoint)
    {
        _cluster = cluster;
        _log = log;
        _machine = machine;
        LocalEndPoint = endPoint;
        _cluster.LeaderChanged += (_, leader) => LeaderChanged?.Invoke(leader?.EndPoint);
    }

    public EndPoint LocalEndPoint { get; }

    public bool IsLeader => !_cluster.LeadershipToken.IsCancellationRequested;

    public EndPoint? Leader => _cluster.Leader?.EndPoint;

    public long Term => ((IPersistentState)_log).Term;

    public long CommitIndex => _log.LastCommittedEntryIndex;

    public long LastIndex => _log.LastEntryIndex;

    public event Action<EndPoint?>? LeaderChanged;

    /// <summary>Opens (or creates) the node's log, replaying it into <paramref name="stateMachine"/> once started.</summary>
    public static async Task<RaftConsensus> CreateAsync(RaftConsensusOptions options, IReplicatedStateMachine stateMachine, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stateMachine);

        // Endpoints are compared by value everywhere (the engine's member ids, the leader, the
        // node's peer list): a name in another spelling or family would be another member.
        EndPoint publicEndPoint = options.PublicEndPoint ?? options.EndPoint;
        foreach (EndPoint member in options.Members.Append(publicEndPoint))
        {
            if (member is null || !NodeAddress.IsCanonical(member))
            {
                throw new ArgumentException($"'{member?.ToString() ?? "null"}' is not an IP endpoint or a DNS endpoint with a lower-case name and an unspecified address family (NodeAddress.TryParse builds those).", nameof(options));
            }
        }

        if (!options.Members.Contains(publicEndPoint))
        {
            throw new ArgumentException($"The members ({string.Join(", ", options.Members.Select(NodeAddress.Format))}) must include this node's public endpoint {NodeAddress.Format(publicEndPoint)}.", nameof(options));
        }

        var configuration = new RaftCluster.TcpConfiguration(options.EndPoint)
        {
            PublicEndPoint = publicEndPoint,
            LowerElectionTimeout = (int)options.LowerElectionTimeout.TotalMilliseconds,
            UpperElectionTimeout = (int)options.UpperElectionTimeout.TotalMilliseconds,
            RequestTimeout = options.RequestTimeout ?? options.LowerElectionTimeout,
            TransmissionBlockSize = 65536,
            ColdStart = false,
            ConfigurationStorage = null!, // null: DotNext's in-memory storage, filled from Members below
            LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance,
            SslOptions = Tls(options),
        };

        var members = ((InMemoryClusterConfigurationStorage<EndPoint>)configuration.ConfigurationStorage).CreateInitialConfigurationBuilder();
        foreach (EndPoint member in options.Members)
        {
            members.Add(member);
        }

        members.Build();

        Directory.CreateDirectory(options.LogDirectory);
        var machine = new StateMachineAdapter(Directory.CreateDirectory(Path.Combine(options.LogDirectory, "snapshots")), stateMachine);
        await machine.RestoreAsync(cancellationToken).ConfigureAwait(false); // must precede the WAL, which reads where to replay from
        var log = new WriteAheadLog(new WriteAheadLog.Options
        {
            Location = Path.Combine(options.LogDirectory, "wal"),

            // DotNext's default is a 4 KiB chunk file: at ledger rates that is a new file (open,
            // mmap, ftruncate) every few transactions. Entries are still flushed at each commit.
            ChunkSize = WalChunkSize,
        }, machine);
        var cluster = new RaftCluster(configuration) { AuditTrail = log };
        return new RaftConsensus(cluster, log, machine, publicEndPoint);
    }

    public Task StartAsync(CancellationToken cancellationToken = default) => _cluster.StartAsync(cancellationToken);

    public ValueTask<LogPosition> AppendAsync(long term, ReadOnlyMemory<byte> payload, object? context = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        // The token is read before the term: if it is still live after the term was read, this
        // node has led without interruption since, so the term read is the one it leads. The
        // payload is then written in that term or not at all: a payload built for one view and
        // written in a later term would be refused by every node that applies it.
        CancellationToken leadership = _cluster.LeadershipToken;
        long current = ((IPersistentState)_log).Term;
        if (leadership.IsCancellationRequested || current != term)
        {
            throw NotLeader();
        }

        var pending = new PendingAppend(payload, context, term, leadership);
        bool startWriter;
        lock (_batchLock)
        {
            _batch.Add(pending);
            startWriter = !_writingBatches;
            _writingBatches = true;
        }

        if (startWriter)
        {
            _ = Task.Run(WriteBatchesAsync, CancellationToken.None);
        }

        return new ValueTask<LogPosition>(pending.Position.Task);
    }

    /// <summary>
    /// Group commit: whatever was appended while the previous batch was being written goes into
    /// the log as one engine entry, then replication starts. Per-entry costs of the engine (its WAL
    /// append, its flush at commit, one replication record) are then paid once per batch, not once
    /// per transaction. Runs on one task at a time, so batches enter the log in append order.
    /// </summary>
    private async Task WriteBatchesAsync()
    {
        while (true)
        {
            List<PendingAppend> batch;
            lock (_batchLock)
            {
                if (_batch.Count == 0)
                {
                    _writingBatches = false;
                    return;
                }

                batch = _batch;
                _batch = [];
            }

            int start = 0;
            while (start < batch.Count)
            {
                int end = EndOfGroup(batch, start);
                await WriteGroupAsync(batch, start, end).ConfigureAwait(false);
                start = end;
            }

            Flush();
        }
    }

    /// <summary>The end of the run of appends from <paramref name="start"/> that fit one engine entry: same term, bounded size.</summary>
    private static int EndOfGroup(List<PendingAppend> batch, int start)
    {
        long bytes = batch[start].Payload.Length;
        int end = start + 1;
        while (end < batch.Count && batch[end].Term == batch[start].Term && bytes + batch[end].Payload.Length <= MaxBatchBytes)
        {
            bytes += batch[end].Payload.Length;
            end++;
        }

        return end;
    }

    private async Task WriteGroupAsync(List<PendingAppend> batch, int start, int end)
    {
        PendingAppend first = batch[start];
        try
        {
            if (first.Leadership.IsCancellationRequested)
            {
                throw NotLeader();
            }

            object?[] contexts = new object?[end - start];
            var payloads = new ReadOnlyMemory<byte>[end - start];
            for (int i = start; i < end; i++)
            {
                contexts[i - start] = batch[i].Context;
                payloads[i - start] = batch[i].Payload;
            }

            byte[] content = AppendBatch.Encode(payloads);
            // Cancelled with the leadership: a deposed leader stops appending its term's entries.
            long index = await _log.AppendAsync(new BinaryLogEntry { Term = first.Term, Content = content, Context = new BatchContext(content, contexts) }, first.Leadership).ConfigureAwait(false);
            if (first.Leadership.IsCancellationRequested)
            {
                throw NotLeader();
            }

            for (int i = start; i < end; i++)
            {
                batch[i].Position.TrySetResult(new LogPosition(first.Term, index));
            }
        }
        catch (Exception ex)
        {
            Exception reported = ex switch
            {
                NotLeaderException or ObjectDisposedException => ex,
                OperationCanceledException => NotLeader(),
                _ => new NotLeaderException($"Appending to the log failed: {ex.Message}", Leader, ex),
            };
            for (int i = start; i < end; i++)
            {
                batch[i].Position.TrySetException(reported);
            }
        }
    }

    /// <summary>Starts replicating what is in the log without waiting for the next heartbeat.</summary>
    private void Flush()
    {
        // Coalesced: one replication round at a time; batches written during a round start the
        // next one when it ends, so a burst costs a round or two, not a round each.
        if (!IsLeader)
        {
            return;
        }

        Interlocked.Exchange(ref _flushRequested, 1);
        if (Interlocked.CompareExchange(ref _flushing, 1, 0) == 0)
        {
            _ = FlushLoopAsync();
        }
    }

    private async Task FlushLoopAsync()
    {
        do
        {
            while (Interlocked.Exchange(ref _flushRequested, 0) == 1)
            {
                await ForceReplicationAsync().ConfigureAwait(false);
            }

            Volatile.Write(ref _flushing, 0);
        }
        while (Volatile.Read(ref _flushRequested) == 1 && Interlocked.CompareExchange(ref _flushing, 1, 0) == 0);
    }

    public async Task ResignAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await ((DotNext.Net.Cluster.ICluster)_cluster).ResignAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public Task WaitForAppliedAsync(long index, CancellationToken cancellationToken = default) =>
        _log.WaitForApplyAsync(index, cancellationToken).AsTask();

    public async Task<EndPoint> WaitForLeaderAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        IClusterMember? leader = await _cluster.WaitForLeaderAsync(timeout, cancellationToken).ConfigureAwait(false);
        return leader?.EndPoint ?? throw new TimeoutException($"No leader was elected within {timeout.TotalSeconds:0.#} s.");
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _cluster.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
        }

        _cluster.Dispose();
        await _log.DisposeAsync().ConfigureAwait(false);
        await _machine.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>What the leader keeps with an engine entry it appended: the encoded batch and each payload's context.</summary>
    private sealed record BatchContext(byte[] Content, object?[] Contexts);

    private sealed class PendingAppend(ReadOnlyMemory<byte> payload, object? context, long term, CancellationToken leadership)
    {
        public ReadOnlyMemory<byte> Payload { get; } = payload;

        public object? Context { get; } = context;

        public long Term { get; } = term;

        public CancellationToken Leadership { get; } = leadership;

        public TaskCompletionSource<LogPosition> Position { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private NotLeaderException NotLeader() => new($"This node ({NodeAddress.Format(LocalEndPoint)}) is not the leader; the leader is {(Leader is { } leader ? NodeAddress.Format(leader) : "unknown (an election is under way)")}.", Leader);

    private async Task ForceReplicationAsync()
    {
        try
        {
            await _cluster.ForceReplicationAsync(_cluster.LeadershipToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or DotNextNotLeader or ObjectDisposedException)
        {
            // Leadership changed or the node stops: the entries are the new leader's business now.
        }
    }

    private static DotNext.Net.Security.SslOptions? Tls(RaftConsensusOptions options)
    {
        if (options.ServerTls is null && options.ClientTls is null)
        {
            return null;
        }

        var target = new DotNext.Net.Security.SslOptions();
        if (options.ServerTls is { } server)
        {
            target.ServerOptions.ServerCertificate = server.ServerCertificate;
            target.ServerOptions.ServerCertificateContext = server.ServerCertificateContext;
            target.ServerOptions.ServerCertificateSelectionCallback = server.ServerCertificateSelectionCallback;
            target.ServerOptions.ClientCertificateRequired = server.ClientCertificateRequired;
            target.ServerOptions.EnabledSslProtocols = server.EnabledSslProtocols;
            target.ServerOptions.RemoteCertificateValidationCallback = server.RemoteCertificateValidationCallback;
        }

        if (options.ClientTls is { } client)
        {
            target.ClientOptions.ClientCertificates = client.ClientCertificates;
            target.ClientOptions.ClientCertificateContext = client.ClientCertificateContext;
            target.ClientOptions.LocalCertificateSelectionCallback = client.LocalCertificateSelectionCallback;
            target.ClientOptions.TargetHost = client.TargetHost;
            target.ClientOptions.EnabledSslProtocols = client.EnabledSslProtocols;
            target.ClientOptions.RemoteCertificateValidationCallback = client.RemoteCertificateValidationCallback;
        }

        return target;
    }

    /// <summary>Hands DotNext's committed entries to Confide's state machine; never asks for an engine snapshot.</summary>
    private sealed class StateMachineAdapter(DirectoryInfo location, IReplicatedStateMachine target) : SimpleStateMachine(location)
    {
        protected override async ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token)
        {
            if (entry.IsSnapshot || entry.IsConfiguration)
            {
                throw new InvalidDataException($"Unexpected {(entry.IsSnapshot ? "snapshot" : "configuration")} entry at index {entry.Index}: this consensus takes no engine snapshots.");
            }

            // Copied: the engine's buffer is its own once this returns, and the state machine keeps
            // slices of the payload (the values of the write set).
            if (!entry.TryGetPayload(out ReadOnlySequence<byte> sequence) || sequence.IsEmpty)
            {
                return false; // the engine's own no-op of a new term
            }

            ReadOnlyMemory<byte> content = sequence.ToArray();

            // The contexts only go with the very bytes they were appended with: the engine can hand
            // back the context of an entry that a later leader has since replaced at the same
            // index (seen under load: a deposed leader's context with the new leader's entry).
            object?[]? contexts = entry.Context is BatchContext batch && batch.Content.AsSpan().SequenceEqual(content.Span) ? batch.Contexts : null;
            int position = 0;
            foreach (ReadOnlyMemory<byte> payload in AppendBatch.Decode(content, entry.Index))
            {
                object? context = contexts is not null && position < contexts.Length ? contexts[position] : null;
                await target.ApplyAsync(new CommittedEntry(entry.Term, entry.Index, payload, context), token).ConfigureAwait(false);
                position++;
            }

            return false;
        }

        protected override ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token) =>
            throw new NotSupportedException("The ledger consensus takes no engine snapshots.");

        protected override ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token) =>
            throw new InvalidDataException($"Unexpected engine snapshot '{snapshotFile.FullName}': the ledger consensus takes none.");
    }
}
