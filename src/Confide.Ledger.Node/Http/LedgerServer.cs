using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Ledger.Consensus;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Node.Apps;
using Confide.Ledger.Governance;
using Confide.Ledger.Receipts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Confide.Ledger.Node.Http;

/// <summary>Settings of a node's HTTPS front end.</summary>
public sealed class LedgerServerOptions
{
    /// <summary>
    /// The node's HTTPS address as clients and other nodes reach it: the host an IP address or a
    /// DNS name; port 0 picks one (when the server listens on that port too).
    /// </summary>
    public required Uri Url { get; init; }

    /// <summary>Where the server listens; null: <see cref="Url"/>'s host if it is an IP address, else every IPv4 interface, on its port.</summary>
    public IPEndPoint? Listen { get; init; }

    /// <summary>The node's certificate, endorsed by the service identity, with its private key: what clients see.</summary>
    public required X509Certificate2 NodeCertificate { get; init; }

    /// <summary>
    /// Mutual attested TLS with the other nodes: forwarded requests and announcements go out over it,
    /// and a connection asking for <see cref="NodeChannels.TargetHost"/> is served with it.
    /// </summary>
    public required NodeChannels NodeChannels { get; init; }

    /// <summary>The application served under /app (built-ins are added).</summary>
    public LedgerApplication Application { get; init; } = new();

    /// <summary>Each node's consensus address → its HTTPS address, for forwarding writes to the leader.</summary>
    public IReadOnlyDictionary<EndPoint, Uri> Peers { get; init; } = new Dictionary<EndPoint, Uri>();

    /// <summary>Largest request body.</summary>
    public long MaxRequestBytes { get; init; } = 1024 * 1024;

    /// <summary>What the first leader of a new service writes in its first transaction; null for a node that joined a running one.</summary>
    public ServiceGenesis? Genesis { get; init; }

    /// <summary>Answers POST /node/join (a trusted node holding the service key); null: joins are refused here.</summary>
    public Func<JsonObject, CancellationToken, Task<JsonObject>>? JoinHandler { get; init; }

    /// <summary>The service's recoveries; after one, the first leader records it (new identity, recovery count).</summary>
    public Hosting.NodeHistory History { get; init; } = Hosting.NodeHistory.None;

    /// <summary>This node's consensus address, as announced in <c>public:ccf.gov.nodes.info</c>.</summary>
    public string? NodeToNodeAddress { get; init; }

