using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Attestation.Verification;
using Confide.Ledger.Consensus;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Node.Apps;
using Confide.Ledger.Governance;
using Confide.Ledger.Node.Http;
using Confide.Tee;
using Confide.Tls.Certificates;
using Microsoft.Extensions.Logging;

namespace Confide.Ledger.Node.Hosting;

/// <summary>Settings of a <see cref="LedgerNodeHost"/>.</summary>
public sealed class LedgerNodeHostOptions
{
    /// <summary>Where the node keeps its sealed secrets, its ledger and its consensus log.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>
    /// This node's consensus (node-to-node) address as the other nodes reach it: an
    /// <see cref="IPEndPoint"/>, or a DNS name as <see cref="NodeAddress.TryParse"/> builds it. A name
    /// keeps the static membership valid when the node comes back with another IP address.
    /// </summary>
    public required EndPoint NodeToNode { get; init; }

    /// <summary>Where the consensus server listens; null: <see cref="NodeToNode"/> if it is an IP endpoint, else every IPv4 interface on its port.</summary>
    public IPEndPoint? NodeToNodeListen { get; init; }

    /// <summary>This node's HTTPS address for clients (and for forwarded requests): the host an IP address or a DNS name.</summary>
    public required Uri Rpc { get; init; }

    /// <summary>Where the HTTPS server listens; null: <see cref="Rpc"/>'s host if it is an IP address, else every IPv4 interface on its port.</summary>
    public IPEndPoint? RpcListen { get; init; }

    /// <summary>
    /// The other nodes: consensus address (in <see cref="NodeToNode"/>'s forms) → HTTPS address. The
    /// consensus membership is these and this node; every node must name each node the same way.
    /// </summary>
    public IReadOnlyDictionary<EndPoint, Uri> Peers { get; init; } = new Dictionary<EndPoint, Uri>();

    /// <summary>The TEE the node runs in: it attests the node when it joins and seals its secrets.</summary>
    public required ITee Tee { get; init; }

    /// <summary>Start a new service with this genesis (CCF's <c>start</c>); null to join or restart.</summary>
    public ServiceGenesis? Genesis { get; init; }

    /// <summary>Join the service through this node (CCF's <c>join</c>); needs <see cref="ServiceCertificate"/>.</summary>
    public Uri? JoinTarget { get; init; }

    /// <summary>The service identity a joiner expects its target to present (pinned, as clients do).</summary>
    public X509Certificate2? ServiceCertificate { get; init; }

    /// <summary>How joiners' quotes are verified (roots, simulation roots).</summary>
    public QuoteVerifierOptions Verifier { get; init; } = new();

    /// <summary>Accept joiners, and node-to-node peers, whose evidence comes from the simulation TEE (development only).</summary>
    public bool AllowSimulatedJoiners { get; init; }

    public LedgerApplication Application { get; init; } = LoggingApp.Create();

    public TimeSpan SignatureDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    public int SignatureTxInterval { get; init; } = 5000;

    /// <summary>A snapshot every this many committed transactions (0: only the one a recovery makes).</summary>
    public long SnapshotTxInterval { get; init; } = 10_000;

