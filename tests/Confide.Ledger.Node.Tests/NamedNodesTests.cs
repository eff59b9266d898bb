using static Confide.Ledger.Node.Tests.NodeHttp;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Attestation.Verification;
using Confide.Ledger.Node.Hosting;
using Confide.Ledger.Node.Http;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Ledger.Node.Tests;

/// <summary>
/// A three-node service whose nodes know each other only by DNS name (localhost:port), as the pods
/// of a StatefulSet do: each listens on 127.0.0.1, joins by name, and the service elects,
/// commits, and forwards a write sent to a follower to the leader it knows by name.
/// </summary>
public sealed class NamedNodesTests : IAsyncDisposable
{
    private const string Host = "localhost";

    private readonly string _root = Directory.CreateTempSubdirectory("confide-ledger-named-").FullName;
    private readonly X509Certificate2 _user;
    private readonly SimulatedPlatform _platform;
    private readonly List<IDisposable> _owned = [];
    private readonly List<LedgerNodeHost> _hosts = [];

    public NamedNodesTests()
    {
        _user = TestUsers.Create("user");
        _platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_root, "platform"));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Nodes_addressed_by_dns_names_join_commit_and_forward_writes_to_the_leader()
    {
        Node[] nodes = [.. Enumerable.Range(0, 3).Select(_ => new Node(Free(), Free()))];
        var genesis = new ServiceGenesis();
        genesis.Users.Add(X509CertificateLoader.LoadCertificate(_user.RawData));
        _hosts.Add(await LedgerNodeHost.StartAsync(Options(0, nodes, genesis: genesis), Ct));
        X509Certificate2 service = X509CertificateLoader.LoadCertificate(_hosts[0].ServiceCertificate.RawData);
        _owned.Add(service);
        _hosts.Add(await LedgerNodeHost.StartAsync(Options(1, nodes, join: service), Ct));
        _hosts.Add(await LedgerNodeHost.StartAsync(Options(2, nodes, join: service), Ct));

        // Each node gives out its name, not the address it listens on.
        Assert.Equal(nodes.Select(n => n.Url), _hosts.Select(h => h.Url));
        Assert.Equal(nodes.Select(n => (EndPoint)n.Name), _hosts.Select(h => h.Node.Consensus.LocalEndPoint));

        // The client checks host names as well as the service's endorsement: every certificate names the node.
        using HttpClient client = new(new SocketsHttpHandler
        {
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 peer && ServiceIdentity.IsIssuedBy(peer, service) && peer.MatchesHostname(Host),
                ClientCertificates = [_user],
            },
        });

        int leader = await LeaderAsync();
        using (HttpResponseMessage written = await RetryAsync(() => client.PostAsJsonAsync(new Uri(nodes[leader].Url, "/app/log/blocking/private"), new { id = 1, msg = "to the leader" }, Ct)))
        {
            Assert.Equal(HttpStatusCode.OK, written.StatusCode);
        }

        // A follower forwards to the leader it knows by name (it cannot write itself); the answer comes on commit.
        int follower = (leader + 1) % 3;
        using (HttpResponseMessage forwarded = await RetryAsync(() => client.PostAsJsonAsync(new Uri(nodes[follower].Url, "/app/log/blocking/private"), new { id = 2, msg = "through a follower" }, Ct)))
        {
            Assert.Equal(HttpStatusCode.OK, forwarded.StatusCode);
            Assert.Single(forwarded.Headers.GetValues(LedgerServer.TransactionIdHeader));
        }

        foreach (Node node in nodes)
        {
            JsonObject record = await WaitForAsync(() => TryGetAsync(client, new Uri(node.Url, "/app/log/private?id=2")));
            Assert.Equal("through a follower", (string?)record["msg"]);
        }

        // The nodes recorded their names, and the leader is found among them by its name.
        JsonObject listed = await WaitForAsync(async () => await TryGetAsync(client, new Uri(nodes[follower].Url, "/node/network/nodes")) is { } n && n["nodes"]!.AsArray().Count(x => x?["node_to_node_address"] is not null) == 3 ? n : null);
        Assert.Equal(
            nodes.Select(n => ($"{Host}:{n.Url.Port}", $"{Host}:{n.Raft.Port}")).Order(),
            listed["nodes"]!.AsArray().Select(x => ((string)x!["rpc_address"]!, (string)x["node_to_node_address"]!)).Order());
        await WaitForAsync(async () => await TryGetAsync(client, new Uri(nodes[follower].Url, "/node/network")) is { } n && (string?)n["primary_id"] == _hosts[await LeaderAsync()].NodeId ? n : null);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (LedgerNodeHost host in _hosts)
        {
            await host.DisposeAsync();
        }

        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }

        _user.Dispose();
        _platform.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>One node: the ports it listens on at 127.0.0.1, and the names the others know it by.</summary>
    private sealed record Node(IPEndPoint Raft, IPEndPoint Rpc)
    {
        public DnsEndPoint Name { get; } = new(Host, Raft.Port);

        public Uri Url { get; } = new($"https://{Host}:{Rpc.Port}");
    }

    private LedgerNodeHostOptions Options(int i, Node[] nodes, ServiceGenesis? genesis = null, X509Certificate2? join = null)
    {
        var tee = new SimulationTee(_platform, LedgerIdentity.Simulated());
        _owned.Add(tee);
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(_platform.RootCertificate);
        return new LedgerNodeHostOptions
        {
            DataDirectory = Path.Combine(_root, $"n{i}"),
            NodeToNode = nodes[i].Name,
            NodeToNodeListen = nodes[i].Raft,
            Rpc = nodes[i].Url,
            RpcListen = nodes[i].Rpc,
            Peers = Enumerable.Range(0, nodes.Length).Where(p => p != i).ToDictionary(p => (EndPoint)nodes[p].Name, p => nodes[p].Url),
            Tee = tee,
            Genesis = genesis,
            JoinTarget = join is null ? null : nodes[0].Url,
            ServiceCertificate = join,
            Verifier = verifier,
            AllowSimulatedJoiners = true,
            SignatureDelay = TimeSpan.FromMilliseconds(20),
            LowerElectionTimeout = TimeSpan.FromMilliseconds(500),
            UpperElectionTimeout = TimeSpan.FromMilliseconds(1000),
            RequestTimeout = TimeSpan.FromSeconds(2), // a busy moment of the machine must not depose the leader mid-test
        };
    }

    private async Task<int> LeaderAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            int leader = _hosts.FindIndex(h => h.Node.Consensus.IsLeader);
            if (leader >= 0)
            {
                return leader;
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    private static IPEndPoint Free() => Confide.Tests.LoopbackPorts.NextEndPoint();
}
