using System.Net;

namespace Confide.Ledger.Consensus;

/// <summary>
/// The consensus a ledger node runs on: a replicated, totally ordered log. The node appends
/// payloads while it is the leader; every node's <see cref="IReplicatedStateMachine"/> receives
/// the committed entries, in order, with their position (term, index). The term is CCF's view;
/// the seqno is the node's own dense count, since the engine's index also counts its no-ops.
/// </summary>
/// <remarks>
/// Confide's own interface, so that the engine behind it (DotNext Raft today) can change without
/// touching the node: the engine's on-disk and wire formats are its own business.
/// </remarks>
public interface IConsensus : IAsyncDisposable
{
    /// <summary>This node's public consensus address, as the members list holds it (equal to <see cref="Leader"/> while this node leads).</summary>
    EndPoint LocalEndPoint { get; }

    /// <summary>True while this node is the leader (the only node that may append).</summary>
    bool IsLeader { get; }

    /// <summary>The leader's consensus address, when one is known.</summary>
    EndPoint? Leader { get; }

    /// <summary>The current term (CCF's view).</summary>
    long Term { get; }

    /// <summary>The highest index known to be committed by a majority.</summary>
    long CommitIndex { get; }

    /// <summary>The highest index in this node's log, committed or not.</summary>
    long LastIndex { get; }

    /// <summary>Raised when the leader changes (the argument is the new leader, or null during an election).</summary>
    event Action<EndPoint?>? LeaderChanged;

    Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends <paramref name="payload"/> to the log as the leader of <paramref name="term"/>, the
    /// term the caller built it for (its view): a payload is never written in another term. The payload is queued at once,
    /// in call order, so the caller may await the returned task outside its own locks; the task
    /// completes with the payload's position once it is in this node's log (before it is
    /// committed), and replication starts then. Payloads appended while an earlier batch is being
    /// written share one engine entry, so positions may repeat an index. <paramref name="context"/>
    /// reaches this node's state machine with the payload (so the leader need not decode what it
    /// has just encoded).
    /// </summary>
    /// <exception cref="NotLeaderException">This node does not lead <paramref name="term"/>, or lost the leadership before the payload was in its log.</exception>
    ValueTask<LogPosition> AppendAsync(long term, ReadOnlyMemory<byte> payload, object? context = null, CancellationToken cancellationToken = default);

    /// <summary>Gives up the leadership, if this node holds it: the others elect a leader in a new term.</summary>
    Task ResignAsync(CancellationToken cancellationToken = default);

    /// <summary>Waits until this node's state machine has applied the entry at <paramref name="index"/>.</summary>
    Task WaitForAppliedAsync(long index, CancellationToken cancellationToken = default);

    /// <summary>Waits until some node is leader and returns its address.</summary>
    /// <exception cref="TimeoutException">No leader within <paramref name="timeout"/>.</exception>
    Task<EndPoint> WaitForLeaderAsync(TimeSpan timeout, CancellationToken cancellationToken = default);
}

/// <summary>A position in the replicated log: CCF's transaction id view.seqno.</summary>
public readonly record struct LogPosition(long Term, long Index)
{
    public override string ToString() => $"{Term}.{Index}";
}

/// <summary>
/// A payload the consensus delivers once it is committed, with the position of the engine entry
/// that holds it: payloads appended together share an index, and the engine's own entries (a new
/// leader's no-op) are not delivered, so indexes can have gaps.
/// </summary>
public readonly record struct CommittedEntry(long Term, long Index, ReadOnlyMemory<byte> Payload, object? Context);

/// <summary>What receives the committed payloads: called one at a time, in append order, never concurrently.</summary>
public interface IReplicatedStateMachine
{
    ValueTask ApplyAsync(CommittedEntry entry, CancellationToken cancellationToken);
}

/// <summary>The operation needs the leader, and this node is not (or stopped being) the leader.</summary>
public sealed class NotLeaderException(string message, EndPoint? leader, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The leader as this node knows it, for forwarding or redirecting.</summary>
    public EndPoint? Leader { get; } = leader;
}
