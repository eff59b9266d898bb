using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Attestation.Verification;
using Confide.AttestationService;
using Confide.AttestationService.Client;
using Confide.AttestationService.Hosting;
using Confide.AttestationService.Tokens;
using Confide.KeyRelease;
using Confide.KeyRelease.Client;
using Confide.KeyRelease.Hosting;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls.Hosting;
using Confide.Tls.Verification;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.Benchmarks;

/// <summary>
/// End-to-end key release latency, sequential, as an enclave sees it: a fresh RSA-2048 wrapping
/// key, evidence, attestation, the release over attested TLS (token mode; the broker's certificate
/// verified once and cached), checking the broker's JWS, unwrapping. Beside it, in the same run,
/// the attestation step alone (evidence + attest), the floor any release flow pays.
/// Run: dotnet run -c Release -- key-release
/// </summary>
internal static class KeyReleaseLatency
{
    private const int Warmup = 20;
    private const int Samples = 300;

    public static async Task RunAsync()
    {
        string work = Directory.CreateTempSubdirectory("confide-key-release-bench-").FullName;
        try
        {
            using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate(Path.Combine(work, "sim"));
            var verifier = new QuoteVerifierOptions();
            verifier.SimulationRoots.Add(platform.RootCertificate);
            await using AttestationServer attestationServer = await AttestationServer.StartAsync(new Uri("https://127.0.0.1:0"), Path.Combine(work, "maa"),
                new AttestationServiceOptions { Collateral = new SimulatedCollateralProvider(platform), Verifier = verifier, AllowSimulation = true });
            X509Certificate2 attestationTls = X509Certificate2.CreateFromPem(File.ReadAllText(attestationServer.TlsCertificatePath));
            var clientOptions = new AttestationClientOptions
            {
                HttpClient = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && c.GetCertHash().AsSpan().SequenceEqual(attestationTls.GetCertHash()) } }),
            };
            using var attestation = new AttestationClient(new Uri(attestationServer.Issuer), clientOptions);

            using var adminKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var admin = new AdminAuthenticationOptions { Issuer = "https://operator.invalid", Audience = KeyBrokerOptions.DefaultAdminAudience };
            admin.SigningKeys.Add(new ECDsaSecurityKey(adminKey));
            var brokerIdentity = new TeeIdentity(TeeKind.Simulation, SHA256.HashData("broker code"u8), SHA256.HashData("broker"u8), 2, 1, false);
            using var brokerTee = new SimulationTee(platform, brokerIdentity);
            await using KeyBrokerServer broker = await KeyBrokerServer.StartAsync(new Uri("https://127.0.0.1:0"), Path.Combine(work, "broker"), new KeyBrokerOptions
            {
                Tee = brokerTee,
                AllowSimulation = true,
                AdminAuthentication = admin,
                TrustedAuthorities = [new TrustedAuthority(new Uri(attestationServer.Issuer), attestationTls)],
                TlsMode = BrokerTlsMode.AttestedToken,
                TlsAttestation = attestation,
            });

            var enclaveIdentity = new TeeIdentity(TeeKind.Simulation, SHA256.HashData("enclave"u8), SHA256.HashData("signer"u8), 1, 1, false);
            var brokerPolicy = new AttestedTlsPolicy { UniqueId = brokerIdentity.UniqueId };
            brokerPolicy.TrustedAttestationServices.Add(attestation);
            var brokerVerifier = new AttestedCertificateVerifier(brokerPolicy);
            await ImportAsync(broker, brokerVerifier, adminKey, attestationServer.Issuer, enclaveIdentity);

            using var tee = new SimulationTee(platform, enclaveIdentity);
            KeyReleaseClientOptions releaseOptions = KeyReleaseClientOptions.ForAttestedBroker(new Uri(broker.Url), tee, attestation, brokerVerifier);
            var client = new KeyReleaseClient(releaseOptions);

            double[] attestOnly = await MeasureAsync(async () =>
            {
                using var key = RSA.Create(2048);
                byte[] runtime = System.Text.Encoding.UTF8.GetBytes($"{{\"keys\":[{{\"kty\":\"RSA\",\"n\":\"{Base64UrlEncoder.Encode(key.ExportParameters(false).Modulus)}\",\"e\":\"AQAB\"}}]}}");
                byte[] quote = (await tee.GetEvidenceAsync(SHA256.HashData(runtime))).Data;
                await attestation.AttestSgxEnclaveAsync(quote, new RuntimeData(runtime, RuntimeDataType.Json), nonce: Guid.NewGuid().ToString("N"));
            });
            double[] release = await MeasureAsync(async () =>
            {
                using ReleasedKey key = await client.ReleaseAsync("bench-key");
            });

            Console.WriteLine("| step | p50 | p99 | mean | vs attest only (p50) |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            Report("RSA-2048 key + evidence + attest (baseline)", attestOnly, attestOnly);
            Report("key release end to end (attested TLS, token mode)", release, attestOnly);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task ImportAsync(KeyBrokerServer broker, AttestedCertificateVerifier brokerVerifier, ECDsa adminKey, string authority, TeeIdentity enclave)
    {
        var policy = new JsonObject
        {
            ["version"] = "1.0.0",
            ["anyOf"] = new JsonArray(new JsonObject
            {
                ["authority"] = authority,
                ["allOf"] = new JsonArray(new JsonObject { ["claim"] = "x-ms-sgx-mrsigner", ["equals"] = enclave.SignerIdHex }),
            }),
        };
        var body = new JsonObject
        {
            ["key"] = new JsonObject { ["kty"] = "oct-HSM", ["k"] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32)) },
            ["attributes"] = new JsonObject { ["exportable"] = true },
            ["release_policy"] = new JsonObject { ["contentType"] = "application/json; charset=utf-8", ["data"] = Base64UrlEncoder.Encode(policy.ToJsonString()) },
        };
        string token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://operator.invalid",
            Audience = KeyBrokerOptions.DefaultAdminAudience,
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(adminKey), SecurityAlgorithms.EcdsaSha256),
        });
        using var http = new HttpClient(new SocketsHttpHandler().UseAttestedTls(brokerVerifier));
        using var request = new HttpRequestMessage(HttpMethod.Put, $"{broker.Url}/keys/bench-key?api-version=7.4") { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using HttpResponseMessage response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    private static async Task<double[]> MeasureAsync(Func<Task> operation)
    {
        for (int i = 0; i < Warmup; i++)
        {
            await operation();
        }

        double[] samples = new double[Samples];
        for (int i = 0; i < Samples; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await operation();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(samples);
        return samples;
    }

    private static void Report(string name, double[] samples, double[] baseline)
    {
        double p50 = samples[samples.Length / 2], p99 = samples[(int)(samples.Length * 0.99)];
        Console.WriteLine($"| {name} | {p50:0.00} ms | {p99:0.00} ms | {samples.Average():0.00} ms | {p50 / baseline[baseline.Length / 2]:0.00} |");
    }
}
