using System.CommandLine;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.AttestationService.Hosting;
using Confide.Inference.Encryption;
using Confide.Inference.Hosting;
using Confide.Inference.Keys;
using Confide.Inference.Models;
using Confide.Tee;
using Confide.Tee.Simulation;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Confide.Cli.Commands;

/// <summary>
/// <c>confide model keygen|encrypt</c> (CONFIDE-MODEL files) and <c>confide inference serve</c>
/// (the KServe v2 inference server over a model repository).
/// </summary>
internal static class InferenceCommands
{
    public static void Register(RootCommand root)
    {
        var model = new Command("model", "Model keys and encrypted model files (CONFIDE-MODEL v1, AES-256-GCM).");
        model.Subcommands.Add(KeyGen());
        model.Subcommands.Add(Encrypt());
        root.Subcommands.Add(model);

        var inference = new Command("inference", "Confidential inference: the KServe v2 / Open Inference Protocol server.");
        inference.Subcommands.Add(Serve());
        root.Subcommands.Add(inference);
    }

    private static Command KeyGen()
    {
        var output = new Option<FileInfo>("--out", "-o") { Description = "Where to write the 32-byte model key (raw bytes, mode 0600).", Required = true };
        var command = new Command("keygen", "Create a random 256-bit model key.") { output };
        command.SetAction((result, _) => CliErrors.RunAsync(() =>
        {
            FileInfo file = result.GetValue(output)!;
            byte[] key = ModelEncryption.GenerateKey();
            try
            {
                // CreateNew: never overwrite a key that may already protect models.
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
                using (var stream = new FileStream(file.FullName, options))
                {
                    stream.Write(key);
                }

                Console.WriteLine($"wrote {file.FullName}");
                Console.WriteLine($"key id {ModelEncryption.KeyIdHex(key)}");
                return Task.FromResult(0);
            }
            catch (IOException) when (file.Exists)
            {
                throw new IOException($"'{file.FullName}' exists; refusing to overwrite a model key.");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }));
        return command;
    }

    private static Command Encrypt()
    {
        var keyFile = new Option<FileInfo>("--key", "-k") { Description = "The 32-byte model key file (from 'confide model keygen').", Required = true };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "The encrypted file (default: the model's path with .confide for .onnx; a repository expects <name>/<version>/model.confide)." };
        var force = new Option<bool>("--force") { Description = "Overwrite the output file if it exists." };
        var input = new Argument<FileInfo>("model") { Description = "The ONNX model to encrypt." };
        var command = new Command("encrypt", "Encrypt an ONNX model into a CONFIDE-MODEL file (checked to load in ONNX Runtime first).") { keyFile, output, force, input };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            FileInfo source = result.GetValue(input)!;
            FileInfo target = result.GetValue(output) ?? new FileInfo(Path.ChangeExtension(source.FullName, ".confide"));
            if (target.Exists && !result.GetValue(force))
            {
                throw new IOException($"'{target.FullName}' exists; pass --force to replace it.");
            }

            byte[] key = ReadKey(result.GetValue(keyFile)!);
            byte[] plaintext = await File.ReadAllBytesAsync(source.FullName, cancellationToken);
            try
            {
                if (ModelEncryption.IsEncryptedModel(plaintext))
                {
                    throw new ArgumentException($"'{source.FullName}' is already a CONFIDE-MODEL file.");
                }

                // Encrypting something ONNX Runtime cannot load would only fail later, inside the enclave.
                using (LoadedModel loaded = await ModelRepository.LoadOneAsync(new ModelDescriptor("model", "1", source.FullName), new ModelRepositoryOptions { AllowPlaintextModels = true }, cancellationToken))
                {
                    Console.WriteLine($"inputs: {string.Join(", ", loaded.Inputs.Select(Describe))}");
                    Console.WriteLine($"outputs: {string.Join(", ", loaded.Outputs.Select(Describe))}");
                }

                byte[] encrypted = ModelEncryption.Encrypt(plaintext, key);
                var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead };
                await using (var stream = new FileStream(target.FullName, options))
                {
                    await stream.WriteAsync(encrypted, cancellationToken);
                }

                Console.WriteLine($"wrote {target.FullName} ({encrypted.Length} bytes)");
                Console.WriteLine($"key id {ModelEncryption.KeyIdHex(key)}");
                Console.WriteLine($"sha256 {Convert.ToHexStringLower(SHA256.HashData(encrypted))}");
                return 0;
            }
            catch (ModelLoadException ex)
            {
                Console.Error.WriteLine($"confide: '{source.FullName}' is not a model ONNX Runtime can load: {ex.InnerException?.Message ?? ex.Message}");
                return CliErrors.Failure;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }));
        return command;
    }

    private static Command Serve()
    {
        var models = new Option<DirectoryInfo>("--models") { Description = "The model repository: <name>/<version>/model.confide (or model.onnx with --allow-plaintext-models).", Required = true };
        var urls = new Option<string[]>("--urls") { Description = "REST endpoints (repeatable): http (HTTP/1.1) or https (HTTP/1.1 and HTTP/2, gRPC too). Port 0 picks a free one.", DefaultValueFactory = _ => ["http://127.0.0.1:8000"], AllowMultipleArgumentsPerToken = false };
        var grpcUrls = new Option<string[]>("--grpc-urls") { Description = "gRPC endpoints (repeatable): HTTP/2 only; 'none' for none.", DefaultValueFactory = _ => ["http://127.0.0.1:8001"], AllowMultipleArgumentsPerToken = false };
        var metricsUrls = new Option<string>("--metrics-urls") { Description = "Where /metrics, /healthz and /readyz listen (a separate port, no inference data); 'none' to disable.", DefaultValueFactory = _ => "http://127.0.0.1:8002" };
        var dataDirectory = new Option<string?>("--data-dir") { Description = "Where the server keeps its sealed model keys (model-keys/) and self-signed TLS certificate (tls.pfx, tls.pem; default: the per-user state directory)." };
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
            models, urls, grpcUrls, metricsUrls, dataDirectory, importKeys, tee, allowSimulation, allowPlaintext, lenient, maxRequest, attestedTls, endToEnd,
            keyBroker, keyBrokerEnclave, attestationUrl, attestationCa,
        };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            string data = result.GetValue(dataDirectory) ?? Path.Combine(Path.GetDirectoryName(SimulatedPlatform.DefaultStateDirectory)!, "inference");
            Directory.CreateDirectory(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using ITee serverTee = await new TeeOptions { Backend = TeeOptions.ParseBackend(result.GetValue(tee)) }.CreateAsync(InferenceIdentity.Simulated, cancellationToken);
            var keys = new SealedModelKeyProvider(serverTee, Path.Combine(data, "model-keys"), result.GetValue(allowSimulation));
            foreach (FileInfo file in result.GetValue(importKeys) ?? [])
            {
                byte[] key = ReadKey(file);
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
            using HttpClient? attestationHttp = result.GetValue(attestationUrl) is null ? null : PinnedHttp.Client(result.GetValue(attestationCa));
            using Confide.AttestationService.Client.AttestationClient? attestation = result.GetValue(attestationUrl) is { } service
                ? new Confide.AttestationService.Client.AttestationClient(new Uri(service), new Confide.AttestationService.Client.AttestationClientOptions { HttpClient = attestationHttp })
                : null;
            if (result.GetValue(keyBroker) is { } broker)
            {
                if (attestation is null || result.GetValue(keyBrokerEnclave) is not { } brokerEnclave)
                {
                    throw new ArgumentException("--key-broker needs --key-broker-enclave (the broker's MRENCLAVE) and --attestation-url.");
                }

                var brokerPolicy = new Confide.Tls.Verification.AttestedTlsPolicy { UniqueId = Convert.FromHexString(brokerEnclave) };
                brokerPolicy.TrustedAttestationServices.Add(attestation);
                var release = Confide.KeyRelease.Client.KeyReleaseClientOptions.ForAttestedBroker(new Uri(broker), serverTee, attestation, new Confide.Tls.Verification.AttestedCertificateVerifier(brokerPolicy));
                keyProvider = new Confide.Inference.Confidential.KeyReleaseModelKeyProvider(new Confide.KeyRelease.Client.KeyReleaseClient(release));
                Console.WriteLine($"model keys: released by the key broker {broker} (its enclave {brokerEnclave[..Math.Min(16, brokerEnclave.Length)]}... vouched for by {attestation.Issuer})");
            }

            var endpoints = new List<InferenceEndpoint>();
            endpoints.AddRange((result.GetValue(urls) ?? []).Select(u => new InferenceEndpoint(ParseUrl(u, "--urls"))));
            endpoints.AddRange((result.GetValue(grpcUrls) ?? []).Where(u => u != "none").Select(u => new InferenceEndpoint(ParseUrl(u, "--grpc-urls"), HttpProtocols.Http2)));
            string metrics = result.GetValue(metricsUrls)!;
            using Confide.Inference.Confidential.ConfidentialTransport? transport = result.GetValue(attestedTls) || result.GetValue(endToEnd)
                ? await Confide.Inference.Confidential.ConfidentialTransport.CreateAsync(serverTee, new Confide.Inference.Confidential.ConfidentialTransportOptions { AttestedTls = result.GetValue(attestedTls), EndToEnd = result.GetValue(endToEnd) }, cancellationToken)
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
                return CliErrors.Failure;
            }

            await using (server)
            {
                foreach (ModelVersionState version in server.Repository.AllVersions)
                {
                    Console.WriteLine(version.IsReady
                        ? $"model {version.Descriptor.Name} version {version.Descriptor.Version}: ready (sha256 {version.Model!.FileSha256})"
                        : $"model {version.Descriptor.Name} version {version.Descriptor.Version}: NOT READY: {version.Failure!.Message}");
                }

                Console.WriteLine($"rest: {string.Join(", ", server.Urls.Where((_, i) => endpoints[i].ServesHttp1).Select(Base))}");
                Console.WriteLine($"grpc: {string.Join(", ", server.Urls.Where((_, i) => endpoints[i].ServesGrpc).Select(Base))}");
                Console.WriteLine(server.MetricsUrl is null ? "metrics: none" : $"metrics: {Base(server.MetricsUrl)}/metrics");
                Console.WriteLine($"enclave: mrenclave {serverTee.Identity.UniqueIdHex} mrsigner {serverTee.Identity.SignerIdHex} ({serverTee.Kind})");
                if (transport is not null)
                {
                    Console.WriteLine($"confidential: {(transport.Certificate is not null ? "attested TLS on https endpoints" : "no attested TLS")}; {(transport.EndToEnd is not null ? "end-to-end messages at /v2/e2e" : "no end-to-end messages")}");
                }
                if (serverTee.IsSimulated)
                {
                    Console.WriteLine("warning: simulation TEE: model keys are sealed by a software key; nothing is protected.");
                }

                Console.Out.Flush();
                await server.WaitForShutdownAsync(cancellationToken);
                return 0;
            }
        }));
        return command;
    }

    private static byte[] ReadKey(FileInfo file)
    {
        byte[] key = File.ReadAllBytes(file.FullName);
        if (key.Length != ModelEncryption.KeySize)
        {
            CryptographicOperations.ZeroMemory(key);
            throw new ArgumentException($"'{file.FullName}' is {key.Length} bytes; a model key file holds exactly {ModelEncryption.KeySize} raw bytes (see 'confide model keygen').");
        }

        return key;
    }

    private static string Base(Uri url) => url.ToString().TrimEnd('/');

    private static Uri ParseUrl(string value, string option) =>
        Uri.TryCreate(value, UriKind.Absolute, out Uri? url) ? url : throw new ArgumentException($"{option} '{value}' is not an absolute URL.");

    private static string Describe(Confide.Inference.Serving.TensorMetadata tensor) =>
        $"{tensor.Name} {Confide.Inference.Tensors.TensorDataTypes.ToProtocolName(tensor.DataType)} [{string.Join(", ", tensor.Shape)}]";
}
