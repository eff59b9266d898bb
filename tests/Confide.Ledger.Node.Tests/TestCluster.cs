using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Verification;
using Confide.Ledger.Consensus;
using Confide.Ledger.Ledger;
using Confide.Ledger.Node.Hosting;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls.Certificates;

namespace Confide.Ledger.Node.Tests;

/// <summary>
/// A service of <c>n</c> ledger nodes on 127.0.0.1 in this process, sharing one service identity and
/// ledger secret. Each node runs on a simulated TEE of one private platform, and nodes talk over
/// mutual attested TLS (<see cref="NodeChannels"/>) as real ones do.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    private readonly IPEndPoint[] _endPoints;
    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(LedgerSecret.Size);
    private readonly List<IDisposable> _owned = [];

    public TestCluster(int count, TimeSpan? signatureDelay = null, int signatureTxInterval = 5000, bool http = false)
    {
        Root = Directory.CreateTempSubdirectory("confide-ledger-node-tests-").FullName;
        Platform = SimulatedPlatform.OpenOrCreate(Path.Combine(Root, "platform"));
        Verifier.SimulationRoots.Add(Platform.RootCertificate);
        Genesis.CodeIds.Add(Code.UniqueIdHex);
        _endPoints = [.. Enumerable.Range(0, count).Select(_ => Free())];
        Http = http;
        Urls = [.. Enumerable.Range(0, count).Select(_ => new Uri($"https://127.0.0.1:{Free().Port}"))];
        Servers = new Http.LedgerServer?[count];
        Nodes = new LedgerNode?[count];
        Consensus = new RaftConsensus?[count];
        Channels = new NodeChannels?[count];
        SignatureDelay = signatureDelay ?? TimeSpan.FromMilliseconds(20);
        SignatureTxInterval = signatureTxInterval;
    }

    public string Root { get; }

    /// <summary>The simulated platform every node's TEE runs on.</summary>
    public SimulatedPlatform Platform { get; }

    /// <summary>The code the nodes run (its unique id is the service's allowed code id).</summary>
    public static TeeIdentity Code { get; } = new(TeeKind.Simulation, SHA256.HashData("test ledger code"u8), SHA256.HashData("test ledger signer"u8), LedgerIdentity.ProductId, 1, false);

    /// <summary>How nodes verify each other's evidence: the platform's simulation root.</summary>
    public QuoteVerifierOptions Verifier { get; } = new();

    public bool Http { get; }

    public Uri[] Urls { get; }

    /// <summary>The service's ledger secret (a new instance; the caller disposes it).</summary>
    public LedgerSecret Secret() => LedgerSecret.FromBytes(_secret);

    public Http.LedgerServer?[] Servers { get; }

    /// <summary>The genesis every node could write (the first leader does).</summary>
    public Http.ServiceGenesis Genesis { get; } = new();

    public ServiceIdentity Service { get; } = ServiceIdentity.Create();

    public LedgerNode?[] Nodes { get; }

    public RaftConsensus?[] Consensus { get; }

    public NodeChannels?[] Channels { get; }

    public TimeSpan SignatureDelay { get; }

    public int SignatureTxInterval { get; }

    public string LedgerDirectory(int i) => Path.Combine(Root, $"node{i}", "ledger");

    public string SnapshotDirectory(int i) => Path.Combine(Root, $"node{i}", "snapshots");

    /// <param name="endorsedBy">Who endorses the node's certificates (default: the service; another identity makes a rogue node).</param>
    /// <param name="code">The code the node runs (default: <see cref="Code"/>; another makes a node of code the service does not allow).</param>
    public async Task StartAsync(int i, CancellationToken cancellationToken, ServiceIdentity? endorsedBy = null, TeeIdentity? code = null)
    {
        var key = ServiceIdentity.CreateNodeKey();
        X509Certificate2 certificate = (endorsedBy ?? Service).EndorseNode(key, ["127.0.0.1"], TimeSpan.FromDays(1));
        var secret = LedgerSecret.FromBytes(_secret);
        var tee = new SimulationTee(Platform, code ?? Code);
        AttestedCertificateProvider nodeToNode = await NodeChannels.CreateCertificateAsync(tee, key, certificate, endorsedBy ?? Service, cancellationToken);
        _owned.Add(key);
        _owned.Add(certificate);
        _owned.Add(secret);
        _owned.Add(tee);
        _owned.Add(nodeToNode);
        var node = new LedgerNode(new LedgerNodeOptions
        {
            LedgerDirectory = LedgerDirectory(i),
            LedgerSecret = secret,
            Signer = new EcdsaLedgerSigner(key, certificate),
            ServiceCertificate = Service.Certificate,
            ServiceKey = Service.Key,
            SignatureDelay = SignatureDelay,
            SignatureTxInterval = SignatureTxInterval,
            SnapshotDirectory = SnapshotDirectory(i),
            SnapshotTxInterval = 10,
        });
        var channels = new NodeChannels(new NodeChannelsOptions
        {
            ServiceCertificate = Service.Certificate,
            Certificate = nodeToNode,
            AllowedCodeIds = () => LedgerNodeHost.AllowedCodeIds(node, Genesis),
            AllowSimulation = true,
            Verifier = Verifier,
        });
        RaftConsensus consensus = await RaftConsensus.CreateAsync(new RaftConsensusOptions
        {
            EndPoint = _endPoints[i],
            Members = _endPoints,
            LogDirectory = Path.Combine(Root, $"node{i}", "raft"),
            LowerElectionTimeout = TimeSpan.FromMilliseconds(600),
            UpperElectionTimeout = TimeSpan.FromMilliseconds(1200),
            // Short elections keep the tests quick; a longer wait for answers keeps a busy moment
            // of this 2-core machine from deposing a healthy leader mid-test (see RequestTimeout).
            RequestTimeout = TimeSpan.FromSeconds(2),
            ServerTls = channels.ServerOptions(),
            ClientTls = channels.ClientOptions(),
        }, node, cancellationToken: cancellationToken);
        node.Attach(consensus);
        Channels[i] = channels;
        await consensus.StartAsync(cancellationToken);
        Nodes[i] = node;
        Consensus[i] = consensus;
        if (Http)
        {
            Servers[i] = await Confide.Ledger.Node.Http.LedgerServer.StartAsync(node, new Http.LedgerServerOptions
            {
                Url = Urls[i],
                NodeCertificate = certificate,
                NodeChannels = channels,
                Application = Apps.LoggingApp.Create(),
                Peers = Enumerable.Range(0, _endPoints.Length).ToDictionary(n => (EndPoint)_endPoints[n], n => Urls[n]),
                Genesis = Genesis,
                NodeToNodeAddress = _endPoints[i].ToString(),
            }, cancellationToken);
        }
    }

    public async Task StopAsync(int i)
    {
        if (Servers[i] is { } server)
        {
            await server.DisposeAsync();
            Servers[i] = null;
        }

        if (Consensus[i] is { } consensus)
        {
            await consensus.DisposeAsync();
        }

        if (Nodes[i] is { } node)
        {
            await node.DisposeAsync();
        }

        Consensus[i] = null;
        Nodes[i] = null;
        Channels[i] = null;
    }

    public async Task<LedgerNode> LeaderAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            for (int i = 0; i < Nodes.Length; i++)
            {
                if (Consensus[i] is { IsLeader: true })
                {
                    return Nodes[i]!;
                }
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (int i = 0; i < Nodes.Length; i++)
        {
            await StopAsync(i);
        }

        // Newest first: certificate providers before the keys they renew with.
        foreach (IDisposable owned in Enumerable.Reverse(_owned))
        {
            owned.Dispose();
        }

        Service.Dispose();
        Platform.Dispose();
        Directory.Delete(Root, recursive: true);
    }

    private static IPEndPoint Free() => Confide.Tests.LoopbackPorts.NextEndPoint();
}
