using System.Net;
using System.Net.Security;

namespace Confide.Ledger.Consensus;

/// <summary>Settings of <see cref="RaftConsensus"/>.</summary>
public sealed class RaftConsensusOptions
{
    /// <summary>Where this node listens for consensus traffic (TCP).</summary>
    public required IPEndPoint EndPoint { get; init; }

    /// <summary>Every voting member, this node included. The initial configuration of a fresh cluster.</summary>
    public required IReadOnlyList<IPEndPoint> Members { get; init; }

    /// <summary>Where the Raft write-ahead log lives (the engine's own files; the ledger is separate).</summary>
    public required string LogDirectory { get; init; }

    /// <summary>
    /// Election timeout range. Seconds, as in CCF (5 s by default there): on a busy 2-core machine a
    /// sub-second timeout lets CPU starvation depose healthy leaders (our DotNext trial saw it).
    /// </summary>
    public TimeSpan LowerElectionTimeout { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan UpperElectionTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Time to wait for a peer's answer to one consensus message; null: the lower election timeout.
    /// A leader whose heartbeat round gets no majority within it steps down, so a short timeout
    /// turns a CPU-saturated moment into an election (measured: 500 ms with 256 clients on 2 cores
    /// gave a new term every 5 s).
    /// </summary>
    public TimeSpan? RequestTimeout { get; init; }

    /// <summary>Server and client TLS for node-to-node traffic (mutual, with node certificates); null: plain TCP.</summary>
    public SslServerAuthenticationOptions? ServerTls { get; init; }

    public SslClientAuthenticationOptions? ClientTls { get; init; }
}