    public ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>The first transaction of a service: its initial members, users and the code ids allowed to join (CCF's start configuration).</summary>
public sealed class ServiceGenesis
{
    public IList<X509Certificate2> Members { get; } = new List<X509Certificate2>();

    public IList<X509Certificate2> Users { get; } = new List<X509Certificate2>();

    /// <summary>Hex MRENCLAVEs of node code allowed to join.</summary>
    public IList<string> CodeIds { get; } = new List<string>();

    /// <summary>Recovery members: member id → RSA public key (PEM) their recovery shares are encrypted to.</summary>
    public IDictionary<string, string> MemberEncryptionKeys { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>How many recovery members must submit shares to recover the service.</summary>
    public int RecoveryThreshold { get; set; } = 1;

    /// <summary>The JavaScript constitution; null: the default one.</summary>
    public string? Constitution { get; set; }

    public JsonObject ToJson() => new()
    {
        ["members"] = new JsonArray([.. Members.Select(m => (JsonNode)m.ExportCertificatePem())]),
        ["users"] = new JsonArray([.. Users.Select(u => (JsonNode)u.ExportCertificatePem())]),
        ["code_ids"] = new JsonArray([.. CodeIds.Select(c => (JsonNode)c)]),
        ["member_encryption_keys"] = new JsonObject([.. MemberEncryptionKeys.Select(k => KeyValuePair.Create(k.Key, (JsonNode?)k.Value))]),
        ["recovery_threshold"] = RecoveryThreshold,
        ["constitution"] = Constitution,
    };

    public static ServiceGenesis FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var genesis = new ServiceGenesis();
        foreach (JsonNode? member in json["members"]?.AsArray() ?? [])
        {
            genesis.Members.Add(X509Certificate2.CreateFromPem(member!.GetValue<string>()));
        }

        foreach (JsonNode? user in json["users"]?.AsArray() ?? [])
        {
            genesis.Users.Add(X509Certificate2.CreateFromPem(user!.GetValue<string>()));
        }

        foreach (JsonNode? codeId in json["code_ids"]?.AsArray() ?? [])
        {
            genesis.CodeIds.Add(codeId!.GetValue<string>());
        }

        foreach ((string id, JsonNode? key) in json["member_encryption_keys"]?.AsObject() ?? [])
        {
            genesis.MemberEncryptionKeys[id] = key!.GetValue<string>();
        }

        genesis.RecoveryThreshold = json["recovery_threshold"]?.GetValue<int>() ?? 1;
        genesis.Constitution = json["constitution"]?.GetValue<string>();
        return genesis;
    }
}

/// <summary>
/// A node's HTTPS front end, CCF's REST API: the application under /app (with /app/tx,
/// /app/commit, /app/receipt) and the node's own endpoints under /node. TLS ends in the node with
/// its service-endorsed certificate; clients pin the service identity. Callers authenticate with
/// TLS client certificates registered by governance. A read-write request reaching a follower is
/// forwarded to the leader over mutual attested TLS (<see cref="Node.NodeChannels"/>) on the same
/// port: the follower asks for the server name <see cref="NodeChannels.TargetHost"/>, which selects
/// the node-to-node certificate and requires the follower's.
/// </summary>
public sealed partial class LedgerServer : IAsyncDisposable
{
    public const string TransactionIdHeader = "x-ms-ccf-transaction-id";

    /// <summary>Set by a forwarding node (and believed only from one): the caller it authenticated.</summary>
    internal const string ForwardedCallerHeader = "x-confide-forwarded-caller";

    private readonly WebApplication _app;
    private readonly LedgerNode _node;
    private readonly LedgerServerOptions _options;
    private readonly HttpClient _forwarder;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();

    // Set once this node's store holds the service (the genesis has reached it); it never goes back.
    private volatile bool _serviceKnown;
    private Task? _maintenance;

    private LedgerServer(WebApplication app, LedgerNode node, LedgerServerOptions options)
    {
        _app = app;
        _node = node;
        _options = options;
        _logger = (ILogger?)options.LoggerFactory?.CreateLogger<LedgerServer>() ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        // Each request names NodeChannels.TargetHost as its Host, which SocketsHttpHandler sends as
        // the server name (SNI): the leader then answers with its node-to-node certificate.
        _forwarder = new HttpClient(new SocketsHttpHandler { SslOptions = options.NodeChannels.ClientOptions() }) { Timeout = TimeSpan.FromSeconds(30) };
        WarmUpGovernance();
    }

    /// <summary>The node's advertised URL (<see cref="LedgerServerOptions.Url"/>, its port resolved if it was 0).</summary>
    public Uri Url { get; private set; } = null!;

    public static async Task<LedgerServer> StartAsync(LedgerNode node, LedgerServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(options);
        IPEndPoint listen = ListenEndPoint(options.Url, options.Listen);

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (options.LoggerFactory is not null)
        {
            builder.Services.AddSingleton(options.LoggerFactory);
        }

        // Callers present certificates that governance registered, not ones a CA issued: the
        // handshake accepts any (Kestrel's AllowCertificate), and each endpoint checks the caller
        // against the KV. CA5359 is about clients accepting any server; this is a server asking
        // callers for an optional certificate.
        var endorsed = SslStreamCertificateContext.Create(options.NodeCertificate, additionalCertificates: null);
        SslServerAuthenticationOptions Callers() => new()
        {
            ServerCertificateContext = endorsed,
            ClientCertificateRequired = true,
#pragma warning disable CA5359
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
#pragma warning restore CA5359
        };

        // Other nodes ask for NodeChannels.TargetHost: mutual attested TLS, refused in the handshake.
        // Fresh options per connection: Kestrel fills in their ALPN list.
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            kestrel.Listen(listen, endpoint => endpoint.UseHttps(new TlsHandshakeCallbackOptions
            {
                OnConnection = context => ValueTask.FromResult(context.ClientHelloInfo.ServerName == NodeChannels.TargetHost ? options.NodeChannels.ServerOptions() : Callers()),
            }));
        });

        WebApplication app = builder.Build();
        var server = new LedgerServer(app, node, options);
        server.MapRoutes();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = AdvertisedUrl(options.Url, new Uri(bound).Port);
        server._maintenance = Task.Run(() => server.MaintainAsync(server._stopping.Token), CancellationToken.None);
        return server;
    }

