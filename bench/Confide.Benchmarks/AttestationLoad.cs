using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Verification;
using Confide.AttestationService;
using Confide.AttestationService.Hosting;
using Confide.AttestationService.Tokens;
using Confide.Tee;
using Confide.Tee.Simulation;
using Microsoft.IdentityModel.Tokens;

namespace Confide.Benchmarks;

/// <summary>
/// Load on the attestation service over HTTPS on loopback (requests/s, p50, p99 at 1, 8 and 32
/// concurrent clients), beside the in-process rate of the same work (verify + policy + sign)
/// measured in the same run. A harness rather than BenchmarkDotNet: it measures a server under
/// concurrent load. Run: dotnet run -c Release -- attest-load
/// </summary>
internal static class AttestationLoad
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(6);

    public static async Task RunAsync()
    {
        string work = Directory.CreateTempSubdirectory("confide-attest-load-").FullName;
        try
        {
            using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate(Path.Combine(work, "sim"));
            var verifier = new QuoteVerifierOptions();
            verifier.SimulationRoots.Add(platform.RootCertificate);
            var options = new AttestationServiceOptions { Collateral = new SimulatedCollateralProvider(platform), Verifier = verifier, AllowSimulation = true };
            byte[] runtime = RandomNumberGenerator.GetBytes(32);
            using var tee = new SimulationTee(platform, new TeeIdentity(TeeKind.Simulation, SHA256.HashData("e"u8), SHA256.HashData("s"u8), 1, 1, false));
            byte[] quote = (await tee.GetEvidenceAsync(SHA256.HashData(runtime))).Data;
            var request = new AttestRequest(quote, new RuntimeData(runtime, RuntimeDataType.Binary));

            using AttestationTokenSigner signer = AttestationTokenSigner.Create("https://127.0.0.1");
            var engine = new AttestationEngine(options, signer);
            double inProcess = await RateAsync(1, async () => (await engine.AttestSgxAsync(request, CancellationToken.None)).Token is not null);
            Console.WriteLine($"in-process verify + policy + sign, 1 thread: {inProcess:0} /s");

            await using AttestationServer server = await AttestationServer.StartAsync(new Uri("https://127.0.0.1:0"), Path.Combine(work, "service"), options);
            using X509Certificate2 tls = X509Certificate2.CreateFromPem(File.ReadAllText(server.TlsCertificatePath));
            using var http = new HttpClient(new SocketsHttpHandler
            {
                MaxConnectionsPerServer = 64,
                SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHash().AsSpan().SequenceEqual(tls.GetCertHash()) },
            })
            { BaseAddress = new Uri(server.Issuer) };
            var body = new { quote = Base64UrlEncoder.Encode(quote), runtimeData = new { data = Base64UrlEncoder.Encode(runtime), dataType = "Binary" } };

            Console.WriteLine("| clients | requests/s | vs in-process | p50 | p99 |");
            Console.WriteLine("|---:|---:|---:|---:|---:|");
            foreach (int clients in new[] { 1, 8, 32 })
            {
                var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
                double rate = await RateAsync(clients, async () =>
                {
                    long start = Stopwatch.GetTimestamp();
                    using HttpResponseMessage response = await http.PostAsJsonAsync("/attest/SgxEnclave?api-version=2022-08-01", body);
                    await response.Content.ReadAsByteArrayAsync();
                    latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    return response.IsSuccessStatusCode;
                });
                double[] sorted = latencies.Order().ToArray();
                Console.WriteLine($"| {clients} | {rate:0} | {rate / inProcess:0.00} | {Percentile(sorted, 0.50):0.0} ms | {Percentile(sorted, 0.99):0.0} ms |");
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Runs <paramref name="operation"/> on <paramref name="workers"/> loops for a warm-up and then <see cref="Duration"/>; successful operations per second.</summary>
    private static async Task<double> RateAsync(int workers, Func<Task<bool>> operation)
    {
        for (int i = 0; i < 20; i++)
        {
            if (!await operation())
            {
                throw new InvalidOperationException("The operation failed during warm-up.");
            }
        }

        long done = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < Duration)
            {
                if (!await operation())
                {
                    throw new InvalidOperationException("An operation failed under load.");
                }

                Interlocked.Increment(ref done);
            }
        })));
        return done / clock.Elapsed.TotalSeconds;
    }

    private static double Percentile(double[] sorted, double fraction) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(fraction * sorted.Length) - 1)];
}
