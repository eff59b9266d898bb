using System.CommandLine;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.Ledger.Consensus;
using Confide.Ledger.Node.Http;
using Confide.Tee;
using Confide.Tee.Collateral;
using Confide.Tee.Simulation;

namespace Confide.Ledger.Node.Hosting;

/// <summary>
/// The <c>start</c> and <c>join</c> commands of a ledger node, shared by the two ways a node runs:
/// <c>confide ledger start|join</c> (an ordinary process that makes its own TEE, for development)
/// and the ledger enclave package (<c>confide run confide-ledger -- start|join ...</c>), where the
/// enclave runtime measured the package and brought up the TEE the host chose.
/// </summary>
public static class LedgerNodeCommands
{
    /// <summary>The line printed once the node serves: <c>rpc: URL</c>.</summary>
    public const string RpcLinePrefix = "rpc: ";

    public static Command Start(ITee? enclaveTee = null) =>
        Node("start", "Start a new service: this node creates the service identity and ledger secret and writes the genesis transaction once a majority is up.", enclaveTee);

    public static Command Join(ITee? enclaveTee = null) =>
        Node("join", "Join a running service: attest to a trusted node, which admits this node's code and sends the service secrets sealed to it.", enclaveTee);

    public static Command Recover(ITee? enclaveTee = null) =>
        Node("recover", "Recover a lost service from a copy of its ledger: check it, wait for a threshold of recovery members to submit their shares, then reopen under a new service identity.", enclaveTee);

