using static Confide.Ledger.Node.Tests.NodeHttp;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Confide.Attestation.Verification;
using Confide.Ledger.Audit;
using Confide.Ledger.Governance.Requests;
using Confide.Ledger.Node.Hosting;
using Confide.Ledger.Receipts;
using Confide.Ledger.Node.Http;
using Confide.Ledger.Recovery;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Ledger.Node.Tests;

/// <summary>
/// Disaster recovery: a three-node service (attested joins, in this process) is lost entirely; a
/// new node starts from a copy of one node's ledger, two of three recovery members submit their
/// shares, a second node joins from the snapshot the recovery made, and the service reopens with
/// every committed write, a new identity and the recovery recorded.
/// </summary>
public sealed class RecoveryTests : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("confide-ledger-recovery-").FullName;
    private readonly Consortium _members = new(3);
    private readonly RSA[] _recoveryKeys = [RSA.Create(2048), RSA.Create(2048), RSA.Create(2048)];
    private readonly X509Certificate2 _user;
    private readonly SimulatedPlatform _platform;
    private readonly List<IDisposable> _owned = [];

    public RecoveryTests()
    {
        _user = TestUsers.Create("user");
        _platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_root, "platform"));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_lost_service_reopens_from_ledger_files_once_a_threshold_of_members_submit_their_shares()
    {
        // The original service: three nodes, three recovery members, threshold 2.
        var genesis = new ServiceGenesis { RecoveryThreshold = 2 };
        genesis.Users.Add(X509CertificateLoader.LoadCertificate(_user.RawData));
        int m = 0;
        foreach (X509Certificate2 member in _members.Certificates)
        {
            genesis.Members.Add(X509CertificateLoader.LoadCertificate(member.RawData));
            genesis.MemberEncryptionKeys[Governance.GovernanceMaps.IdOf(member)] = _recoveryKeys[m++].ExportSubjectPublicKeyInfoPem();
        }

        (IPEndPoint Raft, Uri Rpc)[] addresses = [.. Enumerable.Range(0, 3).Select(_ => (Free(), new Uri($"https://127.0.0.1:{Free().Port}")))];
        var hosts = new List<LedgerNodeHost> { await LedgerNodeHost.StartAsync(Options(0, addresses, genesis: genesis), Ct) };
        X509Certificate2 oldService = X509CertificateLoader.LoadCertificate(hosts[0].ServiceCertificate.RawData);
        _owned.Add(oldService);
        hosts.Add(await LedgerNodeHost.StartAsync(Options(1, addresses, join: (addresses[0].Rpc, oldService)), Ct));
        hosts.Add(await LedgerNodeHost.StartAsync(Options(2, addresses, join: (addresses[0].Rpc, oldService)), Ct));

        using HttpClient oldClient = Client(oldService, _user);
        var written = new List<string>();
        for (int id = 0; id < 20; id++)
        {
            string path = id % 2 == 0 ? "/app/log/blocking/private" : "/app/log/blocking/public";
            using HttpResponseMessage response = await RetryAsync(() => oldClient.PostAsJsonAsync(new Uri(addresses[id % 3].Rpc, path), new { id, msg = $"before the disaster {id}" }, Ct));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            written.Add(response.Headers.GetValues(LedgerServer.TransactionIdHeader).Single());
        }

        await _members.ActivateAsync(oldClient, addresses[0].Rpc, Ct); // only active members vote, in a recovery too

        // The copy comes from node 0. A follower learns of a commit only from a later message, and
        // under CPU load node 0 was seen lost before the signature committing the last write
        // reached it: the recovery then rightly drops that write. Wait until node 0 holds it.
        await WaitForAsync(async () => await TryGetAsync(oldClient, new Uri(addresses[0].Rpc, $"/node/tx?transaction_id={written[^1]}")) is { } status && (string?)status["status"] == "Committed");

        // Every node is lost; one ledger copy survives.
        string copy = Path.Combine(_root, "surviving-ledger");
        foreach (LedgerNodeHost host in hosts)
        {
            await host.DisposeAsync();
        }

        Directory.CreateDirectory(copy);
        foreach (string file in Directory.EnumerateFiles(Path.Combine(_root, "n0", "ledger")))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        // A new two-node service recovers from it: the first node waits for shares.
        (IPEndPoint Raft, Uri Rpc)[] fresh = [(Free(), new Uri($"https://127.0.0.1:{Free().Port}")), (Free(), new Uri($"https://127.0.0.1:{Free().Port}"))];
        var steps = new List<string>();
        Task<LedgerNodeHost> recovering = LedgerRecovery.RecoverAsync(Options(0, fresh, directory: "recovered"), copy, steps.Add, Ct);
        string newServicePem = Path.Combine(_root, "recovered", "service_cert.pem");
        await WaitForAsync(() => Task.FromResult(File.Exists(newServicePem) && File.ReadAllText(newServicePem).Contains("END CERTIFICATE", StringComparison.Ordinal)));
        X509Certificate2 newService = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(newServicePem, Ct));
        _owned.Add(newService);
        using HttpClient anyone = new(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 peer && ServiceIdentity.IsIssuedBy(peer, newService) } });
        await WaitForAsync(async () => await TryGetAsync(anyone, new Uri(fresh[0].Rpc, "/node/network")) is { } state && (string?)state["service_status"] == "Recovering");
        Assert.Equal("PartOfPublicNetwork", (string?)(await TryGetAsync(anyone, new Uri(fresh[0].Rpc, "/node/state")))!["state"]);

        // CCF's order: no share is taken before members pass transition_service_to_open.
        using (HttpResponseMessage early = await Consortium.SendAsync(anyone, fresh[0].Rpc, $"/gov/recovery/members/{_members.Signers[0].MemberId}:recover", SignedShare(0, await EncryptedShareAsync(anyone, fresh[0].Rpc, 0)), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, early.StatusCode);
            Assert.Contains("ServiceNotWaitingForRecoveryShares", await early.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        // A proposal that names another identity as the one whose ledger is recovered fails when it
        // passes; the right one moves the service to WaitingForRecoveryShares.
        JsonObject wrong = await _members.PassAsync(anyone, fresh[0].Rpc, OpeningActions(previous: newService, next: newService), Ct);
        Assert.Equal("Failed", (string?)wrong["proposalState"]);
        Assert.Contains("not the identity of the ledger being recovered", wrong.ToJsonString(), StringComparison.Ordinal);
        JsonObject opening = await _members.PassAsync(anyone, fresh[0].Rpc, OpeningActions(previous: oldService, next: newService), Ct);
        Assert.Equal("Accepted", (string?)opening["proposalState"]);
        Assert.Equal("WaitingForRecoveryShares", (string?)(await TryGetAsync(anyone, new Uri(fresh[0].Rpc, "/node/network")))!["service_status"]);

        for (int member = 0; member < 2; member++)
        {
            Assert.False(recovering.IsCompleted, $"the service reopened with {member} shares");
            string memberId = _members.Signers[member].MemberId;
            JsonObject encrypted = (await anyone.GetFromJsonAsync<JsonObject>(new Uri(fresh[0].Rpc, $"/gov/recovery/encrypted-shares/{memberId}?{Consortium.ApiVersion}"), Ct))!;
            byte[] share = RecoveryShares.DecryptShare(Convert.FromBase64String((string)encrypted["encryptedShare"]!), _recoveryKeys[member]);
            byte[] request = _members.Signers[member].Sign(GovernanceMessageType.RecoveryShare, Encoding.UTF8.GetBytes(new JsonObject { ["share"] = Convert.ToBase64String(share) }.ToJsonString()), DateTimeOffset.UtcNow);
            using HttpResponseMessage submitted = await Consortium.SendAsync(anyone, fresh[0].Rpc, $"/gov/recovery/members/{memberId}:recover", request, Ct);
            Assert.Equal(HttpStatusCode.OK, submitted.StatusCode);
            Assert.Contains($"{member + 1}/2 recovery shares", await submitted.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

            if (member == 0)
            {
                // A share signed by someone who is not a member of the lost service is refused.
                using var outsider = new Consortium(1);
                byte[] forged = outsider.Signers[0].Sign(GovernanceMessageType.RecoveryShare, Encoding.UTF8.GetBytes(new JsonObject { ["share"] = Convert.ToBase64String(share) }.ToJsonString()), DateTimeOffset.UtcNow);
                using HttpResponseMessage refused = await Consortium.SendAsync(anyone, fresh[0].Rpc, $"/gov/recovery/members/{outsider.Signers[0].MemberId}:recover", forged, Ct);
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

                // The same share again, and a share that is not one, are refused without counting.
                byte[] again = _members.Signers[0].Sign(GovernanceMessageType.RecoveryShare, Encoding.UTF8.GetBytes(new JsonObject { ["share"] = Convert.ToBase64String(share) }.ToJsonString()), DateTimeOffset.UtcNow);
                using HttpResponseMessage duplicate = await Consortium.SendAsync(anyone, fresh[0].Rpc, $"/gov/recovery/members/{memberId}:recover", again, Ct);
                Assert.Equal(HttpStatusCode.BadRequest, duplicate.StatusCode);
                Assert.Contains("Duplicate", await duplicate.Content.ReadAsStringAsync(Ct), StringComparison.OrdinalIgnoreCase);
                byte[] garbage = _members.Signers[1].Sign(GovernanceMessageType.RecoveryShare, Encoding.UTF8.GetBytes("""{"share": "AAAA"}"""), DateTimeOffset.UtcNow);
                using HttpResponseMessage malformed = await Consortium.SendAsync(anyone, fresh[0].Rpc, $"/gov/recovery/members/{_members.Signers[1].MemberId}:recover", garbage, Ct);
                Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
            }
        }

        await using LedgerNodeHost recovered = await recovering.WaitAsync(TimeSpan.FromSeconds(60), Ct);

        // The second node joins the recovered service (attested, admitted while the recovery is not
        // yet recorded), starting from the snapshot the recovery made: the history is in no consensus log.
        await using LedgerNodeHost joined = await LedgerNodeHost.StartAsync(Options(1, fresh, join: (fresh[0].Rpc, newService), directory: "recovered-joiner"), Ct);
        Assert.Single(Directory.GetFiles(Path.Combine(_root, "recovered-joiner", "snapshots"), "snapshot_*.committed"));
        Assert.Contains(steps, s => s.Contains("2 of 3 recovery members", StringComparison.Ordinal));
        Assert.Equal(newService.Thumbprint, recovered.ServiceCertificate.Thumbprint);
        Assert.NotEqual(oldService.Thumbprint, newService.Thumbprint);

        // Open again, the recovery recorded, every committed write there, private ones included.
        using HttpClient client = Client(newService, _user);
        JsonObject network = await WaitForAsync(async () => await TryGetAsync(client, new Uri(fresh[0].Rpc, "/node/network")) is { } n && (string?)n["service_status"] == "Open" ? n : null);
        Assert.Equal(1, (int)network["recovery_count"]!);
        for (int id = 0; id < 20; id++)
        {
            string path = id % 2 == 0 ? "/app/log/private" : "/app/log/public";
            Assert.Equal($"before the disaster {id}", (string?)(await client.GetFromJsonAsync<JsonObject>(new Uri(fresh[0].Rpc, $"{path}?id={id}"), Ct))!["msg"]);
            Assert.Equal("Committed", (string?)(await client.GetFromJsonAsync<JsonObject>(new Uri(fresh[0].Rpc, $"/node/tx?transaction_id={written[id]}"), Ct))!["status"]);
        }

        Assert.Equal("before the disaster 18", (string?)(await client.GetFromJsonAsync<JsonObject>(new Uri(fresh[1].Rpc, "/app/log/private?id=18"), Ct))!["msg"]);

        // The members' vote is in the reopened service's ledger, as any proposal.
        string openingId = (string)opening["proposalId"]!;
        Assert.Equal(openingId, (string?)(await client.GetFromJsonAsync<JsonObject>(new Uri(fresh[0].Rpc, $"/gov/service/info?{Consortium.ApiVersion}"), Ct))!["recovery_proposal_id"]);
        Assert.Equal("Accepted", (string?)(await client.GetFromJsonAsync<JsonObject>(new Uri(fresh[0].Rpc, $"/gov/members/proposals/{openingId}?{Consortium.ApiVersion}"), Ct))!["proposalState"]);

        // A receipt of a write from before the disaster, served by the recovered service: signed by
        // a node the old identity endorsed, it verifies against the new service certificate alone,
        // through the service endorsement the new identity issued (CCF's service_endorsements).
        string oldReceipt = await ReceiptAsync(client, fresh[0].Rpc, written[3]);
        Assert.Single(ReceiptVerifier.Verify(oldReceipt, newService).ServiceEndorsements);
        JsonObject stripped = JsonNode.Parse(oldReceipt)!.AsObject();
        stripped.Remove("service_endorsements");
        ReceiptVerificationException unendorsed = Assert.Throws<ReceiptVerificationException>(() => ReceiptVerifier.Verify(stripped.ToJsonString(), newService));
        Assert.Equal(ReceiptVerificationError.UntrustedCertificate, unendorsed.Error);
        ReceiptVerifier.Verify(stripped.ToJsonString(), oldService); // the old identity still vouches for it directly
        JsonObject falselyEndorsed = JsonNode.Parse(oldReceipt)!.AsObject();
        using (ServiceIdentity impostor = ServiceIdentity.Create())
        {
            falselyEndorsed["service_endorsements"] = new JsonArray(impostor.EndorsePreviousIdentity(oldService).ExportCertificatePem());
        }

        Assert.Equal(ReceiptVerificationError.UntrustedCertificate, Assert.Throws<ReceiptVerificationException>(() => ReceiptVerifier.Verify(falselyEndorsed.ToJsonString(), newService)).Error);

        // The recovered service goes on, in a later view, and its ledger audits clean.
        using HttpResponseMessage after = await RetryAsync(() => client.PostAsJsonAsync(new Uri(fresh[1].Rpc, "/app/log/blocking/private"), new { id = 100, msg = "after the recovery" }, Ct));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Ledger.TxId afterId = Ledger.TxId.Parse(after.Headers.GetValues(LedgerServer.TransactionIdHeader).Single());
        Assert.True(afterId > Ledger.TxId.Parse(written[^1]), $"{afterId} after {written[^1]}");
        AuditReport audit = LedgerAuditor.Audit(Path.Combine(_root, "recovered", "ledger"));
        Assert.True(audit.Passed, audit.ToString());
        for (int attempt = 0; attempt < 600 && await TryGetAsync(client, new Uri(fresh[1].Rpc, "/app/log/private?id=100")) is null; attempt++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.Equal("after the recovery", (string?)(await client.GetFromJsonAsync<JsonObject>(new Uri(fresh[1].Rpc, "/app/log/private?id=100"), Ct))!["msg"]);

        // A write of the recovered service is signed under the new identity: no endorsements needed.
        Assert.Empty(ReceiptVerifier.Verify(await ReceiptAsync(client, fresh[0].Rpc, afterId.ToString()), newService).ServiceEndorsements);
    }

    private static JsonArray OpeningActions(X509Certificate2 previous, X509Certificate2 next) =>
    [
        new JsonObject
        {
            ["name"] = "transition_service_to_open",
            ["args"] = new JsonObject { ["previous_service_identity"] = previous.ExportCertificatePem(), ["next_service_identity"] = next.ExportCertificatePem() },
        },
    ];

    private async Task<byte[]> EncryptedShareAsync(HttpClient client, Uri node, int member) =>
        Convert.FromBase64String((string)(await client.GetFromJsonAsync<JsonObject>(new Uri(node, $"/gov/recovery/encrypted-shares/{_members.Signers[member].MemberId}?{Consortium.ApiVersion}"), Ct))!["encryptedShare"]!);

    /// <summary>Member <paramref name="member"/>'s share, decrypted with its key and signed as a recovery_share request.</summary>
    private byte[] SignedShare(int member, byte[] encryptedShare)
    {
        byte[] share = RecoveryShares.DecryptShare(encryptedShare, _recoveryKeys[member]);
        return _members.Signers[member].Sign(GovernanceMessageType.RecoveryShare, Encoding.UTF8.GetBytes(new JsonObject { ["share"] = Convert.ToBase64String(share) }.ToJsonString()), DateTimeOffset.UtcNow);
    }

    /// <summary>The receipt of a committed transaction, waiting out 202 (no committed signature covers it yet).</summary>
    private static async Task<string> ReceiptAsync(HttpClient client, Uri node, string transactionId)
    {
        for (int attempt = 0; ; attempt++)
        {
            using HttpResponseMessage response = await client.GetAsync(new Uri(node, $"/app/receipt?transaction_id={transactionId}"), Ct);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return await response.Content.ReadAsStringAsync(Ct);
            }

            Assert.True(attempt < 200 && response.StatusCode == HttpStatusCode.Accepted, $"receipt of {transactionId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
            await Task.Delay(50, Ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }

        foreach (RSA key in _recoveryKeys)
        {
            key.Dispose();
        }

        _members.Dispose();
        _user.Dispose();
        _platform.Dispose();
        await Task.Yield();
        Directory.Delete(_root, recursive: true);
    }

    private LedgerNodeHostOptions Options(int i, (IPEndPoint Raft, Uri Rpc)[] addresses, ServiceGenesis? genesis = null, (Uri Target, X509Certificate2 Service)? join = null, string? directory = null)
    {
        var tee = new SimulationTee(_platform, LedgerIdentity.Simulated());
        _owned.Add(tee);
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(_platform.RootCertificate);
        return new LedgerNodeHostOptions
        {
            DataDirectory = Path.Combine(_root, directory ?? $"n{i}"),
            NodeToNode = addresses[i].Raft,
            Rpc = addresses[i].Rpc,
            Peers = Enumerable.Range(0, addresses.Length).Where(p => p != i).ToDictionary(p => (EndPoint)addresses[p].Raft, p => addresses[p].Rpc),
            Tee = tee,
            Genesis = genesis,
            JoinTarget = join?.Target,
            ServiceCertificate = join?.Service,
            Verifier = verifier,
            AllowSimulatedJoiners = true,
            SignatureDelay = TimeSpan.FromMilliseconds(20),
            LowerElectionTimeout = TimeSpan.FromMilliseconds(500),
            UpperElectionTimeout = TimeSpan.FromMilliseconds(1000),
            RequestTimeout = TimeSpan.FromSeconds(2), // a busy moment of the machine must not depose the leader mid-test
        };
    }

    private static HttpClient Client(X509Certificate2 service, X509Certificate2 user) => new(new SocketsHttpHandler
    {
        SslOptions =
        {
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 peer && ServiceIdentity.IsIssuedBy(peer, service),
            ClientCertificates = [user],
        },
    });

    private static IPEndPoint Free() => Confide.Tests.LoopbackPorts.NextEndPoint();
}
