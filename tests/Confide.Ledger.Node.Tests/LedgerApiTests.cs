using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Ledger.Ledger;
using Confide.Ledger.Node.Http;
using Confide.Ledger.Receipts;

namespace Confide.Ledger.Node.Tests;

/// <summary>CCF's REST API on three nodes: the logging app, forwarding, statuses, receipts, caller authentication.</summary>
public sealed class LedgerApiTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new(3, http: true);
    private readonly X509Certificate2 _user = SelfSigned("user0");
    private readonly X509Certificate2 _stranger = SelfSigned("stranger");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _cluster.Genesis.Users.Add(X509CertificateLoader.LoadCertificate(_user.RawData));
        for (int i = 0; i < 3; i++)
        {
            await _cluster.StartAsync(i, Ct);
        }

        // Callers are known once the genesis transaction has reached each node.
        using HttpClient client = Client(null);
        foreach (Uri node in _cluster.Urls)
        {
            await WaitForAsync(async () => (string?)(await client.GetFromJsonAsync<JsonObject>(new Uri(node, "/node/network"), Ct))!["service_status"], s => s == "Opening");
        }
    }

    [Fact]
    public async Task A_write_sent_to_a_follower_is_forwarded_committed_readable_everywhere_and_has_a_receipt()
    {
        LedgerNode leader = await _cluster.LeaderAsync(Ct);
        int follower = Enumerable.Range(0, 3).First(i => _cluster.Nodes[i] != leader);
        using HttpClient client = Client(_user);

        HttpResponseMessage posted = await RetryAsync(() => client.PostAsJsonAsync(new Uri(_cluster.Urls[follower], "/app/log/private"), new { id = 42, msg = "Hello, ledger" }, Ct));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        Assert.Equal("true", await posted.Content.ReadAsStringAsync(Ct));
        TxId id = TxId.Parse(posted.Headers.GetValues(LedgerServer.TransactionIdHeader).Single());

        // Status moves to Committed; the message is readable on every node once it is.
        await WaitForStatusAsync(client, _cluster.Urls[follower], id, "Committed");
        for (int i = 0; i < 3; i++)
        {
            await WaitForStatusAsync(client, _cluster.Urls[i], id, "Committed");
            JsonObject read = (await client.GetFromJsonAsync<JsonObject>(new Uri(_cluster.Urls[i], "/app/log/private?id=42"), Ct))!;
            Assert.Equal("Hello, ledger", (string?)read["msg"]);
        }

        // The receipt verifies offline against the service identity alone.
        string receipt = await ReceiptAsync(client, _cluster.Urls[follower], id);
        Receipt verified = ReceiptVerifier.Verify(receipt, X509CertificateLoader.LoadCertificate(_cluster.Service.Certificate.RawData));
        Assert.Equal(id, verified.TxId);

        // So does its COSE receipt (CCF's profile), signed by the service identity itself, from any node.
        byte[] cose = await CoseReceiptAsync(client, _cluster.Urls[(follower + 1) % 3], id);
        Confide.Ledger.Receipts.CoseReceipt coseReceipt = Confide.Ledger.Receipts.CoseReceipt.Verify(cose, _cluster.Service.Certificate);
        Assert.Equal(id, coseReceipt.TxId);
        Assert.Equal(verified.ComputeRoot(), coseReceipt.ComputeRoot());
        Assert.Equal("ledger.signature", coseReceipt.Subject);

        // The blocking variant answers only once committed.
        HttpResponseMessage blocking = await client.PostAsJsonAsync(new Uri(_cluster.Urls[follower], "/app/log/blocking/public"), new { id = 7, msg = "on commit" }, Ct);
        Assert.Equal(HttpStatusCode.OK, blocking.StatusCode);
        TxId blockingId = TxId.Parse(blocking.Headers.GetValues(LedgerServer.TransactionIdHeader).Single());
        JsonObject status = (await client.GetFromJsonAsync<JsonObject>(new Uri(_cluster.Urls[0], $"/node/tx?transaction_id={blockingId}"), Ct))!;
        Assert.True((string?)status["status"] is "Committed" or "Pending"); // node 0 may lag the leader by a heartbeat
        Assert.Equal("Committed", (string?)(await client.GetFromJsonAsync<JsonObject>(new Uri(_cluster.Urls[Array.IndexOf(_cluster.Nodes, leader)], $"/node/tx?transaction_id={blockingId}"), Ct))!["status"]);

        // The service: open, its identity, three nodes recorded, a primary named.
        JsonObject network = await WaitForAsync(async () => (await client.GetFromJsonAsync<JsonObject>(new Uri(_cluster.Urls[follower], "/node/network"), Ct))!, n => n["primary_id"] is not null);
        Assert.Equal("Opening", (string?)network["service_status"]);
        Assert.Equal(leader.NodeId, (string?)network["primary_id"]);
        JsonObject nodes = await WaitForAsync(async () => (await client.GetFromJsonAsync<JsonObject>(new Uri(_cluster.Urls[0], "/node/network/nodes"), Ct))!, n => n["nodes"]!.AsArray().Count == 3);
        Assert.All(nodes["nodes"]!.AsArray(), n => Assert.Equal("Trusted", (string?)n!["status"]));
    }

    [Fact]
    public async Task Callers_and_requests_that_do_not_fit_get_ccf_errors()
    {
        await _cluster.LeaderAsync(Ct);
        Uri node = _cluster.Urls[0];
        using HttpClient user = Client(_user);
        using HttpClient stranger = Client(_stranger);
        using HttpClient anonymous = Client(null);

        HttpResponseMessage unknown = await stranger.GetAsync(new Uri(node, "/app/log/private?id=1"), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal("InvalidAuthenticationInfo", (string?)(await unknown.Content.ReadFromJsonAsync<JsonObject>(Ct))!["error"]!["code"]);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri(node, "/app/log/private?id=1"), Ct)).StatusCode);

        Assert.Equal(HttpStatusCode.BadRequest, (await RetryAsync(() => user.PostAsync(new Uri(node, "/app/log/private"), new StringContent("{not json"), Ct))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await RetryAsync(() => user.PostAsJsonAsync(new Uri(node, "/app/log/private"), new { id = -1, msg = "x" }, Ct))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await user.GetAsync(new Uri(node, "/app/log/private?id=abc"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await user.GetAsync(new Uri(node, "/app/log/private?id=999"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await user.GetAsync(new Uri(node, "/app/nothing"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await user.PutAsync(new Uri(node, "/app/log/private"), new StringContent("{}"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await user.GetAsync(new Uri(node, "/node/tx?transaction_id=banana"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await user.GetAsync(new Uri(node, "/app/receipt?transaction_id=1.999999"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await user.GetAsync(new Uri(node, "/app/log/public/cose_receipt?transaction_id=1.999999"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await user.GetAsync(new Uri(node, "/app/log/public/cose_receipt"), Ct)).StatusCode);
    }

    [Fact]
    public async Task The_https_port_serves_nodes_over_mutual_attested_tls_and_believes_a_forwarded_caller_only_from_an_attested_node()
    {
        await _cluster.LeaderAsync(Ct);
        Uri node = _cluster.Urls[0];
        string user = Confide.Ledger.Governance.GovernanceMaps.IdOf(_user);
        NodeChannels peer = _cluster.Channels[1]!;

        // Asking for the node server name: node 0 presents its attested node-to-node certificate,
        // and takes node 1's; node 1 may speak for a caller it authenticated (a known record is 404, not 401).
        using (HttpClient asNode = NodeClient(peer.Certificate, peer))
        using (HttpResponseMessage read = await asNode.SendAsync(Forwarded(node, user), Ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        }

        // A certificate the service endorsed but without evidence is refused in the handshake.
        using ECDsa key = ServiceIdentity.CreateNodeKey();
        using X509Certificate2 endorsedOnly = _cluster.Service.EndorseNode(key, ["127.0.0.1"], TimeSpan.FromDays(1));
        using (HttpClient bare = NodeClient(endorsedOnly, peer))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => bare.SendAsync(Forwarded(node, user), Ct));
        }

        // On the callers' side of the port, the forwarded caller is not believed: neither from a
        // stranger nor from a certificate that is endorsed but carries no evidence.
        foreach (X509Certificate2 certificate in new[] { _stranger, endorsedOnly })
        {
            using HttpClient client = Client(certificate);
            using HttpRequestMessage request = new(HttpMethod.Get, new Uri(node, "/app/log/private?id=999"));
            request.Headers.Add(LedgerServer.ForwardedCallerHeader, user);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(request, Ct)).StatusCode);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cluster.DisposeAsync();
        _user.Dispose();
        _stranger.Dispose();
    }

    private HttpClient Client(X509Certificate2? certificate)
    {
        X509Certificate2 service = X509CertificateLoader.LoadCertificate(_cluster.Service.Certificate.RawData);
        var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                // Clients pin the service identity as their only CA, as with CCF's service_cert.pem.
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 peer && ServiceIdentity.IsIssuedBy(peer, service),
                ClientCertificates = certificate is null ? null : [certificate],
            },
        };
        return new HttpClient(handler);
    }

    /// <summary>A client that connects as a node does: it presents <paramref name="certificate"/> and accepts only attested nodes.</summary>
    private static HttpClient NodeClient(X509Certificate2 certificate, NodeChannels channels) => new(new SocketsHttpHandler
    {
        SslOptions =
        {
            ClientCertificates = [certificate],
            RemoteCertificateValidationCallback = (_, presented, _, _) => channels.IsNode(presented),
        },
    });

    /// <summary>A read forwarded for <paramref name="caller"/>, to the node server name (sent as SNI).</summary>
    private static HttpRequestMessage Forwarded(Uri node, string caller)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(node, "/app/log/private?id=999"));
        request.Headers.Host = NodeChannels.TargetHost;
        request.Headers.Add(LedgerServer.ForwardedCallerHeader, caller);
        return request;
    }

    /// <summary>Writes may meet an election; CCF clients retry on 503.</summary>
    private static async Task<HttpResponseMessage> RetryAsync(Func<Task<HttpResponseMessage>> send)
    {
        for (int attempt = 0; ; attempt++)
        {
            HttpResponseMessage response = await send();
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 50)
            {
                return response;
            }

            await Task.Delay(100, Ct);
        }
    }

    private static async Task WaitForStatusAsync(HttpClient client, Uri node, TxId id, string expected) =>
        await WaitForAsync(async () => (string?)(await client.GetFromJsonAsync<JsonObject>(new Uri(node, $"/node/tx?transaction_id={id}"), Ct))!["status"], s => s == expected);

    /// <summary>CCF's way: the transaction named in the x-ms-ccf-transaction-id request header.</summary>
    private static async Task<byte[]> CoseReceiptAsync(HttpClient client, Uri node, TxId id)
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(node, "/app/log/public/cose_receipt"));
            request.Headers.Add(LedgerServer.TransactionIdHeader, id.ToString());
            using HttpResponseMessage response = await client.SendAsync(request, Ct);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal("application/cose", response.Content.Headers.ContentType?.MediaType);
                return await response.Content.ReadAsByteArrayAsync(Ct);
            }

            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            await Task.Delay(50, Ct);
        }

        throw new TimeoutException($"No COSE receipt for {id}.");
    }

    private static async Task<string> ReceiptAsync(HttpClient client, Uri node, TxId id)
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            HttpResponseMessage response = await client.GetAsync(new Uri(node, $"/app/receipt?transaction_id={id}"), Ct);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return await response.Content.ReadAsStringAsync(Ct);
            }

            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            await Task.Delay(50, Ct);
        }

        throw new TimeoutException($"No receipt for {id}.");
    }

    /// <summary>Polls until <paramref name="done"/>; 30 s, generous for a loaded machine, then fails rather than go on unready.</summary>
    private static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        for (int attempt = 0; ; attempt++)
        {
            T value = await read();
            if (done(value))
            {
                return value;
            }

            if (attempt == 600)
            {
                throw new TimeoutException($"Still not there after 30 s: {value}.");
            }

            await Task.Delay(50, Ct);
        }
    }

    internal static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }
}