    private static Command Node(string name, string description, ITee? enclaveTee)
    {
        bool start = name == "start", recover = name == "recover";
        var dataDirectory = new Option<string>("--data-dir") { Description = "The node's directory: sealed secrets, ledger/, consensus/. A directory that holds a node restarts it.", Required = true };
        var nodeAddress = new Option<string>("--node-address") { Description = "This node's consensus (node-to-node) address as the other nodes reach it: host:port, the host an IP address or a DNS name (a name stays valid when the node's IP changes).", Required = true };
        var nodeListen = new Option<string>("--node-listen") { Description = "Where the consensus server listens, IP:port. Default: the --node-address if it is an IP address, else 0.0.0.0 and its port." };
        var rpcAddress = new Option<string>("--rpc-address") { Description = "This node's HTTPS address for clients and other nodes: https://host:port, the host an IP address or a DNS name (the node certificate names it).", Required = true };
        var rpcListen = new Option<string>("--rpc-listen") { Description = "Where the HTTPS server listens, IP:port. Default: the --rpc-address host if it is an IP address, else 0.0.0.0 and its port." };
        var peers = new Option<string[]>("--peer") { Description = "Another node: <node-address>=<rpc-address>, e.g. node-1.ledger:7000=https://node-1.ledger:8000 (repeatable). The consensus members are the peers and this node; every node must name each node the same way.", AllowMultipleArgumentsPerToken = false };
        var tee = new Option<string>("--tee") { Description = "The TEE the node runs in (attests it, seals its secrets): auto (default), simulation, sgx-gramine or tsm.", DefaultValueFactory = _ => "auto" };
        var collateral = new Option<string?>("--collateral") { Description = "Where this node gets the collateral for its own quotes when its TEE hands out bare quotes (Gramine, configfs-tsm): a PCS/PCCS base URL (e.g. Azure's THIM cache), a JSON file, or a folder. The join request and the node-to-node certificate carry it to the verifying node." };
        var allowSimulation = new Option<bool>("--allow-simulation") { Description = "Run on the simulation TEE and admit joiners and node-to-node peers with simulated evidence (development only)." };
        var members = new Option<string[]>("--member-cert") { Description = "PEM certificate of an initial consortium member (repeatable).", AllowMultipleArgumentsPerToken = false };
        var users = new Option<string[]>("--user-cert") { Description = "PEM certificate of an initial user (repeatable).", AllowMultipleArgumentsPerToken = false };
        var codeIds = new Option<string[]>("--code-id") { Description = "Hex MRENCLAVE of node code allowed to join, besides this node's own (repeatable).", AllowMultipleArgumentsPerToken = false };
        var recoveryMembers = new Option<string[]>("--recovery-member") { Description = "A member who can help recover the service: <certificate.pem>=<rsa-public-key.pem> (repeatable; also a member).", AllowMultipleArgumentsPerToken = false };
        var recoveryThreshold = new Option<int>("--recovery-threshold") { Description = "How many recovery members must submit their shares to recover the service.", DefaultValueFactory = _ => 1 };
        var target = new Option<string>("--target") { Description = "The trusted node to join through, https://host:port (an IP address or a DNS name).", Required = true };
        var serviceCertificate = new Option<string>("--service-cert") { Description = "The service identity (PEM) the target must present.", Required = true };
        var previousLedger = new Option<string>("--previous-ledger") { Description = "A copy of the lost service's ledger directory (chunk files).", Required = true };
        var signatureMs = new Option<int>("--signature-interval-ms") { Description = "Emit a signature transaction this long after the first unsigned one (commit latency).", DefaultValueFactory = _ => 100 };
        var signatureTx = new Option<int>("--signature-tx-interval") { Description = "...or after this many transactions.", DefaultValueFactory = _ => 5000 };
        var snapshotTx = new Option<long>("--snapshot-tx-interval") { Description = "Write a snapshot (joiners start from the latest) every this many committed transactions; 0: never.", DefaultValueFactory = _ => 10_000 };
        var election = new Option<int>("--election-timeout-ms") { Description = "Lower election timeout (the upper one is twice it).", DefaultValueFactory = _ => 1000 };
        var requestTimeout = new Option<int?>("--request-timeout-ms") { Description = "How long a consensus message waits for a peer's answer (default: the lower election timeout). A leader whose round gets no majority within it steps down: give more on busy machines." };
        var command = new Command(name, description) { dataDirectory, nodeAddress, nodeListen, rpcAddress, rpcListen, peers, collateral, allowSimulation, signatureMs, signatureTx, snapshotTx, election, requestTimeout };
        if (enclaveTee is null)
        {
            command.Options.Add(tee);
        }

        if (start)
        {
            command.Options.Add(members);
            command.Options.Add(users);
            command.Options.Add(codeIds);
            command.Options.Add(recoveryMembers);
            command.Options.Add(recoveryThreshold);
        }
        else if (recover)
        {
            command.Options.Add(previousLedger);
        }
        else
        {
            command.Options.Add(target);
            command.Options.Add(serviceCertificate);
        }

        command.SetAction(async (result, cancellationToken) =>
        {
            try
            {
                return await RunAsync(result, cancellationToken);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or UnauthorizedAccessException or TeeException or System.Security.Cryptography.CryptographicException
                or Ledger.LedgerFormatException or LedgerIntegrityException or NodeJoinException or Tee.Sealing.SealingException or HttpRequestException or InvalidDataException)
            {
                Console.Error.WriteLine($"confide: {ex.Message}");
                return 1;
            }
        });
        return command;

        async Task<int> RunAsync(ParseResult result, CancellationToken cancellationToken)
        {
            // Timeouts and addresses first: a typo is named before a TEE or a platform is brought up.
            int electionMs = result.GetValue(election);
            if (electionMs < 50)
            {
                throw new ArgumentException($"--election-timeout-ms must be at least 50, got {electionMs}.");
            }

            int? requestMs = result.GetValue(requestTimeout);
            if (requestMs is <= 0)
            {
                throw new ArgumentException($"--request-timeout-ms must be positive, got {requestMs}.");
            }

            EndPoint ownNode = ParseNodeAddress(result.GetValue(nodeAddress)!, "--node-address");
            IPEndPoint? ownNodeListen = result.GetValue(nodeListen) is { } nodeListenValue ? ParseListen(nodeListenValue, "--node-listen") : null;
            Uri ownRpc = ParseUrl(result.GetValue(rpcAddress)!, "--rpc-address");
            IPEndPoint? ownRpcListen = result.GetValue(rpcListen) is { } rpcListenValue ? ParseListen(rpcListenValue, "--rpc-listen") : null;
            Dictionary<EndPoint, Uri> peerAddresses = ParsePeers(result.GetValue(peers) ?? []);
            Uri? joinTarget = start || recover ? null : ParseUrl(result.GetValue(target)!, "--target");

            using ITee? ownTee = enclaveTee is null ? await new TeeOptions { Backend = TeeOptions.ParseBackend(result.GetValue(tee)) }.CreateAsync(LedgerIdentity.Simulated, cancellationToken) : null;
            using ICollateralProviderLease? collateralSource = result.GetValue(collateral) is { } source ? CollateralSource.Open(source) : null;
            using CollateralAttachingTee? withCollateral = collateralSource is null ? null : new CollateralAttachingTee(enclaveTee ?? ownTee!, collateralSource.Provider);
            ITee nodeTee = withCollateral ?? enclaveTee ?? ownTee!;
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

                foreach (string pair in result.GetValue(recoveryMembers) ?? [])
                {
                    string[] files = pair.Split('=', 2);
                    if (files.Length != 2)
                    {
                        throw new ArgumentException($"--recovery-member '{pair}' must be <certificate.pem>=<rsa-public-key.pem>.");
                    }

                    X509Certificate2 member = X509Certificate2.CreateFromPem(File.ReadAllText(files[0]));
                    genesis.Members.Add(member);
                    genesis.MemberEncryptionKeys[Governance.GovernanceMaps.IdOf(member)] = File.ReadAllText(files[1]);
                }

                genesis.RecoveryThreshold = result.GetValue(recoveryThreshold);
            }

            string data = result.GetValue(dataDirectory)!;
            using X509Certificate2? pinned = start || recover ? null : X509Certificate2.CreateFromPem(File.ReadAllText(result.GetValue(serviceCertificate)!));
            var hostOptions = new LedgerNodeHostOptions
            {
                DataDirectory = data,
                NodeToNode = ownNode,
                NodeToNodeListen = ownNodeListen,
                Rpc = ownRpc,
                RpcListen = ownRpcListen,
                Peers = peerAddresses,
                Tee = nodeTee,
                Genesis = genesis,
                JoinTarget = joinTarget,
                ServiceCertificate = pinned,
                Verifier = verifier,
                AllowSimulatedJoiners = simulation,
                SignatureDelay = TimeSpan.FromMilliseconds(result.GetValue(signatureMs)),
                SignatureTxInterval = result.GetValue(signatureTx),
                SnapshotTxInterval = result.GetValue(snapshotTx),
                LowerElectionTimeout = TimeSpan.FromMilliseconds(electionMs),
                UpperElectionTimeout = TimeSpan.FromMilliseconds(2 * electionMs),
                RequestTimeout = requestMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
            };
            await using LedgerNodeHost host = recover
                ? await LedgerRecovery.RecoverAsync(hostOptions, result.GetValue(previousLedger)!, step => Console.WriteLine($"recovery: {step}"), cancellationToken)
                : await LedgerNodeHost.StartAsync(hostOptions, cancellationToken);

            string servicePem = Path.Combine(data, "service_cert.pem");
            await File.WriteAllTextAsync(servicePem, host.ServiceCertificate.ExportCertificatePem(), cancellationToken);
            Console.WriteLine($"node {host.NodeId} ({host.Origin}; {nodeTee.Kind} TEE, code id {nodeTee.Identity.UniqueIdHex})");
            Console.WriteLine($"service certificate: {servicePem} (clients pin it)");
            if (nodeTee.IsSimulated)
            {
                Console.WriteLine("warning: simulation TEE: the node's secrets are sealed by a software key; nothing is protected.");
            }

            Console.WriteLine($"{RpcLinePrefix}{host.Url.ToString().TrimEnd('/')}");
            Console.Out.Flush();
            await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            return host.Node.Failure is null ? 0 : 1;
        }
    }

    /// <summary>The <c>--peer</c> values: node address → HTTPS address, each node once.</summary>
    internal static Dictionary<EndPoint, Uri> ParsePeers(IEnumerable<string> values)
    {
        var peers = new Dictionary<EndPoint, Uri>();
        foreach (string value in values)
        {
            string[] parts = value.Split('=', 2);
            if (parts.Length != 2)
            {
                throw new ArgumentException($"--peer '{value}' must be <node-address>=<rpc-address>, e.g. 127.0.0.1:7002=https://127.0.0.1:8002 or node-2.ledger:7000=https://node-2.ledger:8000.");
            }

            EndPoint node = ParseNodeAddress(parts[0], "--peer");
            if (!peers.TryAdd(node, ParseUrl(parts[1], "--peer")))
            {
                throw new ArgumentException($"--peer '{value}': node {NodeAddress.Format(node)} is given twice.");
            }
        }

        return peers;
    }

    /// <summary>host:port, the host an IP address or a DNS name: how the other nodes reach a node.</summary>
    internal static EndPoint ParseNodeAddress(string value, string option) =>
        NodeAddress.TryParse(value, out EndPoint? endPoint)
            ? endPoint
            : throw new ArgumentException($"{option} '{value}' is not host:port (the host an IP address or a DNS name, the port 1-65535).");

    /// <summary>IP:port: where a server binds (a name is no address to bind).</summary>
    internal static IPEndPoint ParseListen(string value, string option) =>
        NodeAddress.TryParseIP(value, out IPEndPoint? endPoint)
            ? endPoint
            : throw new ArgumentException($"{option} '{value}' is not IP:port (an IP address to bind, e.g. 0.0.0.0:7000, and a port 1-65535).");

    /// <summary>https://host:port, the host an IP address or a DNS name.</summary>
    internal static Uri ParseUrl(string value, string option) =>
        Uri.TryCreate(value, UriKind.Absolute, out Uri? url) && LedgerServer.IsNodeUrl(url)
            ? url
            : throw new ArgumentException($"{option} '{value}' is not an https URL whose host is an IP address or a DNS name (https://host:port).");
}
