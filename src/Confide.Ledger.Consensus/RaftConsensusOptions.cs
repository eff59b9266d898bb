using System.Net;
using System.Net.Security;

namespace Confide.Ledger.Consensus;

/// <summary>Settings of <see cref="RaftConsensus"/>.</summary>
public sealed class RaftConsensusOptions
{
    /// <summary>Where this node listens for consensus traffic (TCP): a local address, or 0.0.0.0 for every interface.</summary>
    public required IPEndPoint EndPoint { get; init; }

    /// <summary>
    /// This node as the members list names it and the other nodes reach it: an IP endpoint or a DNS
    /// name (see <see cref="NodeAddress"/> for the one form a name must take); null: <see cref="EndPoint"/>.
    /// </summary>
    public EndPoint? PublicEndPoint { get; init; }

    /// <summary>
    /// Every voting member by its public address, this node included: the initial configuration of
    /// a fresh cluster. Each is an <see cref="IPEndPoint"/> or a <see cref="System.Net.DnsEndPoint"/> in
    /// the form <see cref="NodeAddress.IsCanonical"/> accepts.
    /// </summary>
    public required IReadOnlyList<EndPoint> Members { get; init; }

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
    /// turns a CPU-saturated moment into an election (measured: 500 ms with 256 clients and other
    /// load on 2 cores gave a new term every ~5 s).
    /// </summary>
    public TimeSpan? RequestTimeout { get; init; }

    /// <summary>
    /// Server and client TLS for node-to-node traffic (mutual, with node certificates); null: plain
    /// TCP. Certificates may be chosen per handshake (the selection callbacks), so that a renewed
    /// certificate is presented without restarting the consensus.
    /// </summary>
    public SslServerAuthenticationOptions? ServerTls { get; init; }

    public SslClientAuthenticationOptions? ClientTls { get; init; }
}
