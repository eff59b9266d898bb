using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Ledger.Ledger;
using Confide.Ledger.Node.Hosting;
using Confide.Ledger.Receipts;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Ledger.Node.Tests;

/// <summary>
/// Three ledger nodes, each the signed ledger enclave package run by <c>confide run</c> in its own
/// process on 127.0.0.1: attested joins (the code id is the package's MRENCLAVE), writes under
/// load, the leader killed, a follower restarted, receipts, a tampered ledger chunk, and a joiner
/// whose code the service does not allow.
/// </summary>
public sealed class ProcessClusterTests : IDisposable
{
    private static readonly string CliDirectory = typeof(ProcessClusterTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ConfideCliDirectory").Value!;
    private static readonly string Cli = Path.Combine(CliDirectory, "confide.dll");

    private readonly string _root = Directory.CreateTempSubdirectory("confide-ledger-cluster-").FullName;
    // Nodes 0-2 are the service; 3 and 4 recover it after it is lost.
    private readonly (int Raft, int Rpc)[] _ports = [.. Enumerable.Range(0, 5).Select(_ => (Free(), Free()))];
    private readonly Process?[] _nodes = new Process?[5];
    private readonly string?[] _nodeIds = new string?[5];
    private readonly RSA[] _recoveryKeys = [RSA.Create(2048), RSA.Create(2048), RSA.Create(2048)];
    private readonly X509Certificate2 _user;
    private readonly Consortium _members = new(3);

    public ProcessClusterTests()
    {
        _user = TestUsers.Create("user0");
        File.WriteAllText(Path.Combine(_root, "user.pem"), _user.ExportCertificatePem());
        int m = 0;
        foreach (X509Certificate2 member in _members.Certificates)
        {
            File.WriteAllText(Path.Combine(_root, $"member{m}.pem"), member.ExportCertificatePem());
            File.WriteAllText(Path.Combine(_root, $"member{m}-rsa.pem"), _recoveryKeys[m].ExportSubjectPublicKeyInfoPem());
            m++;
        }

        // The node package, signed once: every node runs these measured files.
        string unsigned = Path.Combine(AppContext.BaseDirectory, "ledger-enclave");
        foreach (string file in Directory.EnumerateFiles(unsigned, "*", SearchOption.AllDirectories))
        {
            string copy = Path.Combine(Package, Path.GetRelativePath(unsigned, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }

        using RSA signer = Confide.Enclave.Signing.EnclaveSigningKey.Generate();
        PackageIdentity = Confide.Enclave.EnclavePackage.Sign(Package, signer);
    }

    private string Package => Path.Combine(_root, "confide-ledger");

    private Confide.Enclave.EnclavePackageIdentity PackageIdentity { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Simulation => Path.Combine(_root, "simulation");

    private string ServicePem => Path.Combine(_root, "n0", "service_cert.pem");

    [Fact]
    public async Task A_three_process_service_opened_by_its_members_admits_a_node_they_vote_trusted_survives_its_leader_and_detects_a_tampered_ledger()
    {
        await StartNodeAsync(0);
        await StartNodeAsync(1);
        using X509Certificate2 service = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(ServicePem, Ct));
        using HttpClient client = Client(service, _user);
        await WaitForAsync(async () => (string?)(await GetJsonAsync(client, 1, "/node/network"))?["service_status"] == "Opening", "the genesis");

        // The members open the service; from then on a joiner waits for their vote.
        await _members.ActivateAsync(client, Url(1, ""), Ct);
        JsonObject opened = await _members.PassAsync(client, Url(1, ""), new JsonArray(new JsonObject
        {
            ["name"] = "transition_service_to_open",
            ["args"] = new JsonObject { ["next_service_identity"] = service.ExportCertificatePem() },
        }), Ct);
        Assert.Equal("Accepted", (string?)opened["proposalState"]);
        Task joining = StartNodeAsync(2);
        string? pending = null;
        await WaitForAsync(async () =>
        {
            JsonArray nodes = (await GetJsonAsync(client, 0, "/node/network/nodes"))!["nodes"]!.AsArray();
            pending = (string?)nodes.FirstOrDefault(n => (string?)n!["status"] == "Pending")?["node_id"];
            return pending is not null;
        }, "the third node to be recorded Pending");
        Assert.False(joining.IsCompleted, "the third node joined before the members voted");
        JsonObject trusted = await _members.PassAsync(client, Url(0, ""), new JsonArray(new JsonObject { ["name"] = "transition_node_to_trusted", ["args"] = new JsonObject { ["node_id"] = pending } }), Ct);
        Assert.Equal("Accepted", (string?)trusted["proposalState"]);
        await joining;
        Assert.Equal(pending, _nodeIds[2]);
        for (int i = 0; i < 3; i++)
        {
            await WaitForAsync(async () => (string?)(await GetJsonAsync(client, i, "/node/network"))?["service_status"] == "Open", $"node {i} to see the open service");
        }

        // Writes acknowledged on commit, spread over the nodes; the leader is killed half way.
        var committed = new Dictionary<int, TxId>();
        int leader = -1;
        for (int n = 0; n < 60; n++)
        {
            if (n == 30)
            {
                leader = await LeaderAsync(client); // the leader of this moment, not of before the first write
                _nodes[leader]!.Kill(entireProcessTree: true);
                await _nodes[leader]!.WaitForExitAsync(Ct);
            }

            int target = Enumerable.Range(0, 3).Where(i => !_nodes[i]!.HasExited).ElementAt(n % 2);
            committed[n] = await WriteOnCommitAsync(client, target, n);
        }

        // Every write acknowledged as committed is on both survivors, and Committed there.
        int[] survivors = [.. Enumerable.Range(0, 3).Where(i => i != leader)];
        foreach (int node in survivors)
        {
            // A follower learns of a commit a heartbeat after the leader.
            await WaitForAsync(async () => (string?)(await GetJsonAsync(client, node, $"/node/tx?transaction_id={committed[59]}"))?["status"] == "Committed", $"node {node} to learn the last commit");
            foreach ((int id, TxId tx) in committed)
            {
                Assert.Equal("Committed", (string?)(await GetJsonAsync(client, node, $"/node/tx?transaction_id={tx}"))!["status"]);
            }

            Assert.Equal("message 59", (string?)(await GetJsonAsync(client, node, "/app/log/private?id=59"))!["msg"]);
            Assert.Equal("message 0", (string?)(await GetJsonAsync(client, node, "/app/log/private?id=0"))!["msg"]);
        }

        Assert.True(committed[59].View > committed[0].View, $"the new leader writes in a later view ({committed[0]} → {committed[59]})");

        // The old leader restarts from its own data directory and catches up.
        await StartNodeAsync(leader);
        await WaitForAsync(async () => (string?)(await GetJsonAsync(client, leader, $"/node/tx?transaction_id={committed[59]}"))?["status"] == "Committed", "the restarted node to catch up");
        Assert.Equal("message 45", (string?)(await GetJsonAsync(client, leader, "/app/log/private?id=45"))!["msg"]);

        // A receipt fetched from any node verifies offline, with the service identity alone.
        string receiptJson = await ReceiptAsync(client, survivors[0], committed[10]);
        Assert.Equal(committed[10], ReceiptVerifier.Verify(receiptJson, service).TxId);
        string receiptFile = Path.Combine(_root, "receipt.json");
        await File.WriteAllTextAsync(receiptFile, receiptJson, Ct);
        (int verifyExit, string verifyOutput, _) = await RunCliAsync("ledger", "verify-receipt", receiptFile, "--service-cert", ServicePem);
        Assert.Equal(0, verifyExit);
        Assert.Contains($"transaction {committed[10]}", verifyOutput, StringComparison.Ordinal);

        // Its COSE receipt (CCF's profile) too, signed by the service identity itself; one flipped byte is refused.
        byte[] cose = await CoseReceiptAsync(client, survivors[1], committed[10]);
        string coseFile = Path.Combine(_root, "receipt.cose");
        await File.WriteAllBytesAsync(coseFile, cose, Ct);
        (int coseExit, string coseOutput, _) = await RunCliAsync("ledger", "verify-receipt", coseFile, "--service-cert", ServicePem);
        Assert.True(coseExit == 0, coseOutput);
        Assert.Contains($"COSE receipt verified: transaction {committed[10]}", coseOutput, StringComparison.Ordinal);
        cose[^1] ^= 0x01;
        await File.WriteAllBytesAsync(coseFile, cose, Ct);
        Assert.Equal(1, (await RunCliAsync("ledger", "verify-receipt", coseFile, "--service-cert", ServicePem)).Exit);

        // Stop a follower and alter one byte of its ledger: the audit names the entry, and the node refuses to restart.
        int current = await LeaderAsync(client);
        int follower = survivors.First(i => i != current);
        _nodes[follower]!.Kill(entireProcessTree: true);
        await _nodes[follower]!.WaitForExitAsync(Ct);
        string ledger = Path.Combine(_root, $"n{follower}", "ledger");
        (int auditExit, string auditOutput, _) = await RunCliAsync("ledger", "audit", ledger, "--service-cert", ServicePem);
        Assert.True(auditExit == 0, auditOutput);
        string chunk = Directory.EnumerateFiles(ledger, "ledger_*").Order(StringComparer.Ordinal).First();
        byte[] bytes = await File.ReadAllBytesAsync(chunk, Ct);
        StoredEntry victim = new LedgerReader(ledger).ReadEntries().First(e => e.Entry.TxId.Seqno == committed[20].Seqno);
        bytes[victim.Offset + 60] ^= 0x40;
        await File.WriteAllBytesAsync(chunk, bytes, Ct);

        (auditExit, auditOutput, string auditErrors) = await RunCliAsync("ledger", "audit", ledger, "--service-cert", ServicePem);
        Assert.Equal(1, auditExit);
        Assert.Contains($"seqno {committed[20].Seqno}", auditOutput + auditErrors, StringComparison.Ordinal);

        Process restarted = StartProcess(follower, join: true);
        await restarted.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);
        Assert.NotEqual(0, restarted.ExitCode);
        Assert.Contains("ledger", await restarted.StandardError.ReadToEndAsync(Ct), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_node_whose_code_id_the_service_does_not_allow_is_refused()
    {
        await StartNodeAsync(0);
        using X509Certificate2 service = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(ServicePem, Ct));
        using HttpClient client = Client(service, null);

        // Genuine simulated evidence, but of other code than the service allows.
        using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate(Simulation);
        var other = new TeeIdentity(TeeKind.Simulation, SHA256.HashData("other ledger code"u8), LedgerIdentity.Simulated().SignerId, LedgerIdentity.ProductId, 1, false);
        using var tee = new SimulationTee(platform, other);
        using var nodeKey = ServiceIdentity.CreateNodeKey();
        using var exchange = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        TeeEvidence evidence = await tee.GetEvidenceAsync(NodeJoin.ReportData(nodeKey, exchange), Ct);
        JsonObject request = NodeJoin.CreateRequest(nodeKey, exchange, evidence.Data, evidence.CollateralJson, "127.0.0.1:1", "127.0.0.1:2");

        HttpResponseMessage refused = await client.PostAsJsonAsync(Url(0, "/node/join"), request, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        string message = (string)(await refused.Content.ReadFromJsonAsync<JsonObject>(Ct))!["error"]!["message"]!;
        Assert.Contains($"Code id {Convert.ToHexStringLower(other.UniqueId)} is not allowed", message, StringComparison.Ordinal);

        // The same evidence bound to other keys than the request's is refused too.
        using var otherKey = ServiceIdentity.CreateNodeKey();
        request["node_public_key"] = otherKey.ExportSubjectPublicKeyInfoPem();
        HttpResponseMessage unbound = await client.PostAsJsonAsync(Url(0, "/node/join"), request, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, unbound.StatusCode);
        Assert.Contains("report data", (string)(await unbound.Content.ReadFromJsonAsync<JsonObject>(Ct))!["error"]!["message"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lost_three_process_service_is_recovered_by_two_processes_from_a_ledger_copy_and_two_members_shares()
    {
        await StartNodeAsync(0);
        await StartNodeAsync(1);
        await StartNodeAsync(2);
        using X509Certificate2 service = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(ServicePem, Ct));
        using HttpClient client = Client(service, _user);
        await WaitForAsync(async () => (string?)(await GetJsonAsync(client, 1, "/node/network"))?["service_status"] == "Opening", "the genesis");
        var committed = new Dictionary<int, TxId>();
        for (int n = 0; n < 12; n++)
        {
            committed[n] = await WriteOnCommitAsync(client, n % 3, n);
        }

        await _members.ActivateAsync(client, Url(1, ""), Ct); // only active members vote the recovery through

        // Every node is lost; a copy of node 1's ledger survives. (An operator recovers from the
        // longest ledger left; here node 1 is let to learn of the last commit first.)
        await WaitForAsync(async () => (string?)(await GetJsonAsync(client, 1, $"/node/tx?transaction_id={committed[11]}"))?["status"] == "Committed", "node 1 to learn the last commit");
        for (int i = 0; i < 3; i++)
        {
            _nodes[i]!.Kill(entireProcessTree: true);
            await _nodes[i]!.WaitForExitAsync(Ct);
        }

        string copy = Path.Combine(_root, "surviving-ledger");
        Directory.CreateDirectory(copy);
        foreach (string file in Directory.EnumerateFiles(Path.Combine(_root, "n1", "ledger")))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        // Node 3 recovers: it audits the copy, then waits for shares.
        Process recovering = StartProcess(3, join: false, recoverFrom: copy);
        _nodes[3] = recovering;
        var waiting = new TaskCompletionSource();
        var serving = new TaskCompletionSource();
        _ = Task.Run(async () =>
        {
            while (await recovering.StandardOutput.ReadLineAsync(CancellationToken.None) is { } line)
            {
                if (line.StartsWith("recovery: waiting for recovery shares", StringComparison.Ordinal))
                {
                    waiting.TrySetResult();
                }
                else if (line.StartsWith("node ", StringComparison.Ordinal))
                {
                    _nodeIds[3] = line.Split(' ')[1];
                }
                else if (line.StartsWith("rpc: ", StringComparison.Ordinal))
                {
                    serving.TrySetResult();
                }
            }

            waiting.TrySetException(new InvalidOperationException("the recovering node exited"));
            serving.TrySetException(new InvalidOperationException("the recovering node exited"));
        }, CancellationToken.None);
        await waiting.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        using X509Certificate2 recoveredService = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(_root, "n3", "service_cert.pem"), Ct));
        using HttpClient recoveryClient = Client(recoveredService, _user);
        JsonObject opening = await _members.PassAsync(recoveryClient, Url(3, ""), new JsonArray(new JsonObject
        {
            ["name"] = "transition_service_to_open",
            ["args"] = new JsonObject { ["previous_service_identity"] = service.ExportCertificatePem(), ["next_service_identity"] = recoveredService.ExportCertificatePem() },
        }), Ct);
        Assert.Equal("Accepted", (string?)opening["proposalState"]);
        for (int member = 1; member <= 2; member++)
        {
            // As a member does it: MemberClient (confide ledger member submit-share) fetches the
            // encrypted share, decrypts it with the member's RSA key and submits it signed.
            using var asMember = new Confide.Ledger.Node.Members.MemberClient(new() { Node = Url(3, ""), ServiceCertificate = recoveredService, Signer = _members.Signers[member] });
            Assert.Contains($"{member}/2 recovery shares", await asMember.SubmitRecoveryShareAsync(_recoveryKeys[member], Ct), StringComparison.Ordinal);
        }

        await serving.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        await StartNodeAsync(4); // joins the recovered service from its snapshot

        // Both processes serve the recovered service: every committed write, the recovery recorded.
        await WaitForAsync(async () => (string?)(await GetJsonAsync(recoveryClient, 4, "/node/network"))?["service_status"] == "Open", "the recovered service to open");
        Assert.Equal(1, (int)(await GetJsonAsync(recoveryClient, 4, "/node/network"))!["recovery_count"]!);
        foreach ((int id, TxId _) in committed)
        {
            Assert.Equal($"message {id}", (string?)(await GetJsonAsync(recoveryClient, 4, $"/app/log/private?id={id}"))!["msg"]);
        }

        TxId after = await WriteOnCommitAsync(recoveryClient, 4, 100);
        Assert.True(after > committed[11], $"{after} after {committed[11]}");
    }

    public void Dispose()
    {
        foreach (Process? node in _nodes)
        {
            try
            {
                node?.Kill(entireProcessTree: true);
                node?.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }

            node?.Dispose();
        }

        _user.Dispose();
        _members.Dispose();
        foreach (RSA key in _recoveryKeys)
        {
            key.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    private async Task StartNodeAsync(int i)
    {
        Process process = StartProcess(i, join: i is not (0 or 3));
        _nodes[i] = process;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("node ", StringComparison.Ordinal))
            {
                _nodeIds[i] = line.Split(' ')[1];
                Assert.Contains($"code id {PackageIdentity.MrEnclaveHex}", line, StringComparison.Ordinal);
            }

            if (line.StartsWith("rpc: ", StringComparison.Ordinal))
            {
                _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None); // keep draining
                return;
            }
        }

        throw new InvalidOperationException($"Node {i} exited without serving: {await process.StandardError.ReadToEndAsync(Ct)}");
    }

    private Process StartProcess(int i, bool join, string? recoverFrom = null)
    {
        int first = i < 3 ? 0 : 3, count = i < 3 ? 3 : 2;
        var arguments = new List<string>
        {
            "run", Package, "--tee", "simulation", "--",
            recoverFrom is not null ? "recover" : join ? "join" : "start",
            "--data-dir", Path.Combine(_root, $"n{i}"),
            "--node-address", $"127.0.0.1:{_ports[i].Raft}",
            "--rpc-address", $"https://127.0.0.1:{_ports[i].Rpc}",
            "--allow-simulation",
            "--signature-interval-ms", "20", "--election-timeout-ms", "500", "--request-timeout-ms", "2000",
        };
        for (int peer = first; peer < first + count; peer++)
        {
            if (peer != i)
            {
                arguments.AddRange(["--peer", $"127.0.0.1:{_ports[peer].Raft}=https://127.0.0.1:{_ports[peer].Rpc}"]);
            }
        }

        if (recoverFrom is not null)
        {
            arguments.AddRange(["--previous-ledger", recoverFrom]);
        }
        else if (join)
        {
            arguments.AddRange(["--target", $"https://127.0.0.1:{_ports[first].Rpc}", "--service-cert", Path.Combine(_root, $"n{first}", "service_cert.pem")]);
        }
        else
        {
            arguments.AddRange(["--user-cert", Path.Combine(_root, "user.pem"), "--recovery-threshold", "2"]);
            for (int member = 0; member < 3; member++)
            {
                arguments.AddRange(["--recovery-member", $"{Path.Combine(_root, $"member{member}.pem")}={Path.Combine(_root, $"member{member}-rsa.pem")}"]);
            }
        }

        return Start(arguments);
    }

    private Process Start(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Cli);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["CONFIDE_SIMULATION_DIR"] = Simulation;
        return Process.Start(start)!;
    }

    private async Task<(int Exit, string Output, string Errors)> RunCliAsync(params string[] arguments)
    {
        using Process process = Start(arguments);
        Task<string> output = process.StandardOutput.ReadToEndAsync(Ct);
        Task<string> errors = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);
        return (process.ExitCode, await output, await errors);
    }

    private Uri Url(int node, string path) => new($"https://127.0.0.1:{_ports[node].Rpc}{path}");

    private async Task<JsonObject?> GetJsonAsync(HttpClient client, int node, string path)
    {
        using HttpResponseMessage response = await client.GetAsync(Url(node, path), Ct);
        return await response.Content.ReadFromJsonAsync<JsonObject>(Ct);
    }

    private async Task<int> LeaderAsync(HttpClient client)
    {
        string? primary = null;
        await WaitForAsync(async () =>
        {
            int live = Enumerable.Range(0, 3).First(i => _nodes[i] is { HasExited: false });
            primary = (string?)(await GetJsonAsync(client, live, "/node/network"))?["primary_id"];
            return primary is not null && _nodes[Array.IndexOf(_nodeIds, primary)] is { HasExited: false };
        }, "a leader");
        return Array.IndexOf(_nodeIds, primary);
    }

    /// <summary>A write answered on commit, retried through elections as a CCF client would.</summary>
    private async Task<TxId> WriteOnCommitAsync(HttpClient client, int node, int id)
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            try
            {
                using HttpResponseMessage response = await client.PostAsJsonAsync(Url(node, "/app/log/blocking/private"), new { id, msg = $"message {id}" }, Ct);
                if (response.IsSuccessStatusCode)
                {
                    return TxId.Parse(response.Headers.GetValues("x-ms-ccf-transaction-id").Single());
                }

                Assert.True(response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.InternalServerError, $"write {id}: {response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100, Ct);
        }

        throw new TimeoutException($"Write {id} was never committed.");
    }

    private async Task<byte[]> CoseReceiptAsync(HttpClient client, int node, TxId id)
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            using HttpResponseMessage response = await client.GetAsync(Url(node, $"/app/log/public/cose_receipt?transaction_id={id}"), Ct);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return await response.Content.ReadAsByteArrayAsync(Ct);
            }

            await Task.Delay(50, Ct);
        }

        throw new TimeoutException($"No COSE receipt for {id}.");
    }

    private async Task<string> ReceiptAsync(HttpClient client, int node, TxId id)
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            using HttpResponseMessage response = await client.GetAsync(Url(node, $"/app/receipt?transaction_id={id}"), Ct);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return await response.Content.ReadAsStringAsync(Ct);
            }

            await Task.Delay(50, Ct);
        }

        throw new TimeoutException($"No receipt for {id}.");
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        for (int attempt = 0; attempt < 600; attempt++)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100, Ct);
        }

        throw new TimeoutException($"Timed out waiting for {what}.");
    }

    private static HttpClient Client(X509Certificate2 service, X509Certificate2? user) => new(new SocketsHttpHandler
    {
        SslOptions =
        {
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 peer && ServiceIdentity.IsIssuedBy(peer, service),
            ClientCertificates = user is null ? null : [user],
        },
    });

    private static int Free() => Confide.Tests.LoopbackPorts.Next();
}
