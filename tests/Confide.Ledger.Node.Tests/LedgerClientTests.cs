using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Ledger.Ledger;
using Confide.Ledger.Node.Users;
using Confide.Ledger.Receipts;

namespace Confide.Ledger.Node.Tests;

/// <summary><see cref="LedgerClient"/>, a user's client library, against three nodes: calls, commit, receipts, elections, refusals.</summary>
public sealed class LedgerClientTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new(3, http: true);
    private readonly X509Certificate2 _user = LedgerApiTests.SelfSigned("user0");
    private readonly X509Certificate2 _stranger = LedgerApiTests.SelfSigned("stranger");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _cluster.Genesis.Users.Add(X509CertificateLoader.LoadCertificate(_user.RawData));
        for (int i = 0; i < 3; i++)
        {
            await _cluster.StartAsync(i, Ct);
        }
    }

    [Fact]
    public async Task A_write_through_any_node_commits_reads_back_and_has_receipts_verified_against_the_service()
    {
        // Straight after start: no leader yet, nodes still catching up; the client waits through it (503s).
        using LedgerClient client = Client(_cluster.Urls[2], _user);
        LedgerResult written = await client.PostAsync("/log/private", new JsonObject { ["id"] = 1, ["msg"] = "through the client" }, Ct);
        TxId id = Assert.NotNull(written.TransactionId);
        Assert.Equal(true, (bool?)written.Body);

        await client.WaitForCommitAsync(id, Ct);
        Assert.Equal(TxStatus.Committed, await client.GetStatusAsync(id, Ct));
        LedgerResult read = await client.GetAsync("log/private?id=1", Ct);
        Assert.Equal("through the client", (string?)read.Body!["msg"]);
        Assert.NotNull(read.TransactionId);

        Receipt receipt = await client.GetReceiptAsync(id, Ct);
        Assert.Equal(id, receipt.TxId);
        CoseReceipt cose = await client.GetCoseReceiptAsync(id, Ct);
        Assert.Equal(id, cose.TxId);
        Assert.Equal(receipt.ComputeRoot(), cose.ComputeRoot());

        // Reads are served by the node asked: once the delete is committed there, it sees it.
        LedgerResult deleted = await client.DeleteAsync("/log/private?id=1", Ct);
        await client.WaitForCommitAsync(Assert.NotNull(deleted.TransactionId), Ct);
        LedgerRequestException gone = await Assert.ThrowsAsync<LedgerRequestException>(() => client.GetAsync("/log/private?id=1", Ct));
        Assert.Equal(HttpStatusCode.NotFound, gone.Status);
    }

    [Fact]
    public async Task Writes_go_on_through_the_loss_of_the_leader()
    {
        LedgerNode leader = await _cluster.LeaderAsync(Ct);
        int leaderIndex = Array.IndexOf(_cluster.Nodes, leader);
        int follower = (leaderIndex + 1) % 3;
        using LedgerClient client = Client(_cluster.Urls[follower], _user);
        TxId before = (await client.PostAsync("/log/private", new JsonObject { ["id"] = 10, ["msg"] = "before" }, Ct)).TransactionId!.Value;
        await client.WaitForCommitAsync(before, Ct);

        await _cluster.StopAsync(leaderIndex);

        // Answered 503 while the two left elect a leader: resent until one takes it.
        TxId after = (await client.PostAsync("/log/private", new JsonObject { ["id"] = 11, ["msg"] = "after" }, Ct)).TransactionId!.Value;
        await client.WaitForCommitAsync(after, Ct);
        Assert.True(after.View > before.View, $"{after} is written in a later view than {before}");
        Assert.Equal("before", (string?)(await client.GetAsync("/log/private?id=10", Ct)).Body!["msg"]);
        Assert.Equal(after, (await client.GetReceiptAsync(after, Ct)).TxId);
    }

    [Fact]
    public async Task Refusals_come_back_as_ccf_errors_and_a_node_of_another_service_is_not_spoken_to()
    {
        await _cluster.LeaderAsync(Ct);
        using (LedgerClient stranger = Client(_cluster.Urls[0], _stranger))
        {
            LedgerRequestException refused = await Assert.ThrowsAsync<LedgerRequestException>(() => stranger.PostAsync("/log/private", new JsonObject { ["id"] = 1, ["msg"] = "x" }, Ct));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
            Assert.Equal("InvalidAuthenticationInfo", refused.Code);
        }

        using LedgerClient user = Client(_cluster.Urls[0], _user);
        LedgerRequestException bad = await Assert.ThrowsAsync<LedgerRequestException>(() => user.PostAsync("/log/private", new JsonObject { ["id"] = -1, ["msg"] = "x" }, Ct));
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<LedgerRequestException>(() => user.GetReceiptAsync(new TxId(1, 999_999), Ct))).Status);

        // Pinned to another service identity: the TLS handshake fails, and nothing is sent.
        using var other = ServiceIdentity.Create();
        using var impostor = new LedgerClient(new LedgerClientOptions { Node = _cluster.Urls[0], ServiceCertificate = other.Certificate, ClientCertificate = _user });
        HttpRequestException tls = await Assert.ThrowsAsync<HttpRequestException>(() => impostor.GetAsync("/log/private?id=1", Ct));
        Assert.Equal(HttpRequestError.SecureConnectionError, tls.HttpRequestError);

        // Nobody listening: resent for RetryFor, then the connection error.
        using var nowhere = new LedgerClient(new LedgerClientOptions { Node = new Uri($"https://127.0.0.1:{ClosedPort()}"), ServiceCertificate = _cluster.Service.Certificate, RetryFor = TimeSpan.FromMilliseconds(500) });
        Assert.Equal(HttpRequestError.ConnectionError, (await Assert.ThrowsAsync<HttpRequestException>(() => nowhere.GetAsync("/log/private?id=1", Ct))).HttpRequestError);

        Assert.Throws<ArgumentException>(() => new LedgerClient(new LedgerClientOptions { Node = new Uri("http://127.0.0.1:1"), ServiceCertificate = _cluster.Service.Certificate }));
    }

    public async ValueTask DisposeAsync()
    {
        await _cluster.DisposeAsync();
        _user.Dispose();
        _stranger.Dispose();
    }

    private LedgerClient Client(Uri node, X509Certificate2 user) => new(new LedgerClientOptions
    {
        Node = node,
        ServiceCertificate = X509CertificateLoader.LoadCertificate(_cluster.Service.Certificate.RawData),
        ClientCertificate = user,
    });

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
