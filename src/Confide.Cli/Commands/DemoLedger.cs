using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Attestation.Verification;
using Confide.Ledger.Audit;
using Confide.Ledger.Ledger;
using Confide.Ledger.Governance.Requests;
using Confide.Ledger.Node;
using Confide.Ledger.Node.Hosting;
using Confide.Ledger.Node.Http;
using Confide.Ledger.Node.Members;
using Confide.Ledger.Node.Users;
using Confide.Ledger.Receipts;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Cli.Commands;

/// <summary>
/// The demo's ledger part: three nodes of the confidential ledger on the simulation TEE (the first
/// creates the service, the others join by attestation), a member activating, a user's private
/// write sent to a follower, its receipt verified offline, and a ledger copy audited.
/// </summary>
internal static class DemoLedger
{
    public static async Task RunAsync(string work, Action<int, string> step, Action<string> detail, CancellationToken cancellationToken)
    {
        using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate();
        using var memberKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using X509Certificate2 member = new CertificateRequest("CN=demo member", memberKey, HashAlgorithmName.SHA384).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using X509Certificate2 user = UserCertificate();
        var genesis = new ServiceGenesis();
        genesis.Members.Add(X509CertificateLoader.LoadCertificate(member.RawData));
        genesis.Users.Add(X509CertificateLoader.LoadCertificate(user.RawData));

        (IPEndPoint Raft, Uri Rpc)[] addresses = [.. Enumerable.Range(0, 3).Select(_ => (new IPEndPoint(IPAddress.Loopback, FreePort()), new Uri($"https://127.0.0.1:{FreePort()}")))];
        var tees = new List<SimulationTee>();
        var hosts = new List<LedgerNodeHost>();
        try
        {
            LedgerNodeHostOptions Options(int i, X509Certificate2? service)
            {
                var tee = new SimulationTee(platform, LedgerIdentity.Simulated());
                tees.Add(tee);
                var verifier = new QuoteVerifierOptions();
                verifier.SimulationRoots.Add(X509CertificateLoader.LoadCertificate(platform.RootCertificate.RawData));
                return new LedgerNodeHostOptions
                {
                    DataDirectory = Path.Combine(work, "ledger", $"n{i}"),
                    NodeToNode = addresses[i].Raft,
                    Rpc = addresses[i].Rpc,
                    Peers = Enumerable.Range(0, 3).Where(p => p != i).ToDictionary(p => (EndPoint)addresses[p].Raft, p => addresses[p].Rpc),
                    Tee = tee,
                    Genesis = service is null ? genesis : null,
                    JoinTarget = service is null ? null : addresses[0].Rpc,
                    ServiceCertificate = service,
                    Verifier = verifier,
                    AllowSimulatedJoiners = true,
                    SignatureDelay = TimeSpan.FromMilliseconds(20),
                    LowerElectionTimeout = TimeSpan.FromMilliseconds(500),
                    UpperElectionTimeout = TimeSpan.FromMilliseconds(1000),
                    RequestTimeout = TimeSpan.FromSeconds(2),
                };
            }

            hosts.Add(await LedgerNodeHost.StartAsync(Options(0, null), cancellationToken));
            X509Certificate2 service = hosts[0].ServiceCertificate;
            hosts.Add(await LedgerNodeHost.StartAsync(Options(1, service), cancellationToken));
            hosts.Add(await LedgerNodeHost.StartAsync(Options(2, service), cancellationToken));
            step(12, $"Confidential ledger (a CCF counterpart): three nodes on the simulation TEE; node 0 created the service, nodes 1 and 2 joined");
            detail("by attestation (quote verified, code id allowed, service secrets sealed to them) and replicate over mutual attested TLS.");

            using var asMember = new MemberClient(new MemberClientOptions { Node = addresses[1].Rpc, ServiceCertificate = service, Signer = new GovernanceRequestSigner(memberKey, member) });
            await RetryAsync(() => asMember.ActivateAsync(cancellationToken), cancellationToken);
            detail($"The consortium member {asMember.MemberId[..16]}... acknowledged the state digest with a COSE-signed request: Active.");

            // The user's client library: the service identity pinned, the user's certificate, resent through elections.
            LedgerClient UserClient(int node) => new(new LedgerClientOptions { Node = addresses[node].Rpc, ServiceCertificate = service, ClientCertificate = user });
            using LedgerClient throughNode2 = UserClient(2);
            using LedgerClient throughNode1 = UserClient(1);
            using LedgerClient throughNode0 = UserClient(0);
            TxId txId = (await throughNode2.PostAsync("/log/blocking/private", new JsonObject { ["id"] = 42, ["msg"] = "a confidential record" }, cancellationToken)).TransactionId!.Value;
            // A follower learns of a commit with the leader's next message: node 1 may need a moment.
            await throughNode1.WaitForCommitAsync(txId, cancellationToken);
            JsonNode read = (await throughNode1.GetAsync("/log/private?id=42", cancellationToken)).Body!;
            detail($"A user wrote a private record through node 2 (forwarded to the leader), answered once committed: transaction {txId};");
            detail($"read back from node 1: \"{(string?)read["msg"]}\" (encrypted in the ledger files with the ledger secret).");

            Receipt receipt = await throughNode0.GetReceiptAsync(txId, cancellationToken);
            detail($"Its receipt verified offline against the service certificate: root {receipt.ComputeRoot().ToString()[..16]}..., signed by node {receipt.NodeId[..16]}...");
        }
        finally
        {
            foreach (LedgerNodeHost host in hosts)
            {
                await host.DisposeAsync();
            }

            foreach (SimulationTee tee in tees)
            {
                tee.Dispose();
            }
        }

        AuditReport audit = LedgerAuditor.Audit(Path.Combine(work, "ledger", "n1", "ledger"));
        detail($"The nodes stopped; node 1's ledger files audit {(audit.Passed ? "clean" : "FAILED")}: {audit.EntryCount} entries, {audit.SignatureCount} signatures, every hash and signature checked.");
    }

    private static X509Certificate2 UserCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 certificate = new CertificateRequest("CN=demo user", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Retries while the service is still forming (genesis not yet committed, no leader yet).</summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> action, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                T result = await action();
                if (result is HttpResponseMessage { IsSuccessStatusCode: false } response && attempt < 100)
                {
                    response.Dispose();
                    await Task.Delay(100, cancellationToken);
                    continue;
                }

                return result;
            }
            catch (Exception ex) when (attempt < 100 && ex is MemberRequestException or HttpRequestException)
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    /// <summary>
    /// A free loopback port below the ephemeral range: the consensus members must be known before the
    /// nodes start, and a port from the ephemeral range could be taken meanwhile by any outgoing connection.
    /// </summary>
    private static int FreePort()
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException) when (attempt < 1_000)
            {
                // taken: try another
            }
        }
    }
}