    public TimeSpan LowerElectionTimeout { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan UpperElectionTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a consensus message waits for a peer's answer; null: the lower election timeout (see <see cref="RaftConsensusOptions.RequestTimeout"/>).</summary>
    public TimeSpan? RequestTimeout { get; init; }

    public ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>
/// A whole ledger node: its secrets (created for a new service, received by attested join, or
/// unsealed on restart), its consensus over mutual attested TLS, the node layer, and its HTTPS API.
/// </summary>
public sealed class LedgerNodeHost : IAsyncDisposable
{
    private readonly NodeSecrets _secrets;
    private readonly RaftConsensus _consensus;
    private readonly LedgerServer _server;
    private readonly QuoteVerifier _verifier;
    private readonly AttestedCertificateProvider _nodeToNodeCertificate;

    private LedgerNodeHost(NodeSecrets secrets, LedgerNode node, RaftConsensus consensus, LedgerServer server, QuoteVerifier verifier, AttestedCertificateProvider nodeToNodeCertificate)
    {
        _secrets = secrets;
        Node = node;
        _consensus = consensus;
        _server = server;
        _verifier = verifier;
        _nodeToNodeCertificate = nodeToNodeCertificate;
    }

    public LedgerNode Node { get; }

    public Uri Url => _server.Url;

    public X509Certificate2 ServiceCertificate => _secrets.Service.Certificate;

    public string NodeId => Node.NodeId;

    /// <summary>The attested certificate this node presents to other nodes now (issued by the service identity, for its node key).</summary>
    public X509Certificate2 NodeToNodeCertificate => _nodeToNodeCertificate.Current;

    /// <summary>How this node got its secrets: "start", "join" or "restart".</summary>
    public string Origin { get; private set; } = "restart";

    public static async Task<LedgerNodeHost> StartAsync(LedgerNodeHostOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckAddresses(options);
        Directory.CreateDirectory(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string origin = "restart";
        NodeSecrets secrets;
        if (NodeSecrets.Exist(options.DataDirectory))
        {
            secrets = NodeSecrets.Load(options.DataDirectory, options.Tee);
        }
        else if (options.JoinTarget is not null)
        {
            secrets = await JoinAsync(options, cancellationToken).ConfigureAwait(false);
            origin = "join";
        }
        else if (options.Genesis is not null)
        {
            secrets = CreateService(options);
            origin = "start";
        }
        else
        {
            throw new ArgumentException($"'{options.DataDirectory}' holds no node; start a new service (a genesis) or join one (a target).", nameof(options));
        }

        try
        {
            if (origin != "restart")
            {
                secrets.Save(options.DataDirectory, options.Tee);
            }

            LedgerNodeHost host = await RunAsync(options, secrets, cancellationToken).ConfigureAwait(false);
            host.Origin = origin;
            return host;
        }
        catch
        {
            secrets.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The names the node's certificate carries: the hosts of its HTTPS and consensus addresses, so
    /// that a client checking host names (curl with the service certificate) accepts the node by
    /// the name it was given. Nodes check each other by endorsement and evidence, not by name.
    /// </summary>
    internal static IReadOnlyList<string> CertificateNames(LedgerNodeHostOptions options) =>
        [.. new[] { options.Rpc.DnsSafeHost, NodeAddress.Host(options.NodeToNode) }.Distinct(StringComparer.Ordinal)];

    /// <summary>Refuses addresses the node could not serve or compare before anything is written: a join or a new service is not undone.</summary>
    /// <exception cref="ArgumentException">An address is not an IP endpoint or DNS name in the one form compared, or a URL is not https to one.</exception>
    internal static void CheckAddresses(LedgerNodeHostOptions options)
    {
        foreach ((EndPoint node, Uri rpc) in options.Peers.Prepend(KeyValuePair.Create(options.NodeToNode, options.Rpc)))
        {
            if (node is null || !NodeAddress.IsCanonical(node))
            {
                throw new ArgumentException($"Node address '{node}' is not an IP endpoint or a DNS endpoint with a lower-case name, an unspecified address family and a port (NodeAddress.TryParse builds those).", nameof(options));
            }

            if (rpc is null || !LedgerServer.IsNodeUrl(rpc))
            {
                throw new ArgumentException($"The HTTPS address '{rpc}' of node {NodeAddress.Format(node)} is not an https URL whose host is an IP address or a DNS name.", nameof(options));
            }
        }
    }

    /// <summary>Where the consensus server binds: a name is no address to bind, so a named node listens on every IPv4 interface.</summary>
    private static IPEndPoint NodeToNodeListenEndPoint(LedgerNodeHostOptions options) => options.NodeToNodeListen ?? options.NodeToNode switch
    {
        IPEndPoint ip => ip,
        DnsEndPoint name => new IPEndPoint(IPAddress.Any, name.Port),
        _ => throw new ArgumentException($"Node address '{options.NodeToNode}' is neither an IP endpoint nor a DNS name.", nameof(options)),
    };

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync().ConfigureAwait(false);
        await _consensus.DisposeAsync().ConfigureAwait(false);
        await Node.DisposeAsync().ConfigureAwait(false);

        // Before the secrets: renewals use the node key and the service key.
        _nodeToNodeCertificate.Dispose();
        _secrets.Dispose();
    }

    private static NodeSecrets CreateService(LedgerNodeHostOptions options)
    {
        var service = ServiceIdentity.Create();
        var nodeKey = ServiceIdentity.CreateNodeKey();
        X509Certificate2 certificate = service.EndorseNode(nodeKey, CertificateNames(options), TimeSpan.FromDays(365));

        // The starting node's own code is allowed to join, as CCF's initial code id.
        var genesis = ServiceGenesis.FromJson(options.Genesis!.ToJson());
        string ownCode = options.Tee.Identity.UniqueIdHex;
        if (!genesis.CodeIds.Contains(ownCode))
        {
            genesis.CodeIds.Add(ownCode);
        }

        return new NodeSecrets(nodeKey, certificate, service, LedgerSecret.Generate(), genesis);
    }

    private static async Task<NodeSecrets> JoinAsync(LedgerNodeHostOptions options, CancellationToken cancellationToken)
    {
        X509Certificate2 service = options.ServiceCertificate ?? throw new ArgumentException("Joining needs the service certificate to pin.", nameof(options));
        var nodeKey = ServiceIdentity.CreateNodeKey();
        using var exchange = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        TeeEvidence evidence = await options.Tee.GetEvidenceAsync(NodeJoin.ReportData(nodeKey, exchange), cancellationToken).ConfigureAwait(false);
        JsonObject request = NodeJoin.CreateRequest(nodeKey, exchange, evidence.Data, evidence.CollateralJson, LedgerServer.Address(options.Rpc), NodeAddress.Format(options.NodeToNode));

        using HttpClient http = ServiceHttp.CreatePinnedClient(service, timeout: TimeSpan.FromSeconds(100));
        for (int attempt = 1; ; attempt++)
        {
            using HttpResponseMessage response = await http.PostAsJsonAsync(new Uri(options.JoinTarget!, "/node/join"), request, cancellationToken).ConfigureAwait(false);
            JsonObject body = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false)
                ?? throw new NodeJoinException(NodeJoinError.Malformed, "The join answer is empty.");
            if (response.StatusCode == HttpStatusCode.Accepted && attempt < 600)
            {
                // Pending: members have not yet voted this node trusted.
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new NodeJoinException(NodeJoinError.EvidenceRefused, $"The service refused to admit this node ({(int)response.StatusCode}): {body["error"]?["message"]}");
            }

            byte[] secrets = NodeJoin.OpenSecrets(exchange, body);
            try
            {
                (byte[] none, byte[] serviceKey, byte[] ledgerSecret) = NodeSecrets.DeserializeSecrets(secrets);
                var serviceEcdsa = ECDsa.Create();
                serviceEcdsa.ImportPkcs8PrivateKey(serviceKey, out _);
                CryptographicOperations.ZeroMemory(serviceKey);
                X509Certificate2 serviceCertificate = X509Certificate2.CreateFromPem((string)body["service_certificate"]!);
                if (!serviceCertificate.RawData.AsSpan().SequenceEqual(service.RawData))
                {
                    throw new NodeJoinException(NodeJoinError.Malformed, "The join answer names another service identity than the one pinned.");
                }

                X509Certificate2 nodeCertificate = NodeSecrets.WithKey(X509Certificate2.CreateFromPem((string)body["node_certificate"]!), nodeKey);
                if (!ServiceIdentity.IsIssuedBy(nodeCertificate, serviceCertificate))
                {
                    throw new NodeJoinException(NodeJoinError.Malformed, "The node certificate in the join answer is not endorsed by the service identity.");
                }

                _ = none;
                ServiceGenesis? genesis = body["genesis"] is JsonObject g ? ServiceGenesis.FromJson(g) : null;
                var secret = LedgerSecret.FromBytes(ledgerSecret);
                CryptographicOperations.ZeroMemory(ledgerSecret);

                // Start from the service's latest snapshot, if it has one (checked with the secret when loaded).
                using (HttpResponseMessage snapshot = await http.GetAsync(new Uri(options.JoinTarget!, "/node/snapshot"), cancellationToken).ConfigureAwait(false))
                {
                    if (snapshot.IsSuccessStatusCode)
                    {
                        byte[] bytes = await snapshot.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                        NodeSnapshot opened = NodeSnapshot.Open(bytes, secret);
                        string directory = Directory.CreateDirectory(Path.Combine(options.DataDirectory, "snapshots")).FullName;
                        Confide.Tee.Storage.DurableFile.WriteAllBytes(Path.Combine(directory, opened.FileName), bytes);
                    }
                }

                NodeHistory history = NodeHistory.FromJson(body["history"] as JsonObject) with { RecoveredSeqno = 0 };
                return new NodeSecrets(nodeKey, nodeCertificate, ServiceIdentity.FromKey(serviceEcdsa, serviceCertificate), secret, genesis, history);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secrets);
            }
        }
    }

    private static async Task<LedgerNodeHost> RunAsync(LedgerNodeHostOptions options, NodeSecrets secrets, CancellationToken cancellationToken)
    {
        var node = new LedgerNode(new LedgerNodeOptions
        {
            LedgerDirectory = Path.Combine(options.DataDirectory, "ledger"),
            LedgerSecret = secrets.LedgerSecret,
            Signer = new EcdsaLedgerSigner(secrets.NodeKey, secrets.NodeCertificate),
            ServiceCertificate = secrets.Service.Certificate,
            ServiceKey = secrets.Service.Key,
            SignatureDelay = options.SignatureDelay,
            SignatureTxInterval = options.SignatureTxInterval,
            SnapshotDirectory = Path.Combine(options.DataDirectory, "snapshots"),
            SnapshotTxInterval = options.SnapshotTxInterval,
            RecoveredSeqno = secrets.History.RecoveredSeqno,
            ViewOffset = secrets.History.ViewOffset,
            PreviousServiceCertificates = secrets.History.PreviousServiceCertificates,
            ServiceEndorsements = secrets.History.ServiceEndorsements,
        }, options.LoggerFactory?.CreateLogger<LedgerNode>());

        // Made at every start, with fresh evidence, so a node restarted on updated code presents it.
        AttestedCertificateProvider nodeToNode = await NodeChannels.CreateCertificateAsync(options.Tee, secrets.NodeKey, secrets.NodeCertificate, secrets.Service, cancellationToken).ConfigureAwait(false);
        try
        {
            return await ServeAsync(options, secrets, node, nodeToNode, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            nodeToNode.Dispose();
            throw;
        }
    }

    /// <summary>The node's consensus and HTTPS server, both speaking mutual attested TLS to other nodes.</summary>
    private static async Task<LedgerNodeHost> ServeAsync(LedgerNodeHostOptions options, NodeSecrets secrets, LedgerNode node, AttestedCertificateProvider nodeToNode, CancellationToken cancellationToken)
    {
        var channels = new NodeChannels(new NodeChannelsOptions
        {
            ServiceCertificate = secrets.Service.Certificate,
            Certificate = nodeToNode,
            AllowedCodeIds = () => AllowedCodeIds(node, secrets.Genesis),
            AllowSimulation = options.AllowSimulatedJoiners,
            Verifier = options.Verifier,
            Logger = options.LoggerFactory?.CreateLogger<NodeChannels>(),
        });
        RaftConsensus consensus = await RaftConsensus.CreateAsync(new RaftConsensusOptions
        {
            EndPoint = NodeToNodeListenEndPoint(options),
            PublicEndPoint = options.NodeToNode,
            Members = [options.NodeToNode, .. options.Peers.Keys],
            LogDirectory = Path.Combine(options.DataDirectory, "consensus"),
            LowerElectionTimeout = options.LowerElectionTimeout,
            UpperElectionTimeout = options.UpperElectionTimeout,
            RequestTimeout = options.RequestTimeout,
            ServerTls = channels.ServerOptions(),
            ClientTls = channels.ClientOptions(),
        }, node, options.LoggerFactory, cancellationToken).ConfigureAwait(false);
        node.Attach(consensus);

        var verifier = new QuoteVerifier(options.Verifier);
        var peers = new Dictionary<EndPoint, Uri> { [options.NodeToNode] = options.Rpc };
        foreach ((EndPoint raft, Uri rpc) in options.Peers)
        {
            peers[raft] = rpc;
        }

        LedgerServer server = await LedgerServer.StartAsync(node, new LedgerServerOptions
        {
            Url = options.Rpc,
            Listen = options.RpcListen,
            NodeCertificate = secrets.NodeCertificate,
            NodeChannels = channels,
            Application = options.Application,
            Peers = peers,
            Genesis = secrets.Genesis,
            History = secrets.History,
            NodeToNodeAddress = NodeAddress.Format(options.NodeToNode),
            LoggerFactory = options.LoggerFactory,
            JoinHandler = (request, ct) => AdmitAsync(request, node, secrets, verifier, options.AllowSimulatedJoiners, ct),
        }, cancellationToken).ConfigureAwait(false);
        await consensus.StartAsync(cancellationToken).ConfigureAwait(false);
        return new LedgerNodeHost(secrets, node, consensus, server, verifier, nodeToNode);
    }

    /// <summary>
    /// The code ids (lower-case hex) a node admits now, for joiners and node-to-node peers:
    /// <c>public:ccf.gov.nodes.code_ids</c> as this node's state has it; before the genesis
    /// transaction is in that state (it needs a second node to commit), the configuration of the
    /// service's start (<paramref name="genesis"/>) rules.
    /// </summary>
    public static IReadOnlySet<string> AllowedCodeIds(LedgerNode node, ServiceGenesis? genesis)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.ExecuteRead(tx => AllowedCodeIds(tx, genesis)).Value;
    }

    private static HashSet<string> AllowedCodeIds(Transaction tx, ServiceGenesis? genesis)
    {
        var allowed = new HashSet<string>(StringComparer.Ordinal);
        tx.GetMap(GovernanceMaps.NodeCodeIds).ForEach((key, _) =>
        {
            // add_node_code takes hex of either case; quotes report lower case.
            allowed.Add(System.Text.Encoding.UTF8.GetString(key.Span).ToLowerInvariant());
            return true;
        });
        if (genesis is not null && tx.GetMap(GovernanceMaps.ServiceInfo).Get(GovernanceMaps.SingletonKey) is null)
        {
            allowed.UnionWith(genesis.CodeIds.Select(id => id.ToLowerInvariant()));
        }

        return allowed;
    }

    /// <summary>
    /// Admits a joiner whose evidence passes: endorses its key and sends it the service secrets
    /// sealed to it. Before the service is open a node is admitted at once (as CCF); once it is
    /// open, the joiner is recorded Pending and admitted only after members vote
    /// <c>transition_node_to_trusted</c> (it keeps asking; until then the answer is 202).
    /// </summary>
    private static async Task<JsonObject> AdmitAsync(JsonObject request, LedgerNode node, NodeSecrets secrets, QuoteVerifier verifier, bool allowSimulation, CancellationToken cancellationToken)
    {
        (HashSet<string> allowed, string? status) = node.ExecuteRead(tx =>
        {
            byte[]? info = tx.GetMap(GovernanceMaps.ServiceInfo).Get(GovernanceMaps.SingletonKey);
            JsonNode? parsed = info is null ? null : JsonNode.Parse(info);

            // A recovered service whose recovery is not recorded yet (it needs a majority, so these
            // joiners) is still opening: the recorded status is the lost service's.
            string? recordedCert = parsed?["cert"]?.GetValue<string>();
            bool recovering = recordedCert is not null && recordedCert != secrets.Service.Certificate.ExportCertificatePem();
            return (AllowedCodeIds(tx, secrets.Genesis), recovering ? "Opening" : parsed?["status"]?.GetValue<string>());
        }).Value;

        var policy = new VerificationPolicy { AllowSimulation = allowSimulation };
        using VerifiedJoin joiner = NodeJoin.Verify(request, verifier, policy, allowed);
        string nodeId = Convert.ToHexStringLower(SHA256.HashData(joiner.NodeKey.ExportSubjectPublicKeyInfo()));
        if (status is "Open")
        {
            string? nodeStatus = node.ExecuteRead(tx => tx.GetMap(GovernanceMaps.Nodes).GetString(nodeId) is { } info ? JsonNode.Parse(info)?["status"]?.GetValue<string>() : null).Value;
            if (nodeStatus is null)
            {
                // Throws NotLeaderException on a follower: the request is then forwarded to the leader.
                await node.ExecuteWriteAsync(tx =>
                {
                    tx.GetMap(GovernanceMaps.Nodes).PutString(nodeId, new JsonObject
                    {
                        ["rpc_address"] = joiner.RpcAddress,
                        ["node_to_node_address"] = joiner.NodeToNodeAddress,
                        ["code_id"] = joiner.CodeId,
                        ["status"] = "Pending",
                    }.ToJsonString());
                    return new TransactionOutcome<bool>(true);
                }, cancellationToken).ConfigureAwait(false);
                nodeStatus = "Pending";
            }

            if (nodeStatus != "Trusted")
            {
                throw new NodeJoinException(NodeJoinError.NotTrustedYet, $"Node {nodeId} is {nodeStatus}: the service is open, so members must vote transition_node_to_trusted for it.");
            }
        }

        using X509Certificate2 endorsed = secrets.Service.EndorseNode(joiner.NodeKey, joiner.HostNames, TimeSpan.FromDays(365));
        byte[] payload = NodeSecrets.SerializeSecrets([], secrets.Service.Key.ExportPkcs8PrivateKey(), secrets.LedgerSecret.Export());
        try
        {
            JsonObject response = NodeJoin.SealSecrets(joiner.ExchangeKey, payload);
            response["node_id"] = nodeId;
            response["node_certificate"] = endorsed.ExportCertificatePem();
            response["service_certificate"] = secrets.Service.Certificate.ExportCertificatePem();
            response["genesis"] = secrets.Genesis?.ToJson();
            response["history"] = secrets.History.ToJson();
            return response;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(payload);
        }
    }
}
