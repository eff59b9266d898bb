using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Ledger.Consensus;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;

namespace Confide.Ledger.Node.Tests;

/// <summary>
/// What a leader does when the consensus misbehaves in ways a real cluster only shows under load:
/// an append reported failed that reached the log anyway, and an apply that throws.
/// </summary>
public sealed class LeaderSafetyTests : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("confide-leader-safety-").FullName;
    private readonly ServiceIdentity _service = ServiceIdentity.Create();
    private readonly ECDsa _key = ServiceIdentity.CreateNodeKey();
    private readonly ScriptedConsensus _consensus = new();
    private LedgerNode? _node;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_leader_never_queues_the_same_seqno_twice_in_a_view_it_resigns_instead()
    {
        LedgerNode node = StartNode();

        // The consensus reports the append failed, but the payload is in its log (as when the
        // leadership wavers right after the engine wrote it).
        // The write's fate is unknown, not refused: it is not to be run again elsewhere (it may
        // commit), and the caller gets its id to ask its status.
        _consensus.FailAppendsAfterWriting = true;
        WriteOutcomeUnknownException unknown = await Assert.ThrowsAsync<WriteOutcomeUnknownException>(() => node.ExecuteWriteAsync(tx => Put(tx, "first"), Ct));
        Assert.IsType<NotLeaderException>(unknown.InnerException);
        Assert.Contains(unknown.TransactionId.ToString(), unknown.Message, StringComparison.Ordinal);

        // Still leader of the same term, the node rolled its store back and would now write the
        // same seqno again with other content: a fork. It resigns instead.
        _consensus.FailAppendsAfterWriting = false;
        NotLeaderException refused = await Assert.ThrowsAsync<NotLeaderException>(() => node.ExecuteWriteAsync(tx => Put(tx, "second"), Ct));
        Assert.Contains("resigned", refused.Message, StringComparison.Ordinal);
        Assert.True(_consensus.Resigned);
        Assert.Single(_consensus.Appended);
    }

    [Fact]
    public async Task An_entry_the_node_cannot_apply_stops_it_with_the_reason_instead_of_ending_the_engine_loop()
    {
        LedgerNode node = StartNode();
        IReplicatedStateMachine machine = node;

        // Garbage where a ledger entry should be: the apply records the failure and returns.
        await machine.ApplyAsync(new CommittedEntry(1, 2, new byte[] { 1, 2, 3 }, null), Ct);

        Assert.NotNull(node.Failure);
        await Assert.ThrowsAsync<LedgerIntegrityException>(() => node.ExecuteWriteAsync(tx => Put(tx, "after"), Ct));
    }

    public async ValueTask DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }

        _key.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private LedgerNode StartNode()
    {
        X509Certificate2 certificate = _service.EndorseNode(_key, ["127.0.0.1"], TimeSpan.FromDays(1));
        _node = new LedgerNode(new LedgerNodeOptions
        {
            LedgerDirectory = Path.Combine(_root, "ledger"),
            LedgerSecret = LedgerSecret.FromBytes(RandomNumberGenerator.GetBytes(LedgerSecret.Size)),
            Signer = new EcdsaLedgerSigner(_key, certificate),
            ServiceCertificate = _service.Certificate,
            SignatureDelay = TimeSpan.FromHours(1), // no signature transaction gets in the way
        });
        _node.Attach(_consensus);
        return _node;
    }

    private static TransactionOutcome<bool> Put(Transaction tx, string value)
    {
        tx.GetMap("records").PutString("key", value);
        return new TransactionOutcome<bool>(true);
    }

    /// <summary>A single-node consensus whose appends can be made to fail after they reached the log.</summary>
    private sealed class ScriptedConsensus : IConsensus
    {
        public List<ReadOnlyMemory<byte>> Appended { get; } = [];

        public bool FailAppendsAfterWriting { get; set; }

        public bool Resigned { get; private set; }

        public EndPoint LocalEndPoint { get; } = new IPEndPoint(IPAddress.Loopback, 1);

        public bool IsLeader => !Resigned;

        public EndPoint? Leader => Resigned ? null : LocalEndPoint;

        public long Term => 1;

        public long CommitIndex => Appended.Count;

        public long LastIndex => Appended.Count;

        public event Action<EndPoint?>? LeaderChanged;

        public Task StartAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public ValueTask<LogPosition> AppendAsync(long term, ReadOnlyMemory<byte> payload, object? context = null, CancellationToken cancellationToken = default)
        {
            Appended.Add(payload);
            return FailAppendsAfterWriting
                ? ValueTask.FromException<LogPosition>(new NotLeaderException("The leadership wavered after the write.", LocalEndPoint))
                : ValueTask.FromResult(new LogPosition(term, Appended.Count));
        }

        public Task ResignAsync(CancellationToken cancellationToken = default)
        {
            Resigned = true;
            LeaderChanged?.Invoke(null);
            return Task.CompletedTask;
        }

        public Task WaitForAppliedAsync(long index, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<EndPoint> WaitForLeaderAsync(TimeSpan timeout, CancellationToken cancellationToken = default) => Task.FromResult(LocalEndPoint);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
