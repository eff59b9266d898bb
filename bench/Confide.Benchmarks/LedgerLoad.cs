using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Verification;
using Confide.Ledger.Consensus;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;
using Confide.Ledger.Node;
using Confide.Ledger.Node.Apps;
using Confide.Ledger.Node.Hosting;
using Confide.Ledger.Node.Http;
using Confide.Ledger.Receipts;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Benchmarks;

/// <summary>
/// <c>ledger-load</c>: the logging app under closed-loop load on loopback, 1 node and 3 nodes in
/// this process, writes answered before commit and on commit; then offline receipt verification.
/// Figures are ratios against the 1-node, before-commit rate and the raw ECDSA verify rate measured
/// in the same run.
/// </summary>
internal static class LedgerLoad
{
    private static readonly int Clients = EnvironmentInt("LEDGER_LOAD_CLIENTS", 256);
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Each new cluster is loaded until the JIT has settled before its rows are measured. Under a
    /// saturating load on 2 cores the runtime's tiered JIT takes tens of seconds to promote the hot
    /// paths (perf showed its background compiler using 20 % of the CPU 25 s into a 3-node run); a
    /// service runs at its steady rate.
    /// </summary>
    private static readonly TimeSpan MaxClusterWarmup = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan SignatureDelay = TimeSpan.FromMilliseconds(EnvironmentInt("LEDGER_LOAD_SIGNATURE_MS", 10));

    /// <summary>Settled: fewer methods than this compiled in each of two consecutive seconds.</summary>
    private const int SettledMethodsPerSecond = 20;

    public static async Task RunAsync()
    {
        Console.WriteLine($"ledger-load: {Environment.ProcessorCount} cores, {Clients} closed-loop clients (HTTP/1.1, TLS, user certificate), {Duration.TotalSeconds:0} s per row after {Warmup.TotalSeconds:0} s warm-up,");
        Console.WriteLine($"each cluster first loaded until the JIT settles (< {SettledMethodsPerSecond} methods compiled per second, twice in a row);");
        Console.WriteLine($"signature transaction every {SignatureDelay.TotalMilliseconds:0} ms or 5000 transactions; 64-byte messages to /app/log/private.");
        var rows = new List<(string Name, Result Result)>();
        string? receiptsJson = null;
        X509Certificate2? service = null;
        int[] sizes = Environment.GetEnvironmentVariable("LEDGER_LOAD_NODES") is { } only ? [int.Parse(only, System.Globalization.CultureInfo.InvariantCulture)] : [1, 3];
        foreach (int nodes in sizes)
        {
            await using var cluster = await BenchCluster.StartAsync(nodes);
            TimeSpan settled = await WarmUpAsync(cluster);
            Console.WriteLine($"{nodes} node(s): JIT settled after {settled.TotalSeconds:0} s of load.");
            rows.Add(($"{nodes} node{(nodes > 1 ? "s" : "")}, answered before commit", await LoadAsync(cluster, "/app/log/private")));
            rows.Add(($"{nodes} node{(nodes > 1 ? "s" : "")}, answered on commit", await LoadAsync(cluster, "/app/log/blocking/private")));
            if (nodes == 3)
            {
                receiptsJson = await CollectReceiptsAsync(cluster, 200);
                service = X509CertificateLoader.LoadCertificate(cluster.Service.Certificate.RawData);
            }
        }

        double baseline = rows[0].Result.PerSecond;
        Console.WriteLine();
        Console.WriteLine("| configuration | tx/s | vs 1 node before commit | p50 | p99 | errors |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach ((string name, Result result) in rows)
        {
            Console.WriteLine($"| {name} | {result.PerSecond:0} | {result.PerSecond / baseline:0.00} | {result.P50:0.00} ms | {result.P99:0.00} ms | {result.Errors} |");
        }

        if (receiptsJson is null)
        {
            return;
        }

        Receipt[] receipts = [.. receiptsJson!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Receipt.Parse)];
        (double verifyRate, double rawRate, double parallelRate, double fullRate) = MeasureReceipts(receipts, service!);
        Console.WriteLine();
        Console.WriteLine("| receipt verification (node keys P-256, service identity P-384) | per second | vs raw ECDSA verify of the root |");
        Console.WriteLine("|---|---:|---:|");
        Console.WriteLine($"| raw ECDSA VerifyHash of a root (baseline), 1 thread | {rawRate:0} | 1.00 |");
        Console.WriteLine($"| ReceiptVerifier.Verify (every check, endorsement chain each time), 1 thread | {fullRate:0} | {fullRate / rawRate:0.00} |");
        Console.WriteLine($"| ServiceReceiptVerifier.Verify (endorsed nodes remembered), 1 thread | {verifyRate:0} | {verifyRate / rawRate:0.00} |");
        Console.WriteLine($"| ServiceReceiptVerifier.Verify, {Environment.ProcessorCount} threads | {parallelRate:0} | {parallelRate / rawRate:0.00} |");
    }

