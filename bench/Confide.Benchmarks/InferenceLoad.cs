using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Confide.Attestation.Verification;
using Confide.Inference.Client;
using Confide.Inference.Confidential;
using Confide.Inference.Encryption;
using Confide.Inference.Hosting;
using Confide.Inference.Keys;
using Confide.Inference.Models;
using Confide.Inference.Samples;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls.Verification;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Confide.Benchmarks;

/// <summary>
/// The inference server's cost of confidentiality, in one run and process: for a small (~1 ms) and
/// a large (~20 ms) dense model at batch 1 and 32, with 4 concurrent clients, requests/s and
/// p50/p99 for in-process ONNX Runtime, the server over plain HTTP (KServe v2 JSON), over attested
/// TLS, and as end-to-end encrypted messages over plain HTTP.
/// Run: dotnet run -c Release -- inference-load
/// </summary>
internal static class InferenceLoad
{
    private const int Clients = 4;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(4);

    private static readonly (string Name, int Inputs, int[] Widths)[] Models =
    [
        ("small", 256, [512, 512, 64]),
        ("large", 2048, [4096, 4096, 4096, 4096, 256]),
    ];

    public static async Task RunAsync()
    {
        string work = Directory.CreateTempSubdirectory("confide-inference-load-").FullName;
        try
        {
            using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate(Path.Combine(work, "sim"));
            var identity = new TeeIdentity(TeeKind.Simulation, SHA256.HashData("bench inference"u8), SHA256.HashData("bench signer"u8), 1, 1, false);
            using var tee = new SimulationTee(platform, identity);
            byte[] key = ModelEncryption.GenerateKey();
            var keys = new SealedModelKeyProvider(tee, Path.Combine(work, "keys"), allowSimulation: true);
            keys.Import(key);
            string repository = Path.Combine(work, "models");
            var onnx = new Dictionary<string, byte[]>();
            foreach ((string name, int inputs, int[] widths) in Models)
            {
                onnx[name] = DenseModel.Random(inputs, widths, seed: 5);
                Directory.CreateDirectory(Path.Combine(repository, name, "1"));
                File.WriteAllBytes(Path.Combine(repository, name, "1", ModelRepository.EncryptedFileName), ModelEncryption.Encrypt(onnx[name], key));
            }

            using ConfidentialTransport transport = await ConfidentialTransport.CreateAsync(tee, new ConfidentialTransportOptions());
            await using InferenceServer server = await InferenceServer.StartAsync(new InferenceServerOptions
            {
                ModelDirectory = repository,
                Repository = new ModelRepositoryOptions { KeyProvider = keys },
                Endpoints = [new InferenceEndpoint(new Uri("http://127.0.0.1:0"), HttpProtocols.Http1), new InferenceEndpoint(new Uri("https://127.0.0.1:0"), HttpProtocols.Http1)],
                MetricsUrl = null,
                ConfigureDataListener = transport.ConfigureListener,
                MapEndpoints = transport.MapEndpoints,
            });
            Uri plainUrl = server.Urls[0], attestedUrl = server.Urls[1];
            AttestedCertificateVerifier Verifier()
            {
                var policy = new AttestedTlsPolicy { UniqueId = identity.UniqueId, AllowSimulation = true, Collateral = new SimulatedCollateralProvider(platform) };
                policy.Verifier.SimulationRoots.Add(platform.RootCertificate);
                return new AttestedCertificateVerifier(policy);
            }

            using var plain = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Clients }) { BaseAddress = plainUrl };
            using var attested = new InferenceClient(attestedUrl, new InferenceClientOptions { Verifier = Verifier() });
            InferenceClient[] endToEnd = [.. Enumerable.Range(0, Clients).Select(_ => new InferenceClient(plainUrl, new InferenceClientOptions { Verifier = Verifier(), EndToEnd = true }))];

            Console.WriteLine($"| model | batch | mode | requests/s | vs plain HTTP | p50 | p99 |");
            Console.WriteLine("|---|---:|---|---:|---:|---:|---:|");
            foreach ((string name, int inputs, _) in Models)
            {
                using var session = new InferenceSession(onnx[name]);
                foreach (int batch in new[] { 1, 32 })
                {
                    float[] x = [.. Enumerable.Range(0, batch * inputs).Select(i => (float)Math.Sin(i))];
                    var request = new JsonObject
                    {
                        ["inputs"] = new JsonArray(new JsonObject { ["name"] = "x", ["shape"] = new JsonArray(batch, inputs), ["datatype"] = "FP32", ["data"] = new JsonArray([.. x.Select(v => (JsonNode)v)]) }),
                    };
                    var tensor = new DenseTensor<float>(x, [batch, inputs]);

                    (double inProcess, double[] inProcessLatency) = await MeasureAsync(_ =>
                    {
                        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> result = session.Run([NamedOnnxValue.CreateFromTensor("x", tensor)]);
                        return Task.CompletedTask;
                    });
                    // The same client-side work as InferenceClient (serialize the request, parse the answer), over plain HTTP.
                    (double plainRate, double[] plainLatency) = await MeasureAsync(async worker =>
                    {
                        using HttpResponseMessage response = await plain.PostAsync($"/v2/models/{name}/infer", System.Net.Http.Json.JsonContent.Create(request));
                        response.EnsureSuccessStatusCode();
                        JsonNode.Parse(await response.Content.ReadAsByteArrayAsync());
                    });
                    (double attestedRate, double[] attestedLatency) = await MeasureAsync(_ => attested.InferAsync(name, request));
                    (double e2eRate, double[] e2eLatency) = await MeasureAsync(worker => endToEnd[worker].InferAsync(name, request));

                    Report(name, batch, "in-process ONNX Runtime", inProcess, plainRate, inProcessLatency);
                    Report(name, batch, "plain HTTP (baseline)", plainRate, plainRate, plainLatency);
                    Report(name, batch, "attested TLS", attestedRate, plainRate, attestedLatency);
                    Report(name, batch, "end-to-end messages", e2eRate, plainRate, e2eLatency);
                }
            }

            foreach (InferenceClient client in endToEnd)
            {
                client.Dispose();
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<(double Rate, double[] Latencies)> MeasureAsync(Func<int, Task> operation)
    {
        for (int i = 0; i < 5; i++)
        {
            await operation(0);
        }

        var latencies = new ConcurrentBag<double>();
        long count = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(worker => Task.Run(async () =>
        {
            while (clock.Elapsed < Duration)
            {
                long start = Stopwatch.GetTimestamp();
                await operation(worker);
                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                Interlocked.Increment(ref count);
            }
        })));
        double[] sorted = [.. latencies.Order()];
        return (count / clock.Elapsed.TotalSeconds, sorted);
    }

    private static void Report(string model, int batch, string mode, double rate, double baseline, double[] latencies) =>
        Console.WriteLine($"| {model} | {batch} | {mode} | {rate:0} | {rate / baseline:0.00} | {latencies[latencies.Length / 2]:0.00} ms | {latencies[(int)(latencies.Length * 0.99)]:0.00} ms |");
}