    /// <summary>
    /// Where a node's HTTPS server listens: <paramref name="listen"/> if given, else the URL's own
    /// host if it is an IP address. A name is no address to bind (it may even resolve to a load
    /// balancer), so a node addressed by name listens on every IPv4 interface.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="url"/> is not https with an IP address or DNS name.</exception>
    public static IPEndPoint ListenEndPoint(Uri url, IPEndPoint? listen)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!IsNodeUrl(url))
        {
            throw new ArgumentException($"'{url}' must be an https URL whose host is an IP address or a DNS name.", nameof(url));
        }

        if (listen is not null)
        {
            return listen;
        }

        return IPAddress.TryParse(url.DnsSafeHost, out IPAddress? address) ? new IPEndPoint(address, url.Port) : new IPEndPoint(IPAddress.Any, url.Port);
    }

    /// <summary>True for an https URL whose host is an IP address or a DNS name: what a node can be reached at.</summary>
    public static bool IsNodeUrl(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url.Scheme == Uri.UriSchemeHttps
            && (url.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || (url.HostNameType == UriHostNameType.Dns && NodeAddress.IsDnsName(url.Host)));
    }

    /// <summary>
    /// A node's HTTPS address as recorded in <c>public:ccf.gov.nodes.info</c> (CCF's <c>rpc_address</c>):
    /// host:port, the port always written (<see cref="Uri.Authority"/> leaves out 443).
    /// </summary>
    public static string Address(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return $"{url.Host}:{url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
    }

    /// <summary>The URL a node gives out: its own host (never the bound address), with the bound port if it asked for port 0.</summary>
    private static Uri AdvertisedUrl(Uri url, int boundPort) =>
        url.Port != 0 ? url : new UriBuilder(url) { Port = boundPort }.Uri;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_maintenance is not null)
        {
            await _maintenance.ConfigureAwait(false);
        }

        _stopping.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _forwarder.Dispose();
    }

    private void MapRoutes()
    {
        _app.MapGet("/node/commit", () => Json(new JsonObject { ["transaction_id"] = _node.CommittedTxId.ToString() }));
        _app.MapGet("/app/commit", () => Json(new JsonObject { ["transaction_id"] = _node.CommittedTxId.ToString() }));
        _app.MapGet("/node/tx", TxStatusAsync);
        _app.MapGet("/app/tx", TxStatusAsync);
        _app.MapGet("/app/receipt", Receipt);

        // CCF's logging sample serves COSE receipts here, the transaction named in the
        // x-ms-ccf-transaction-id request header (a transaction_id query parameter also works).
        _app.MapGet("/app/log/public/cose_receipt", CoseReceiptOf);
        _app.MapGet("/node/network", Network);
        _app.MapGet("/node/network/nodes", Nodes);
        _app.MapGet("/node/state", State);
        _app.MapGet("/node/ready/app", () => _node.Failure is null && _node.Consensus.Leader is not null ? Results.NoContent() : Results.StatusCode(StatusCodes.Status503ServiceUnavailable));
        _app.MapPost("/node/announce", (Delegate)AnnounceAsync);
        _app.MapGet("/node/snapshot", () => _node.LatestSnapshot is { } snapshot
            ? Results.File(snapshot, "application/octet-stream", Path.GetFileName(snapshot))
            : Error(StatusCodes.Status404NotFound, "SnapshotNotFound", "This node has no snapshot yet."));
        _app.MapPost("/node/join", JoinAsync);
        MapGovernance();
        _app.Map("/app/{**path}", AppAsync);
        _app.MapFallback(() => Error(StatusCodes.Status404NotFound, "ResourceNotFound", "Unknown path."));
    }

    /// <summary>
    /// Until done: the first leader of a new service writes the genesis transaction, and this node
    /// records itself in <c>public:ccf.gov.nodes.info</c> (through the leader).
    /// </summary>
    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        bool genesisDone = _options.Genesis is null, announced = false, recoveryDone = _options.History.RecoveryCount == 0;
        while (!cancellationToken.IsCancellationRequested && !(genesisDone && announced && recoveryDone))
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                if (_node.Consensus.Leader is null)
                {
                    continue;
                }

                if (!genesisDone && _node.Consensus.IsLeader)
                {
                    await WriteGenesisAsync(_options.Genesis!, cancellationToken).ConfigureAwait(false);
                    genesisDone = true;
                }

                if (!recoveryDone && _node.Consensus.IsLeader)
                {
                    await WriteRecoveryAsync(_options.History, cancellationToken).ConfigureAwait(false);
                    recoveryDone = true;
                }

                if (!announced)
                {
                    announced = await AnnounceSelfAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NotLeaderException or HttpRequestException or TaskCanceledException)
            {
                // An election under way: try again.
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Not expected (a genesis the constitution refuses, a failed node): say so, keep trying.
                _logger.LogError(ex, "Writing the genesis or announcing this node failed.");
            }
        }
    }

    private async Task WriteGenesisAsync(ServiceGenesis genesis, CancellationToken cancellationToken)
    {
        await _node.ExecuteWriteAsync(tx =>
        {
            if (tx.GetMap(GovernanceMaps.ServiceInfo).Has(GovernanceMaps.SingletonKey))
            {
                return new TransactionOutcome<bool>(false, ApplyWrites: false);
            }

            // As CCF: the service starts Opening; members open it by governance (transition_service_to_open).
            GovernanceGenesis.SetServiceInfo(tx, "Opening", _node.ServiceCertificate.ExportCertificatePem(), $"{_node.Consensus.Term + 1}.{tx.ReadVersion + 1}");
            GovernanceGenesis.SetServiceConfig(tx, recoveryThreshold: Math.Max(1, genesis.RecoveryThreshold));
            GovernanceGenesis.SetConstitution(tx, genesis.Constitution);
            foreach (X509Certificate2 member in genesis.Members)
            {
                genesis.MemberEncryptionKeys.TryGetValue(GovernanceMaps.IdOf(member), out string? encryptionKey);
                GovernanceGenesis.AddMember(tx, member, encryptionPublicKeyPem: encryptionKey);
            }

            foreach (X509Certificate2 user in genesis.Users)
            {
                GovernanceGenesis.AddUser(tx, user);
            }

            foreach (string codeId in genesis.CodeIds)
            {
                tx.GetMap(GovernanceMaps.NodeCodeIds).PutString(codeId, "\"AllowedToJoin\"");
            }

            _node.IssueRecoveryShares(tx, force: true);
            return new TransactionOutcome<bool>(true);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The recovered service's first transaction: its new identity, the previous ones, the recovery
    /// count, Open again (the members' shares were the consortium's decision), fresh recovery shares.
    /// The nodes of the lost service are retired.
    /// </summary>
    private async Task WriteRecoveryAsync(Hosting.NodeHistory history, CancellationToken cancellationToken)
    {
        await _node.ExecuteWriteAsync(tx =>
        {
            MapHandle serviceInfo = tx.GetMap(GovernanceMaps.ServiceInfo);
            JsonObject info = serviceInfo.Get(GovernanceMaps.SingletonKey) is { } bytes ? JsonNode.Parse(bytes)!.AsObject() : [];
            string ownPem = _node.ServiceCertificate.ExportCertificatePem();
            if ((string?)info["cert"] == ownPem)
            {
                return new TransactionOutcome<bool>(false, ApplyWrites: false);
            }

            info["status"] = "Open";
            info["cert"] = ownPem;
            info["previous_service_identities"] = new JsonArray([.. history.PreviousServiceCertificates.Select(c => (JsonNode)c.ExportCertificatePem())]);
            info["service_endorsements"] = new JsonArray([.. history.ServiceEndorsements.Select(c => (JsonNode)c.ExportCertificatePem())]);
            if (history.OpeningProposal is { } opening)
            {
                // The members' vote that let the recovery proceed, in the ledger like any proposal.
                byte[] key = System.Text.Encoding.UTF8.GetBytes(opening.ProposalId);
                tx.GetMap(GovernanceMaps.Proposals).Put(key, opening.Proposal);
                tx.GetMap(GovernanceMaps.ProposalsInfo).Put(key, opening.Info);
                info["recovery_proposal_id"] = opening.ProposalId;
            }
            info["recovery_count"] = history.RecoveryCount;
            info["created_txid"] = $"{history.ViewOffset + _node.Consensus.Term}.{tx.ReadVersion + 1}";
            serviceInfo.Put(GovernanceMaps.SingletonKey, System.Text.Encoding.UTF8.GetBytes(info.ToJsonString()));

            MapHandle nodes = tx.GetMap(GovernanceMaps.Nodes);
            var retired = new List<(byte[] Key, JsonObject Value)>();
            nodes.ForEach((key, value) =>
            {
                JsonObject node = JsonNode.Parse(value.Span)!.AsObject();
                node["status"] = "Retired";
                retired.Add((key.ToArray(), node));
                return true;
            });
            foreach ((byte[] key, JsonObject value) in retired)
            {
                nodes.Put(key, System.Text.Encoding.UTF8.GetBytes(value.ToJsonString()));
            }

            _node.IssueRecoveryShares(tx, force: true);
            return new TransactionOutcome<bool>(true);
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> AnnounceSelfAsync(CancellationToken cancellationToken)
    {
        if (_node.Consensus.IsLeader)
        {
            await _node.ExecuteWriteAsync(tx => RecordNode(tx, _options.NodeCertificate, Address(Url), _options.NodeToNodeAddress), cancellationToken).ConfigureAwait(false);
            return true;
        }

        // Not to itself while the engine still names it leader: it announces once it can write.
        if (_node.Consensus.Leader is not { } leader || leader.Equals(_node.Consensus.LocalEndPoint) || !_options.Peers.TryGetValue(leader, out Uri? target))
        {
            return false;
        }

        // The TLS certificate is the node-to-node one; the endorsed certificate to record travels in the body.
        var body = new JsonObject { ["rpc_address"] = Address(Url), ["node_to_node_address"] = _options.NodeToNodeAddress, ["cert"] = _options.NodeCertificate.ExportCertificatePem() };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target, "/node/announce")) { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Host = NodeChannels.TargetHost;
        using HttpResponseMessage response = await _forwarder.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode;
    }

    private static TransactionOutcome<bool> RecordNode(Transaction tx, X509Certificate2 certificate, string rpcAddress, string? nodeToNodeAddress)
    {
        MapHandle nodes = tx.GetMap(GovernanceMaps.Nodes);
        string id = LedgerSigner.ComputeNodeId(certificate);
        JsonObject? existing = nodes.GetString(id) is { } json ? JsonNode.Parse(json)!.AsObject() : null;
        if (existing is not null && existing["cert"] is not null)
        {
            return new TransactionOutcome<bool>(true, ApplyWrites: false);
        }

        // A node admitted after the service opened was recorded Pending (then voted Trusted) when
        // it joined; its endorsed certificate is added when it announces itself.
        JsonObject info = existing ?? new JsonObject { ["status"] = "Trusted" };
        info["cert"] = certificate.ExportCertificatePem();
        info["rpc_address"] = rpcAddress;
        info["node_to_node_address"] = nodeToNodeAddress;
        nodes.PutString(id, info.ToJsonString());
        return new TransactionOutcome<bool>(true);
    }

    private async Task JoinAsync(HttpContext context)
    {
        if (_options.JoinHandler is null)
        {
            await WriteAsync(context, LedgerResponse.Error(StatusCodes.Status404NotFound, "ResourceNotFound", "This node does not admit joiners."), null).ConfigureAwait(false);
            return;
        }

        byte[] body = await ReadBodyAsync(context).ConfigureAwait(false);
        JsonObject? request;
        try
        {
            request = JsonNode.Parse(body) as JsonObject;
        }
        catch (System.Text.Json.JsonException ex)
        {
            await WriteAsync(context, LedgerResponse.Error(StatusCodes.Status400BadRequest, "InvalidInput", $"The join request is not JSON: {ex.Message}"), null).ConfigureAwait(false);
            return;
        }

        if (request is null)
        {
            await WriteAsync(context, LedgerResponse.Error(StatusCodes.Status400BadRequest, "InvalidInput", "The join request must be a JSON object."), null).ConfigureAwait(false);
            return;
        }

        LedgerResponse response;
        try
        {
            response = LedgerResponse.Ok(await _options.JoinHandler(request, context.RequestAborted).ConfigureAwait(false));
        }
        catch (NotLeaderException)
        {
            // Recording a pending node is a write: the leader does it.
            await ForwardAsync(context, body, caller: null).ConfigureAwait(false);
            return;
        }
        catch (Hosting.NodeJoinException ex)
        {
            response = ex.Error switch
            {
                Hosting.NodeJoinError.Malformed => LedgerResponse.Error(StatusCodes.Status400BadRequest, "InvalidInput", ex.Message),
                Hosting.NodeJoinError.NotTrustedYet => LedgerResponse.Error(StatusCodes.Status202Accepted, "NodeNotTrusted", ex.Message),
                _ => LedgerResponse.Error(StatusCodes.Status403Forbidden, "InvalidQuote", ex.Message),
            };
        }

        await WriteAsync(context, response, null).ConfigureAwait(false);
    }

    private async Task<IResult> AnnounceAsync(HttpContext context)
    {
        if (context.Connection.ClientCertificate is not { } presented || !_options.NodeChannels.IsNode(presented))
        {
            return Error(StatusCodes.Status401Unauthorized, "InvalidAuthenticationInfo", "Only a node of this service may announce itself.");
        }

        if (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false) is not JsonObject body
            || body["rpc_address"]?.GetValue<string>() is not { } rpc
            || body["cert"]?.GetValue<string>() is not { } pem)
        {
            return Error(StatusCodes.Status400BadRequest, "InvalidInput", "The body must be {\"rpc_address\", \"node_to_node_address\", \"cert\"}.");
        }

        // The node's endorsed certificate: issued by the service for the very key the attested connection proved.
        using X509Certificate2? certificate = ParseCertificate(pem);
        if (certificate is null
            || !ServiceIdentity.IsIssuedBy(certificate, _node.ServiceCertificate)
            || !certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(presented.PublicKey.ExportSubjectPublicKeyInfo()))
        {
            return Error(StatusCodes.Status400BadRequest, "InvalidInput", "\"cert\" must be the announcing node's PEM certificate, endorsed by the service identity.");
        }

        try
        {
            await _node.ExecuteWriteAsync(tx => RecordNode(tx, certificate, rpc, body["node_to_node_address"]?.GetValue<string>()), context.RequestAborted).ConfigureAwait(false);
            return Results.NoContent();
        }
        catch (NotLeaderException)
        {
            return Error(StatusCodes.Status503ServiceUnavailable, "NotPrimary", "This node is not the leader.");
        }
    }

    private static X509Certificate2? ParseCertificate(string pem)
    {
        try
        {
            return X509Certificate2.CreateFromPem(pem);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    private IResult TxStatusAsync(HttpContext context)
    {
        if (!TxId.TryParse(context.Request.Query["transaction_id"], out TxId id))
        {
            return Error(StatusCodes.Status400BadRequest, "InvalidQueryParameterValue", "transaction_id must be <view>.<seqno>, e.g. 2.15.");
        }

        return Json(new JsonObject { ["status"] = _node.GetStatus(id).ToString(), ["transaction_id"] = id.ToString() });
    }

    private IResult CoseReceiptOf(HttpContext context)
    {
        string? named = context.Request.Headers[TransactionIdHeader].FirstOrDefault() ?? context.Request.Query["transaction_id"].FirstOrDefault();
        if (!TxId.TryParse(named, out TxId id))
        {
            return Error(StatusCodes.Status400BadRequest, "InvalidInput", $"Name the transaction as <view>.<seqno> in the {TransactionIdHeader} header (or transaction_id), e.g. 2.15.");
        }

        if (NoReceipt(id) is { } refusal)
        {
            return refusal;
        }

        if (_node.GetCoseReceipt(id) is not { } receipt)
        {
            // As for JSON receipts: not covered by a committed COSE signature yet, ask again.
            context.Response.Headers.RetryAfter = "1";
            return Results.StatusCode(StatusCodes.Status202Accepted);
        }

        return Results.Bytes(receipt, "application/cose");
    }

    /// <summary>The 404 of a transaction that has no receipt to wait for: Invalid, or Unknown here.</summary>
    private IResult? NoReceipt(TxId id) => _node.GetStatus(id) switch
    {
        TxStatus.Invalid => Error(StatusCodes.Status404NotFound, "TransactionInvalid", $"Transaction {id} is invalid: another transaction holds seqno {id.Seqno}."),
        TxStatus.Unknown => Error(StatusCodes.Status404NotFound, "TransactionNotFound", $"Transaction {id} is unknown to this node."),
        _ => null,
    };

    private IResult Receipt(HttpContext context)
    {
        if (!TxId.TryParse(context.Request.Query["transaction_id"], out TxId id))
        {
            return Error(StatusCodes.Status400BadRequest, "InvalidQueryParameterValue", "transaction_id must be <view>.<seqno>, e.g. 2.15.");
        }

        if (NoReceipt(id) is { } refusal)
        {
            return refusal;
        }

        if (_node.GetReceipt(id) is not { } receipt)
        {
            // As CCF's historical queries: not yet, ask again.
            context.Response.Headers.RetryAfter = "1";
            return Results.StatusCode(StatusCodes.Status202Accepted);
        }

        return Results.Text(receipt.ToJson(), "application/json", statusCode: StatusCodes.Status200OK);
    }

    private IResult Network()
    {
        IConsensus consensus = _node.Consensus;
        JsonObject? service = _node.ExecuteRead(tx => tx.GetMap(GovernanceMaps.ServiceInfo).Get(GovernanceMaps.SingletonKey) is { } info ? JsonNode.Parse(info)!.AsObject() : null).Value;
        return Json(new JsonObject
        {
            ["service_status"] = service?["status"]?.GetValue<string>(),
            ["service_certificate"] = _node.ServiceCertificate.ExportCertificatePem(),
            ["current_view"] = consensus.Term,
            ["primary_id"] = PrimaryNodeId(),
            ["recovery_count"] = service?["recovery_count"]?.GetValue<int>() ?? 0,
            ["current_service_create_txid"] = service?["created_txid"]?.GetValue<string>(),
        });
    }

    private IResult Nodes()
    {
        var nodes = new JsonArray();
        _node.ExecuteRead(tx =>
        {
            tx.GetMap(GovernanceMaps.Nodes).ForEach((key, value) =>
            {
                JsonObject info = JsonNode.Parse(value.Span)!.AsObject();
                info["node_id"] = System.Text.Encoding.UTF8.GetString(key.Span);
                info.Remove("cert");
                nodes.Add(info);
                return true;
            });
            return 0;
        });
        return Json(new JsonObject { ["nodes"] = nodes });
    }

    private IResult State() => Json(new JsonObject
    {
        ["node_id"] = _node.NodeId,
        ["state"] = _node.Failure is null ? "PartOfNetwork" : "Stopped",
        ["last_signed_seqno"] = _node.LastSignedSeqno,
        ["startup_seqno"] = 0,
    });

    private string? PrimaryNodeId()
    {
        if (_node.Consensus.Leader is not { } leader || !_options.Peers.TryGetValue(leader, out Uri? url))
        {
            return null;
        }

        string rpc = Address(url);
        string? id = null;
        _node.ExecuteRead(tx =>
        {
            tx.GetMap(GovernanceMaps.Nodes).ForEach((key, value) =>
            {
                if (JsonNode.Parse(value.Span)?["rpc_address"]?.GetValue<string>() == rpc)
                {
                    id = System.Text.Encoding.UTF8.GetString(key.Span);
                    return false;
                }

                return true;
            });
            return 0;
        });
        return id;
    }

    private async Task AppAsync(HttpContext context, string path)
    {
        string route = "/" + path;
        if (!_options.Application.TryFind(context.Request.Method, route, out LedgerEndpoint? endpoint))
        {
            await WriteAsync(context, _options.Application.HasPath(route)
                ? LedgerResponse.Error(StatusCodes.Status405MethodNotAllowed, "UnsupportedHttpVerb", $"{context.Request.Method} is not allowed on /app{route}.")
                : LedgerResponse.Error(StatusCodes.Status404NotFound, "ResourceNotFound", $"Unknown path /app{route}."), null).ConfigureAwait(false);
            return;
        }

        if (!ServiceKnown())
        {
            // A node still joining or catching up knows no users yet: telling a caller it is not
            // authenticated would be false, and final. As CCF's unopened frontend, but retryable.
            context.Response.Headers.RetryAfter = "1";
            await WriteAsync(context, LedgerResponse.Error(StatusCodes.Status503ServiceUnavailable, "FrontendNotOpen", "This node has not yet received the service's state (it is joining or catching up); retry."), null).ConfigureAwait(false);
            return;
        }

        byte[] body = await ReadBodyAsync(context).ConfigureAwait(false);
        (string? caller, LedgerResponse? refusal) = await AuthenticateAsync(context, endpoint!).ConfigureAwait(false);
        if (refusal is not null)
        {
            await WriteAsync(context, refusal, null).ConfigureAwait(false);
            return;
        }

        if (endpoint!.ReadOnly)
        {
            ReadResult<LedgerResponse> read = _node.ExecuteRead(tx => endpoint.Handler(new LedgerRequest(tx, context.Request.Method, context.Request.Query, body, caller)));
            await WriteAsync(context, read.Value, read.TxId).ConfigureAwait(false);
            return;
        }

        if (!_node.Consensus.IsLeader)
        {
            await ForwardAsync(context, body, caller).ConfigureAwait(false);
            return;
        }

        WriteResult<LedgerResponse> written;
        try
        {
            written = await _node.ExecuteWriteAsync(tx =>
            {
                var request = new LedgerRequest(tx, context.Request.Method, context.Request.Query, body, caller);
                LedgerResponse response = endpoint.Handler(request);
                return new TransactionOutcome<LedgerResponse>(response, response.IsSuccess, request.ClaimsDigest);
            }, context.RequestAborted).ConfigureAwait(false);
        }
        catch (NotLeaderException)
        {
            // Not executed here (not the leader, or resigned before appending): the leader runs it.
            await ForwardAsync(context, body, caller).ConfigureAwait(false);
            return;
        }
        catch (WriteOutcomeUnknownException ex)
        {
            await WriteAsync(context, OutcomeUnknown(ex), ex.TransactionId).ConfigureAwait(false);
            return;
        }

        if (endpoint.RespondOnCommit && written.TxId is { } id && await _node.WaitForCommitAsync(id, context.RequestAborted).ConfigureAwait(false) != TxStatus.Committed)
        {
            await WriteAsync(context, LedgerResponse.Error(StatusCodes.Status500InternalServerError, "TransactionInvalid", $"Transaction {id} was rolled back by an election; retry."), id).ConfigureAwait(false);
            return;
        }

        await WriteAsync(context, written.Value, written.TxId).ConfigureAwait(false);
    }

    /// <summary>A write that may or may not commit: 500, with its transaction id so that the caller can ask its status.</summary>
    internal static LedgerResponse OutcomeUnknown(WriteOutcomeUnknownException ex) =>
        LedgerResponse.Error(StatusCodes.Status500InternalServerError, "TransactionPending", $"{ex.Message} (GET /node/tx?transaction_id={ex.TransactionId})");

    // Once per process, off the start path: compiles the constitution runtime before a member's first proposal.
    private static readonly Lazy<Task> GovernanceWarmUp = new(() => Task.Run(Confide.Ledger.Governance.Constitution.ConstitutionRuntime.WarmUp));

    private void WarmUpGovernance() => _ = GovernanceWarmUp.Value.ContinueWith(
        warmUp =>
        {
            // Only an optimisation (a broken default constitution fails its own tests), but said.
            if (_logger.IsEnabled(LogLevel.Warning))
            {
                _logger.LogWarning(warmUp.Exception!.GetBaseException(), "The governance runtime's warm-up failed; the first proposal may meet its time limit.");
            }
        },
        CancellationToken.None,
        TaskContinuationOptions.OnlyOnFaulted,
        TaskScheduler.Default);

    private bool ServiceKnown() => _serviceKnown
        || (_serviceKnown = _node.ExecuteRead(tx => tx.GetMap(GovernanceMaps.ServiceInfo).Has(GovernanceMaps.SingletonKey)).Value);

    /// <summary>The caller's id, or the answer that refuses it. With several policies, any one suffices.</summary>
    private async Task<(string? Caller, LedgerResponse? Refusal)> AuthenticateAsync(HttpContext context, LedgerEndpoint endpoint)
    {
        AuthenticationPolicy policy = endpoint.Authentication;
        if (policy == AuthenticationPolicy.None)
        {
            return (null, null);
        }

        var reasons = new List<string>();
        X509Certificate2? certificate = context.Connection.ClientCertificate;
        if ((policy & (AuthenticationPolicy.UserCertificate | AuthenticationPolicy.MemberCertificate)) != 0)
        {
            if (certificate is null)
            {
                reasons.Add("no TLS client certificate");
            }
            else
            {
                string caller = GovernanceMaps.IdOf(certificate);
                bool forwarded = context.Request.Headers.TryGetValue(ForwardedCallerHeader, out Microsoft.Extensions.Primitives.StringValues forwardedCaller);
                if (forwarded && _options.NodeChannels.IsNode(certificate))
                {
                    // Only a node of this service, attested and of allowed code (asked at every
                    // request, kept-alive connections included), may speak for a caller it authenticated.
                    caller = forwardedCaller.ToString();
                }

                foreach ((AuthenticationPolicy flag, string map, string who) in new[] { (AuthenticationPolicy.UserCertificate, GovernanceMaps.UserCertificates, "user"), (AuthenticationPolicy.MemberCertificate, GovernanceMaps.MemberCertificates, "member") })
                {
                    if ((policy & flag) != 0 && _node.ExecuteRead(tx => tx.GetMap(map).Has(System.Text.Encoding.UTF8.GetBytes(caller))).Value)
                    {
                        return (caller, null);
                    }
                }

                reasons.Add($"could not find matching {((policy & AuthenticationPolicy.UserCertificate) != 0 ? "user" : "member")} certificate {caller}");
            }
        }

        if ((policy & AuthenticationPolicy.Jwt) != 0)
        {
            string? authorization = context.Request.Headers.Authorization;
            if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                reasons.Add("no bearer token");
            }
            else
            {
                (string? subject, string? problem) = await ValidateJwtAsync(authorization["Bearer ".Length..].Trim()).ConfigureAwait(false);
                if (subject is not null)
                {
                    return (subject, null);
                }

                reasons.Add(problem!);
            }
        }

        return (null, LedgerResponse.Error(StatusCodes.Status401Unauthorized, "InvalidAuthenticationInfo", $"Not authenticated: {string.Join("; ", reasons)}."));
    }

    /// <summary>A JWT from an issuer governance registered, signed by one of its keys, not expired: <c>jwt:{iss}:{sub}</c>.</summary>
    private async Task<(string? Caller, string? Problem)> ValidateJwtAsync(string token)
    {
        var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler();
        if (!handler.CanReadToken(token))
        {
            return (null, "the bearer token is not a JWT");
        }

        string issuer = handler.ReadJsonWebToken(token).Issuer;
        string? keys = _node.ExecuteRead(tx => tx.GetMap(GovernanceMaps.JwtPublicSigningKeys).GetString(issuer)).Value;
        if (keys is null)
        {
            return (null, $"the JWT issuer '{issuer}' is not registered (set_jwt_issuer)");
        }

        Microsoft.IdentityModel.Tokens.TokenValidationResult result = await handler.ValidateTokenAsync(token, new Microsoft.IdentityModel.Tokens.TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidateAudience = false,
            IssuerSigningKeys = new Microsoft.IdentityModel.Tokens.JsonWebKeySet(keys).GetSigningKeys(),
            ClockSkew = TimeSpan.FromMinutes(1),
        }).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return (null, $"the JWT does not validate: {result.Exception?.Message.Split('.')[0]}");
        }

        return ($"jwt:{issuer}:{result.ClaimsIdentity.FindFirst("sub")?.Value}", null);
    }

    private async Task ForwardAsync(HttpContext context, byte[] body, string? caller)
    {
        // Never to itself: a node that knows itself as leader but could not write (it is not ready,
        // or has just resigned) would otherwise forward the request round in a loop.
        if (_node.Consensus.Leader is not { } leader || leader.Equals(_node.Consensus.LocalEndPoint) || !_options.Peers.TryGetValue(leader, out Uri? target))
        {
            context.Response.Headers.RetryAfter = "1";
            await WriteAsync(context, LedgerResponse.Error(StatusCodes.Status503ServiceUnavailable, "PrimaryNotFound", "No leader can take the request yet (an election is under way, or this node is taking over); retry."), null).ConfigureAwait(false);
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(target, context.Request.Path + context.Request.QueryString))
        {
            Content = new ByteArrayContent(body),
        };
        if (context.Request.ContentType is { } contentType)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        request.Headers.Host = NodeChannels.TargetHost;
        if (context.Request.Headers.Authorization is { Count: > 0 } authorization)
        {
            // A JWT is validated again by the leader; a certificate caller travels in a header only a node may set.
            request.Headers.TryAddWithoutValidation("Authorization", authorization.ToString());
        }
        else if (caller is not null)
        {
            request.Headers.Add(ForwardedCallerHeader, caller);
        }

        try
        {
            using HttpResponseMessage response = await _forwarder.SendAsync(request, context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = (int)response.StatusCode;
            if (response.Headers.TryGetValues(TransactionIdHeader, out IEnumerable<string>? ids))
            {
                context.Response.Headers[TransactionIdHeader] = ids.First();
            }

            if (response.Headers.RetryAfter is { } retryAfter)
            {
                context.Response.Headers.RetryAfter = retryAfter.ToString();
            }

            context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
        {
            // No connection to the leader (its name gone with its pod, nothing listening, a handshake
            // refused), so nothing was sent and nothing ran: safe to send again.
            context.Response.Headers.RetryAfter = "1";
            await WriteAsync(context, LedgerResponse.Error(StatusCodes.Status503ServiceUnavailable, "PrimaryNotFound", $"The leader could not be reached ({ex.Message}); retry."), null).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            // The leader had the request and gave no answer (it failed mid-way, or took longer than
            // the forwarder waits): the write may have run, and may yet commit. A 503 would invite a
            // second copy of it.
            await WriteAsync(context, LedgerResponse.Error(StatusCodes.Status500InternalServerError, "InternalError", $"The request was forwarded to the leader, which did not answer ({ex.Message}): it may have run. Check before sending it again."), null).ConfigureAwait(false);
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private static async Task WriteAsync(HttpContext context, LedgerResponse response, TxId? id)
    {
        context.Response.StatusCode = response.Status;
        if (id is { } txId && txId.Seqno > 0)
        {
            context.Response.Headers[TransactionIdHeader] = txId.ToString();
        }

        if (response.Body is not null)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(response.Body.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static IResult Json(JsonObject body) => Results.Text(body.ToJsonString(), "application/json");

    private static IResult Error(int status, string code, string message) =>
        Results.Text(LedgerResponse.Error(status, code, message).Body!.ToJsonString(), "application/json", statusCode: status);
}
