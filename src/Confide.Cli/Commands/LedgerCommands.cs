using System.CommandLine;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Verification;
using Confide.Ledger.Audit;
using Confide.Ledger.Node.Hosting;
using Confide.Ledger.Node.Http;
using Confide.Ledger.Receipts;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Cli.Commands;

/// <summary>
/// <c>confide ledger start|join</c> (a node of the confidential ledger, CCF counterpart),
/// <c>confide ledger audit</c> (re-check a ledger copy offline) and <c>confide ledger verify-receipt</c>.
/// </summary>
internal static class LedgerCommands
{
    public static Command Create()
    {
        var command = new Command("ledger", "The confidential consortium ledger (a CCF counterpart): nodes, offline audit, receipt verification.");
        command.Subcommands.Add(Node("start", "Start a new service: this node creates the service identity and ledger secret and writes the genesis transaction once a majority is up."));
        command.Subcommands.Add(Node("join", "Join a running service: attest to a trusted node, which admits this node's code and sends the service secrets sealed to it."));
        command.Subcommands.Add(Audit());
        command.Subcommands.Add(VerifyReceipt());
        return command;
    }

    private static Command Node(string name, string description)
    {
        bool start = name == "start";
        var dataDirectory = new Option<string>("--data-dir") { Description = "The node's directory: sealed secrets, ledger/, consensus/. A directory that holds a node restarts it.", Required = true };
        var nodeAddress = new Option<string>("--node-address") { Description = "This node's consensus (node-to-node) address, IP:port.", Required = true };
        var rpcAddress = new Option<string>("--rpc-address") { Description = "This node's HTTPS address for clients, https://IP:port.", Required = true };
        var peers = new Option<string[]>("--peer") { Description = "Another node: <node-address>=<rpc-address> (repeatable). The consensus members are the peers and this node.", AllowMultipleArgumentsPerToken = false };
        var tee = new Option<string>("--tee") { Description = "The TEE the node runs in (attests it, seals its secrets): auto (default), simulation, sgx-gramine or tsm.", DefaultValueFactory = _ => "auto" };
        var allowSimulation = new Option<bool>("--allow-simulation") { Description = "Run on the simulation TEE and admit joiners with simulated evidence (development only)." };
        var members = new Option<string[]>("--member-cert") { Description = "PEM certificate of an initial consortium member (repeatable).", AllowMultipleArgumentsPerToken = false };
        var users = new Option<string[]>("--user-cert") { Description = "PEM certificate of an initial user (repeatable).", AllowMultipleArgumentsPerToken = false };
        var codeIds = new Option<string[]>("--code-id") { Description = "Hex MRENCLAVE of node code allowed to join, besides this node's own (repeatable).", AllowMultipleArgumentsPerToken = false };
        var target = new Option<string>("--target") { Description = "The trusted node to join through, https://IP:port.", Required = !start };
        var serviceCertificate = new Option<string>("--service-cert") { Description = "The service identity (PEM) the target must present.", Required = !start };
        var signatureMs = new Option<int>("--signature-interval-ms") { Description = "Emit a signature transaction this long after the first unsigned one (commit latency).", DefaultValueFactory = _ => 100 };
        var signatureTx = new Option<int>("--signature-tx-interval") { Description = "...or after this many transactions.", DefaultValueFactory = _ => 5000 };
        var election = new Option<int>("--election-timeout-ms") { Description = "Lower election timeout (the upper one is twice it).", DefaultValueFactory = _ => 1000 };
        var command = new Command(name, description) { dataDirectory, nodeAddress, rpcAddress, peers, tee, allowSimulation, signatureMs, signatureTx, election };
        if (start)
        {
            command.Options.Add(members);
            command.Options.Add(users);
            command.Options.Add(codeIds);
        }
        else
        {
            command.Options.Add(target);
            command.Options.Add(serviceCertificate);
        }

        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            using ITee nodeTee = await new TeeOptions { Backend = TeeOptions.ParseBackend(result.GetValue(tee)) }.CreateAsync(LedgerIdentity.Simulated, cancellationToken);
            bool simulation = result.GetValue(allowSimulation);
            if (nodeTee.IsSimulated && !simulation)
            {
                throw new ArgumentException("This machine has no TEE (or --tee simulation was asked): the simulation TEE protects nothing; pass --allow-simulation for development.");
            }

            var verifier = new QuoteVerifierOptions();
            using SimulatedPlatform? platform = simulation ? SimulatedPlatform.OpenOrCreate() : null;
            if (platform is not null)
            {
                verifier.SimulationRoots.Add(X509CertificateLoader.LoadCertificate(platform.RootCertificate.RawData));
            }

            ServiceGenesis? genesis = null;
            if (start)
            {
                genesis = new ServiceGenesis();
                foreach (string file in result.GetValue(members) ?? [])
                {
                    genesis.Members.Add(X509Certificate2.CreateFromPem(File.ReadAllText(file)));
                }

                foreach (string file in result.GetValue(users) ?? [])
                {
                    genesis.Users.Add(X509Certificate2.CreateFromPem(File.ReadAllText(file)));
                }

                foreach (string code in result.GetValue(codeIds) ?? [])
                {
                    genesis.CodeIds.Add(Convert.ToHexStringLower(Convert.FromHexString(code)));
                }
            }

            string data = result.GetValue(dataDirectory)!;
            using X509Certificate2? pinned = start ? null : X509Certificate2.CreateFromPem(File.ReadAllText(result.GetValue(serviceCertificate)!));
            int electionMs = result.GetValue(election);
            await using LedgerNodeHost host = await LedgerNodeHost.StartAsync(new LedgerNodeHostOptions
            {
                DataDirectory = data,
                NodeToNode = ParseEndPoint(result.GetValue(nodeAddress)!, "--node-address"),
                Rpc = ParseUrl(result.GetValue(rpcAddress)!, "--rpc-address"),
                Peers = (result.GetValue(peers) ?? []).Select(ParsePeer).ToDictionary(p => p.NodeToNode, p => p.Rpc),
                Tee = nodeTee,
                Genesis = genesis,
                JoinTarget = start ? null : ParseUrl(result.GetValue(target)!, "--target"),
                ServiceCertificate = pinned,
                Verifier = verifier,
                AllowSimulatedJoiners = simulation,
                SignatureDelay = TimeSpan.FromMilliseconds(result.GetValue(signatureMs)),
                SignatureTxInterval = result.GetValue(signatureTx),
                LowerElectionTimeout = TimeSpan.FromMilliseconds(electionMs),
                UpperElectionTimeout = TimeSpan.FromMilliseconds(2 * electionMs),
            }, cancellationToken);

            string servicePem = Path.Combine(data, "service_cert.pem");
            await File.WriteAllTextAsync(servicePem, host.ServiceCertificate.ExportCertificatePem(), cancellationToken);
            Console.WriteLine($"node {host.NodeId} ({host.Origin}; {nodeTee.Kind} TEE, code id {nodeTee.Identity.UniqueIdHex})");
            Console.WriteLine($"service certificate: {servicePem} (clients pin it)");
            if (nodeTee.IsSimulated)
            {
                Console.WriteLine("warning: simulation TEE: the node's secrets are sealed by a software key; nothing is protected.");
            }

            Console.WriteLine($"rpc: {host.Url.ToString().TrimEnd('/')}");
            Console.Out.Flush();
            await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            return host.Node.Failure is null ? 0 : CliErrors.Failure;
        }));
        return command;
    }

    private static Command Audit()
    {
        var directory = new Argument<DirectoryInfo>("ledger-dir") { Description = "A copy of a ledger directory (chunk files)." };
        var serviceCertificate = new Option<string?>("--service-cert") { Description = "The service identity (PEM): every signing node's certificate must chain to it." };
        var command = new Command("audit", "Re-check a ledger offline: every entry's digest and leaf, the Merkle root at every signature, every signature; names the first bad entry.") { directory, serviceCertificate };
        command.SetAction((result, _) => CliErrors.RunAsync(() =>
        {
            using X509Certificate2? service = result.GetValue(serviceCertificate) is { } pem ? X509Certificate2.CreateFromPem(File.ReadAllText(pem)) : null;
            AuditReport report = LedgerAuditor.Audit(result.GetValue(directory)!.FullName, service);
            Console.WriteLine(report.ToString());
            return Task.FromResult(report.Passed ? 0 : CliErrors.Failure);
        }));
        return command;
    }

    private static Command VerifyReceipt()
    {
        var receipt = new Argument<FileInfo>("receipt") { Description = "A receipt (JSON, as GET /app/receipt returns it)." };
        var serviceCertificate = new Option<string>("--service-cert") { Description = "The service identity (PEM) the receipt must chain to.", Required = true };
        var command = new Command("verify-receipt", "Verify a transaction receipt offline: leaf, Merkle path, the node's signature over the root, and the node's endorsement by the service.") { receipt, serviceCertificate };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            using X509Certificate2 service = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(result.GetValue(serviceCertificate)!, cancellationToken));
            try
            {
                Receipt verified = ReceiptVerifier.Verify(await File.ReadAllTextAsync(result.GetValue(receipt)!.FullName, cancellationToken), service);
                Console.WriteLine($"receipt verified: transaction {verified.TxId?.ToString() ?? "(signature)"}, root {verified.ComputeRoot()}, signed by node {verified.NodeId}");
                return 0;
            }
            catch (ReceiptVerificationException ex)
            {
                Console.Error.WriteLine($"confide: receipt refused ({ex.Error}): {ex.Message}");
                return CliErrors.Failure;
            }
        }));
        return command;
    }

    private static (IPEndPoint NodeToNode, Uri Rpc) ParsePeer(string value)
    {
        string[] parts = value.Split('=', 2);
        if (parts.Length != 2)
        {
            throw new ArgumentException($"--peer '{value}' must be <node-address>=<rpc-address>, e.g. 127.0.0.1:7002=https://127.0.0.1:8002.");
        }

        return (ParseEndPoint(parts[0], "--peer"), ParseUrl(parts[1], "--peer"));
    }

    private static IPEndPoint ParseEndPoint(string value, string option) =>
        IPEndPoint.TryParse(value, out IPEndPoint? endPoint) && endPoint.Port != 0 ? endPoint : throw new ArgumentException($"{option} '{value}' is not IP:port.");

    private static Uri ParseUrl(string value, string option) =>
        Uri.TryCreate(value, UriKind.Absolute, out Uri? url) && url.Scheme == Uri.UriSchemeHttps ? url : throw new ArgumentException($"{option} '{value}' is not an https URL.");
}
