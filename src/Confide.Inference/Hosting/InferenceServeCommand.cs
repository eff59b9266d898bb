using System.CommandLine;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.AttestationService.Client;
using Confide.AttestationService.Hosting;
using Confide.Inference.Confidential;
using Confide.Inference.Encryption;
using Confide.Inference.Keys;
using Confide.Inference.Models;
using Confide.KeyRelease.Client;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls.Verification;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Confide.Inference.Hosting;

/// <summary>
/// The <c>serve</c> command of the inference server, shared by the two ways it runs: as
/// <c>confide inference serve</c> (a process that makes its own TEE, for development) and as the
/// entry point of the inference enclave package (<c>confide run confide-inference -- ...</c>), where
/// the enclave runtime has measured the package and brought up the TEE the host asked for.
/// </summary>
public static class InferenceServeCommand
{
    /// <summary>The line the command prints once the REST endpoints listen: <c>rest: URL[, URL...]</c>.</summary>
    public const string RestLinePrefix = "rest: ";

    /// <param name="enclaveTee">
    /// The enclave's TEE when the command runs inside an enclave package; null when it runs as an
    /// ordinary process, which then offers <c>--tee</c> and makes a TEE with <see cref="InferenceIdentity.Simulated"/>.
    /// </param>
    public static Command Create(ITee? enclaveTee = null)
    {
        var models = new Option<DirectoryInfo>("--models") { Description = "The model repository: <name>/<version>/model.confide (or model.onnx with --allow-plaintext-models).", Required = true };
        var urls = new Option<string[]>("--urls") { Description = "REST endpoints (repeatable): http (HTTP/1.1) or https (HTTP/1.1 and HTTP/2, gRPC too). Port 0 picks a free one.", DefaultValueFactory = _ => ["http://127.0.0.1:8000"], AllowMultipleArgumentsPerToken = false };
        var grpcUrls = new Option<string[]>("--grpc-urls") { Description = "gRPC endpoints (repeatable): HTTP/2 only; 'none' for none.", DefaultValueFactory = _ => ["http://127.0.0.1:8001"], AllowMultipleArgumentsPerToken = false };
        var metricsUrls = new Option<string>("--metrics-urls") { Description = "Where /metrics, /healthz and /readyz listen (a separate port, no inference data); 'none' to disable.", DefaultValueFactory = _ => "http://127.0.0.1:8002" };
        var dataDirectory = new Option<string?>("--data-dir")
        {
            Description = "Where the server keeps its sealed model keys (model-keys/) and self-signed TLS certificate (tls.pfx, tls.pem)"
                + (enclaveTee is null ? "; default: the per-user state directory." : "; required inside an enclave, which has no home directory."),
            Required = enclaveTee is not null,
        };
        var importKeys = new Option<FileInfo[]>("--import-key") { Description = "Seal this model key file into the data directory before loading (repeatable); the file can then be deleted.", AllowMultipleArgumentsPerToken = false };
        var tee = new Option<string>("--tee") { Description = "The TEE that seals the model keys: auto (default), simulation, sgx-gramine or tsm.", DefaultValueFactory = _ => "auto" };
        var allowSimulation = new Option<bool>("--allow-simulation") { Description = "Run on the simulation TEE, whose sealing protects nothing (development only)." };
        var allowPlaintext = new Option<bool>("--allow-plaintext-models") { Description = "Load plain model.onnx files too (development only)." };
        var lenient = new Option<bool>("--lenient") { Description = "Serve the models that load even if others fail (failed versions report not ready)." };
        var maxRequest = new Option<long>("--max-request-bytes") { Description = "Largest request body or gRPC message.", DefaultValueFactory = _ => 64L * 1024 * 1024 };
        var keyBroker = new Option<string?>("--key-broker") { Description = "Get model keys released by this key broker (production) instead of sealed local keys; needs --key-broker-enclave and --attestation-url." };
        var keyBrokerEnclave = new Option<string?>("--key-broker-enclave") { Description = "The key broker's MRENCLAVE (hex): its attested TLS certificate must name it." };
        var attestationUrl = new Option<string?>("--attestation-url") { Description = "The attestation service this enclave attests with (for key release) and whose tokens vouch for the broker." };
        var attestationCa = new Option<string?>("--attestation-ca") { Description = "PEM certificate of the attestation service's TLS." };
        var attestedTls = new Option<bool>("--attested-tls") { Description = "Terminate TLS inside the enclave with an attested certificate on the https endpoints (clients verify the enclave in the handshake)." };
        var endToEnd = new Option<bool>("--e2e") { Description = "Accept end-to-end encrypted messages at /v2/e2e (for a TLS-terminating ingress or an untrusted relay in front)." };
        var command = new Command("serve", "Serve a model repository over the KServe v2 REST and gRPC APIs until stopped (Ctrl+C).")
        {
            models, urls, grpcUrls, metricsUrls, dataDirectory, importKeys, allowSimulation, allowPlaintext, lenient, maxRequest, attestedTls, endToEnd,
            keyBroker, keyBrokerEnclave, attestationUrl, attestationCa,
        };
        if (enclaveTee is null)
        {
            command.Options.Add(tee);
        }

        command.SetAction(async (result, cancellationToken) =>
        {
            try
            {
                return await ServeAsync(result, cancellationToken);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or UnauthorizedAccessException or TeeException or CryptographicException
                or AttestationClientException or KeyReleaseException)
            {
                Console.Error.WriteLine($"confide: {ex.Message}");
                return 1;
            }
        });
        return command;

        async Task<int> ServeAsync(ParseResult result, CancellationToken cancellationToken)
        {
            string data = result.GetValue(dataDirectory) ?? Path.Combine(Path.GetDirectoryName(SimulatedPlatform.DefaultStateDirectory)!, "inference");
            Directory.CreateDirectory(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using ITee? ownTee = enclaveTee is null
                ? await new TeeOptions { Backend = TeeOptions.ParseBackend(result.GetValue(tee)) }.CreateAsync(InferenceIdentity.Simulated, cancellationToken)
                : null;
            ITee serverTee = enclaveTee ?? ownTee!;
            var keys = new SealedModelKeyProvider(serverTee, Path.Combine(data, "model-keys"), result.GetValue(allowSimulation));
            foreach (FileInfo file in result.GetValue(importKeys) ?? [])
            {
                byte[] key = ModelEncryption.ReadKeyFile(file.FullName);
                try
                {
                    Console.WriteLine($"sealed model key {keys.Import(key)} ({serverTee.Kind} TEE)");
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(key);
                }
            }

            IModelKeyProvider keyProvider = keys;
            using HttpClient? attestationHttp = result.GetValue(attestationUrl) is null ? null : HttpsHosting.PinnedClient(result.GetValue(attestationCa));
            using AttestationClient? attestation = result.GetValue(attestationUrl) is { } service
                ? new AttestationClient(new Uri(service), new AttestationClientOptions { HttpClient = attestationHttp })
                : null;
            if (result.GetValue(keyBroker) is { } broker)
            {
                if (attestation is null || result.GetValue(keyBrokerEnclave) is not { } brokerEnclave)
                {
                    throw new ArgumentException("--key-broker needs --key-broker-enclave (the broker's MRENCLAVE) and --attestation-url.");
                }

                var brokerPolicy = new AttestedTlsPolicy { UniqueId = Convert.FromHexString(brokerEnclave) };
                brokerPolicy.TrustedAttestationServices.Add(attestation);
                var release = KeyReleaseClientOptions.ForAttestedBroker(new Uri(broker), serverTee, attestation, new AttestedCertificateVerifier(brokerPolicy));
                keyProvider = new KeyReleaseModelKeyProvider(new KeyReleaseClient(release));
                Console.WriteLine($"model keys: released by the key broker {broker} (its enclave {brokerEnclave[..Math.Min(16, brokerEnclave.Length)]}... vouched for by {attestation.Issuer})");
            }

            var endpoints = new List<InferenceEndpoint>();
            endpoints.AddRange((result.GetValue(urls) ?? []).Select(u => new InferenceEndpoint(ParseUrl(u, "--urls"))));
            endpoints.AddRange((result.GetValue(grpcUrls) ?? []).Where(u => u != "none").Select(u => new InferenceEndpoint(ParseUrl(u, "--grpc-urls"), HttpProtocols.Http2)));
            string metrics = result.GetValue(metricsUrls)!;
            using ConfidentialTransport? transport = result.GetValue(attestedTls) || result.GetValue(endToEnd)
                ? await ConfidentialTransport.CreateAsync(serverTee, new ConfidentialTransportOptions { AttestedTls = result.GetValue(attestedTls), EndToEnd = result.GetValue(endToEnd) }, cancellationToken)
                : null;
            X509Certificate2? certificate = null;
            if ((transport?.Certificate is null && endpoints.Any(e => e.Url.Scheme == Uri.UriSchemeHttps)) || metrics.StartsWith("https:", StringComparison.OrdinalIgnoreCase))
            {
                (certificate, string pem) = HttpsHosting.LoadOrCreateTlsCertificate(data, IPAddress.Loopback);
                Console.WriteLine($"tls certificate: {pem} (self-signed; clients pin it)");
            }

            InferenceServer server;
            try
            {
                server = await InferenceServer.StartAsync(new InferenceServerOptions
                {
                    ModelDirectory = result.GetValue(models)!.FullName,
                    Repository = new ModelRepositoryOptions
                    {
                        KeyProvider = keyProvider,
                        AllowPlaintextModels = result.GetValue(allowPlaintext),
                        FailOnLoadError = !result.GetValue(lenient),
                    },
                    Endpoints = endpoints,
                    TlsCertificate = certificate,
                    MetricsUrl = metrics == "none" ? null : ParseUrl(metrics, "--metrics-urls"),
                    MaxRequestBytes = result.GetValue(maxRequest),
                    ConfigureDataListener = transport is null ? null : transport.ConfigureListener,
                    MapEndpoints = transport is null ? null : transport.MapEndpoints,
                }, cancellationToken);
            }
            catch (Exception ex) when (ex is ModelLoadException or InvalidDataException or DirectoryNotFoundException)
            {
                // A model the enclave cannot open (tampered, wrong key, plaintext): say which and why, and do not serve.
                Console.Error.WriteLine($"confide: {ex.Message}");
                return 1;
            }

            await using (server)
            {
                foreach (ModelVersionState version in server.Repository.AllVersions)
                {
                    Console.WriteLine(version.IsReady
                        ? $"model {version.Descriptor.Name} version {version.Descriptor.Version}: ready (sha256 {version.Model!.FileSha256})"
                        : $"model {version.Descriptor.Name} version {version.Descriptor.Version}: NOT READY: {version.Failure!.Message}");
                }

                Console.WriteLine($"enclave: mrenclave {serverTee.Identity.UniqueIdHex} mrsigner {serverTee.Identity.SignerIdHex} ({serverTee.Kind})");
                if (transport is not null)
                {
                    Console.WriteLine($"confidential: {(transport.Certificate is not null ? "attested TLS on https endpoints" : "no attested TLS")}; {(transport.EndToEnd is not null ? "end-to-end messages at /v2/e2e" : "no end-to-end messages")}");
                }

                if (serverTee.IsSimulated)
                {
                    Console.WriteLine("warning: simulation TEE: model keys are sealed by a software key; nothing is protected.");
                }

                // The URL lines come last: a launcher that waits for "rest: " knows everything above is settled.
                Console.WriteLine($"grpc: {string.Join(", ", server.Urls.Where((_, i) => endpoints[i].ServesGrpc).Select(Base))}");
                Console.WriteLine(server.MetricsUrl is null ? "metrics: none" : $"metrics: {Base(server.MetricsUrl)}/metrics");
                Console.WriteLine($"{RestLinePrefix}{string.Join(", ", server.Urls.Where((_, i) => endpoints[i].ServesHttp1).Select(Base))}");
                Console.Out.Flush();
                await server.WaitForShutdownAsync(cancellationToken);
                return 0;
            }
        }
    }

    private static string Base(Uri url) => url.ToString().TrimEnd('/');

    private static Uri ParseUrl(string value, string option) =>
        Uri.TryCreate(value, UriKind.Absolute, out Uri? url) ? url : throw new ArgumentException($"{option} '{value}' is not an absolute URL.");
}