    private static async Task<Result> LoadAsync(BenchCluster cluster, string path, TimeSpan? warmup = null, CancellationToken stop = default)
    {
        TimeSpan discarded = warmup ?? Warmup;
        Uri leader = await cluster.LeaderUrlAsync();
        using HttpClient client = cluster.Client(Clients);
        var latencies = new List<double>[Clients];
        int errors = 0;
        long id = Random.Shared.NextInt64(1, long.MaxValue / 2);
        var stopwatch = Stopwatch.StartNew();
        TimeSpan end = discarded + (warmup is null ? Duration : TimeSpan.Zero);
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async c =>
        {
            latencies[c] = [];
            while (stopwatch.Elapsed < end && !stop.IsCancellationRequested)
            {
                long started = Stopwatch.GetTimestamp();
                HttpResponseMessage response;
                try
                {
                    response = await client.PostAsJsonAsync(new Uri(leader, path), new { id = Interlocked.Increment(ref id), msg = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" });
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // Unanswered within the client's timeout, or refused: an error of this row, not the end of the run.
                    Interlocked.Increment(ref errors);
                    continue;
                }

                using HttpResponseMessage answered = response;
                double elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                }
                else if (stopwatch.Elapsed > discarded)
                {
                    latencies[c].Add(elapsed);
                }
            }
        }));
        double[] all = [.. latencies.SelectMany(l => l).Order()];
        return new Result(all.Length / Duration.TotalSeconds, Percentile(all, 0.5), Percentile(all, 0.99), errors);
    }

    /// <summary>Loads both endpoints alternately until the JIT settles; returns how long that took.</summary>
    private static async Task<TimeSpan> WarmUpAsync(BenchCluster cluster)
    {
        var stopwatch = Stopwatch.StartNew();
        using var settled = new CancellationTokenSource();
        Task monitor = Task.Run(async () =>
        {
            long last = System.Runtime.JitInfo.GetCompiledMethodCount();
            int quietSeconds = 0;
            while (quietSeconds < 2 && stopwatch.Elapsed < MaxClusterWarmup)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                long now = System.Runtime.JitInfo.GetCompiledMethodCount();
                quietSeconds = now - last < SettledMethodsPerSecond ? quietSeconds + 1 : 0;
                last = now;
            }

            await settled.CancelAsync();
        });

        while (!settled.IsCancellationRequested)
        {
            await LoadAsync(cluster, "/app/log/private", TimeSpan.FromSeconds(1), settled.Token);
            await LoadAsync(cluster, "/app/log/blocking/private", TimeSpan.FromSeconds(1), settled.Token);
        }

        await monitor;
        return stopwatch.Elapsed;
    }

    private static async Task<string> CollectReceiptsAsync(BenchCluster cluster, int count)
    {
        Uri leader = await cluster.LeaderUrlAsync();
        using HttpClient client = cluster.Client(4);
        var ids = new List<TxId>();
        for (int i = 0; i < count; i++)
        {
            using HttpResponseMessage response = await client.PostAsJsonAsync(new Uri(leader, "/app/log/blocking/public"), new { id = 10_000_000 + i, msg = $"receipt {i}" });
            ids.Add(TxId.Parse(response.Headers.GetValues("x-ms-ccf-transaction-id").Single()));
        }

        var receipts = new List<string>();
        foreach (TxId id in ids)
        {
            while (true)
            {
                using HttpResponseMessage response = await client.GetAsync(new Uri(leader, $"/app/receipt?transaction_id={id}"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    receipts.Add((await response.Content.ReadAsStringAsync()).ReplaceLineEndings(" "));
                    break;
                }

                await Task.Delay(5);
            }
        }

        return string.Join('\n', receipts);
    }

    private static (double Verify, double Raw, double Parallel, double Full) MeasureReceipts(Receipt[] receipts, X509Certificate2 service)
    {
        using X509Certificate2 node = X509Certificate2.CreateFromPem(receipts[0].CertificatePem);
        using ECDsa key = node.GetECDsaPublicKey()!;
        Sha256Hash root = receipts[0].ComputeRoot();
        byte[] signature = receipts[0].Signature;
        double raw = Rate(() =>
        {
            if (!key.VerifyHash(root.Span, signature, DSASignatureFormat.Rfc3279DerSequence))
            {
                throw new InvalidOperationException("The raw signature does not verify.");
            }
        });
        int next = 0;
        double full = Rate(() => ReceiptVerifier.Verify(receipts[next++ % receipts.Length], service));
        using var verifier = new ServiceReceiptVerifier(service);
        double verify = Rate(() => verifier.Verify(receipts[next++ % receipts.Length]));
        var stopwatch = Stopwatch.StartNew();
        long done = 0;
        Parallel.For(0, Environment.ProcessorCount, _ =>
        {
            int i = 0;
            while (stopwatch.Elapsed < TimeSpan.FromSeconds(3))
            {
                verifier.Verify(receipts[i++ % receipts.Length]);
                Interlocked.Increment(ref done);
            }
        });
        return (verify, raw, done / stopwatch.Elapsed.TotalSeconds, full);
    }

    private static double Rate(Action action)
    {
        for (int i = 0; i < 200; i++)
        {
            action();
        }

        var stopwatch = Stopwatch.StartNew();
        long count = 0;
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(3))
        {
            action();
            count++;
        }

        return count / stopwatch.Elapsed.TotalSeconds;
    }

    private static int EnvironmentInt(string name, int fallback) =>
        Environment.GetEnvironmentVariable(name) is { } value ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private readonly record struct Result(double PerSecond, double P50, double P99, int Errors);

    /// <summary>n nodes with their HTTPS front ends in this process, one user; nodes on simulated TEEs, over mutual attested TLS.</summary>
    private sealed class BenchCluster : IAsyncDisposable
    {
        private readonly List<IAsyncDisposable> _owned = [];
        private readonly List<IDisposable> _disposables = [];
        private readonly List<RaftConsensus> _consensus = [];
        private readonly List<Uri> _urls = [];
        private readonly string _root = Directory.CreateTempSubdirectory("confide-ledger-bench-").FullName;
        private X509Certificate2 _user = null!;

        public ServiceIdentity Service { get; } = ServiceIdentity.Create();

        public static async Task<BenchCluster> StartAsync(int count)
        {
            var cluster = new BenchCluster();
            using var userKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using (X509Certificate2 user = new CertificateRequest("CN=bench", userKey, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1)))
            {
                cluster._user = X509CertificateLoader.LoadPkcs12(user.Export(X509ContentType.Pkcs12), null);
            }

            var genesis = new ServiceGenesis();
            genesis.Users.Add(X509CertificateLoader.LoadCertificate(cluster._user.RawData));
            var platform = SimulatedPlatform.OpenOrCreate(Path.Combine(cluster._root, "platform"));
            cluster._disposables.Add(platform);
            var verifier = new QuoteVerifierOptions();
            verifier.SimulationRoots.Add(platform.RootCertificate);
            TeeIdentity code = LedgerIdentity.Simulated();
            genesis.CodeIds.Add(code.UniqueIdHex);
            IPEndPoint[] raft = [.. Enumerable.Range(0, count).Select(_ => Free())];
            Uri[] urls = [.. Enumerable.Range(0, count).Select(_ => new Uri($"https://127.0.0.1:{Free().Port}"))];
            byte[] secret = RandomNumberGenerator.GetBytes(LedgerSecret.Size);
            for (int i = 0; i < count; i++)
            {
                var key = ServiceIdentity.CreateNodeKey();
                X509Certificate2 certificate = cluster.Service.EndorseNode(key, ["127.0.0.1"], TimeSpan.FromDays(1));
                var node = new LedgerNode(new LedgerNodeOptions
                {
                    LedgerDirectory = Path.Combine(cluster._root, $"n{i}", "ledger"),
                    LedgerSecret = LedgerSecret.FromBytes(secret),
                    Signer = new EcdsaLedgerSigner(key, certificate),
                    ServiceCertificate = cluster.Service.Certificate,
                    ServiceKey = cluster.Service.Key,
                    SignatureDelay = SignatureDelay,
                });
                var tee = new SimulationTee(platform, code);
                Confide.Tls.Certificates.AttestedCertificateProvider nodeToNode = await NodeChannels.CreateCertificateAsync(tee, key, certificate, cluster.Service);
                cluster._disposables.Add(tee);
                cluster._disposables.Add(nodeToNode);
                var channels = new NodeChannels(new NodeChannelsOptions
                {
                    ServiceCertificate = cluster.Service.Certificate,
                    Certificate = nodeToNode,
                    AllowedCodeIds = () => LedgerNodeHost.AllowedCodeIds(node, genesis),
                    AllowSimulation = true,
                    Verifier = verifier,
                });
                RaftConsensus consensus = await RaftConsensus.CreateAsync(new RaftConsensusOptions
                {
                    EndPoint = raft[i],
                    Members = raft,
                    LogDirectory = Path.Combine(cluster._root, $"n{i}", "raft"),
                    ServerTls = channels.ServerOptions(),
                    ClientTls = channels.ClientOptions(),
                }, node);
                node.Attach(consensus);
                await consensus.StartAsync();
                LedgerServer server = await LedgerServer.StartAsync(node, new LedgerServerOptions
                {
                    Url = urls[i],
                    NodeCertificate = certificate,
                    NodeChannels = channels,
                    Application = LoggingApp.Create(),
                    Peers = Enumerable.Range(0, count).ToDictionary(n => (EndPoint)raft[n], n => urls[n]),
                    Genesis = genesis,
                    NodeToNodeAddress = raft[i].ToString(),
                });
                cluster._owned.Add(server);
                cluster._owned.Add(consensus);
                cluster._owned.Add(node);
                cluster._consensus.Add(consensus);
                cluster._urls.Add(urls[i]);
            }

            return cluster;
        }

        public async Task<Uri> LeaderUrlAsync()
        {
            using HttpClient client = Client(1);
            while (true)
            {
                int leader = _consensus.FindIndex(c => c.IsLeader);
                if (leader >= 0)
                {
                    using HttpResponseMessage response = await client.GetAsync(new Uri(_urls[leader], "/app/log/private/count"));
                    if (response.IsSuccessStatusCode)
                    {
                        return _urls[leader];
                    }
                }

                await Task.Delay(50);
            }
        }

        public HttpClient Client(int connections)
        {
            X509Certificate2 service = Service.Certificate;
            return new HttpClient(new SocketsHttpHandler
            {
                MaxConnectionsPerServer = connections,
                ConnectTimeout = TimeSpan.FromSeconds(30),
                SslOptions =
                {
                    RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 peer && ServiceIdentity.IsIssuedBy(peer, service),
                    ClientCertificates = [_user],
                },
            })
            { Timeout = TimeSpan.FromSeconds(30) };
        }

        public async ValueTask DisposeAsync()
        {
            foreach (IAsyncDisposable owned in _owned)
            {
                await owned.DisposeAsync();
            }

            // Newest first: certificate providers before the TEEs, and the platform last.
            foreach (IDisposable disposable in Enumerable.Reverse(_disposables))
            {
                disposable.Dispose();
            }

            Service.Dispose();
            _user.Dispose();
            Directory.Delete(_root, recursive: true);
        }

        private static IPEndPoint Free()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            return (IPEndPoint)probe.LocalEndpoint;
        }
    }
}
