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

    /// <summary>Time to wait for a peer's answer to one consensus message.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Server and client TLS for node-to-node traffic (mutual, with node certificates); null: plain TCP.</summary>
    public SslServerAuthenticationOptions? ServerTls { get; init; }

    public SslClientAuthenticationOptions? ClientTls { get; init; }
}
