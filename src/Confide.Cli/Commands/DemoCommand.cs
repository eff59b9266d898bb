using System.CommandLine;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Confide.Attestation.Verification;
using Confide.AttestationService;
using System.Text.Json.Nodes;
using Confide.AttestationService.Client;
using Confide.AttestationService.Hosting;
using Confide.KeyRelease;
using Confide.KeyRelease.Hosting;
using Confide.KeyRelease.Client;
using Confide.Inference.Hosting;
using Confide.Tls.Hosting;
using Confide.Tls.Verification;
using Confide.Tee.Simulation;
using System.Diagnostics;
using System.Security.Cryptography;
using Confide.Attestation.Quotes;
using Confide.Enclave;
using Confide.Enclave.Calls;
using Confide.Enclave.Hosting;
using Confide.Enclave.Signing;
using Confide.Tee;
using HelloEnclave.Contract;

namespace Confide.Cli.Commands;

/// <summary>
/// The end-to-end demo on the simulation TEE: package, sign, launch, ecalls and an ocall, evidence
/// bound to a nonce, sealing, and a tampered package being refused.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var keep = new Option<bool>("--keep") { Description = "Keep the demo's working folder instead of deleting it." };
        var command = new Command("demo", "Run the end-to-end demo on the simulation TEE (a few seconds).") { keep };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(() => RunAsync(result.GetValue(keep), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(bool keep, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        string source = Path.Combine(AppContext.BaseDirectory, "demo-enclave");
        if (!File.Exists(Path.Combine(source, "enclave.json")))
        {
            throw new IOException($"The demo enclave is missing from '{source}'; build src/Confide.Cli again.");
        }

        DirectoryInfo work = Directory.CreateTempSubdirectory("confide-demo-");
        try
        {
            string package = Path.Combine(work.FullName, "hello-enclave");
            CopyDirectory(source, package);
            Step(1, $"Enclave package: the sample HelloEnclave, copied to {package}");

            using RSA key = EnclaveSigningKey.Generate();
            EnclavePackageIdentity identity = EnclavePackage.Sign(package, key);
            Step(2, "Signed with a throw-away RSA-3072 key (exponent 3), as SGX requires:");
            Detail($"MRENCLAVE {identity.MrEnclaveHex}  (hash of the manifest and every trusted file)");
            Detail($"MRSIGNER  {identity.MrSignerHex}  (hash of the signer's modulus)");

            await using DemoServices services = await DemoServices.StartAsync(identity.MrSignerHex, work.FullName, cancellationToken);

            var options = new EnclaveHostOptions { Tee = TeeBackend.Simulation }.WithOcalls<IHelloHost>(new DemoHostCalls());
            options.Environment["HELLO_GREETING"] = "Hello";
            await using (EnclaveHost<IHelloEnclave> enclave = await EnclaveHost.LaunchAsync<IHelloEnclave>(package, options, cancellationToken))
            {
                Step(3, $"The host verified the package and launched the enclave as process {enclave.ProcessId} (simulation TEE).");

                string greeting = await enclave.Calls.GreetAsync("Confide", cancellationToken);
                Step(4, $"ecall GreetAsync → \"{greeting}\"  (the enclave made two ocalls back to the host on the way)");

                EnclaveInfo info = await enclave.Calls.GetInfoAsync(cancellationToken);
                Step(5, $"The TEE reports the identity the host measured: MRENCLAVE matches = {info.UniqueId == identity.MrEnclaveHex}, MRSIGNER matches = {info.SignerId == identity.MrSignerHex}, simulated = {info.Simulated}.");

                byte[] nonce = RandomNumberGenerator.GetBytes(32);
                EvidenceResult evidence = await enclave.Calls.GetEvidenceAsync(nonce, cancellationToken);
                Quote quote = Quote.Parse(evidence.Evidence);
                bool bound = quote.ReportData.AsSpan(0, 32).SequenceEqual(SHA256.HashData(nonce));
                Step(6, $"Evidence for a fresh nonce: an SGX ECDSA quote v{quote.Version} of {evidence.Evidence.Length} bytes with {evidence.Collateral?.Length ?? 0} bytes of collateral.");
                Detail($"report data = SHA-256(nonce): {bound}; quote MRENCLAVE matches: {Convert.ToHexStringLower(quote.SgxBody!.MrEnclave) == identity.MrEnclaveHex}");
                Detail("It chains to this machine's simulation root CA, which no production policy trusts.");
                await services.AttestAsync(evidence.Evidence, nonce, cancellationToken);

                await services.ReleaseKeyAsync(enclave.Calls, identity.MrSignerHex, cancellationToken);

                byte[] sealedSecret = await enclave.Calls.SealSecretAsync("correct horse battery staple", uniqueToThisBuild: false, cancellationToken);
                bool opens = await enclave.Calls.CheckSecretAsync(sealedSecret, "correct horse battery staple", cancellationToken);
                Step(8, $"Sealed a secret inside the enclave: the host holds only a {sealedSecret.Length}-byte blob; unsealed inside and matched: {opens}.");

                byte[] tampered = sealedSecret.ToArray();
                tampered[^1] ^= 0x01;
                try
                {
                    await enclave.Calls.CheckSecretAsync(tampered, "correct horse battery staple", cancellationToken);
                    Detail("UNEXPECTED: a tampered blob was accepted.");
                    return CliErrors.Failure;
                }
                catch (EnclaveCallException ex)
                {
                    Detail($"A tampered blob is refused inside the enclave: {ex.RemoteExceptionType?.Split('.')[^1]}: {ex.Message.Split(": ", 2)[^1]}");
                }
            }

            Step(9, "The host closed the channel; the enclave exited.");

            await File.AppendAllTextAsync(Path.Combine(package, "HelloEnclave.Contract.dll"), "tampered", cancellationToken);
            try
            {
                await using EnclaveHost<IHelloEnclave> refused = await EnclaveHost.LaunchAsync<IHelloEnclave>(package, options, cancellationToken);
                Detail("UNEXPECTED: a tampered package was launched.");
                return CliErrors.Failure;
            }
            catch (EnclavePackageException ex)
            {
                Step(10, $"After changing one file, the host refuses to launch: {ex.Message}");
            }

            await services.InferAsync(work.FullName, key, cancellationToken);
            await DemoLedger.RunAsync(work.FullName, Step, Detail, cancellationToken);

            Console.WriteLine();
            Console.WriteLine($"Demo finished in {clock.Elapsed.TotalSeconds:0.0} s. Simulation mode protects nothing against a privileged attacker; see docs/security.md.");
            return 0;
        }
        finally
        {
            if (keep)
            {
                Console.WriteLine($"Kept {work.FullName}");
            }
            else
            {
                work.Delete(recursive: true);
            }
        }
    }

    private static void Step(int number, string text) => Console.WriteLine($"{number}. {text}");

    private static void Detail(string text) => Console.WriteLine($"   {text}");

    private static void CopyDirectory(string source, string destination)
    {
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>The ocalls the demo host offers the enclave.</summary>
    private sealed class DemoHostCalls : IHelloHost
    {
        public Task LogAsync(string message)
        {
            Console.WriteLine($"   [ocall LogAsync from the enclave] {message}");
            return Task.CompletedTask;
        }

        public Task<string> GetHostNameAsync() => Task.FromResult(Environment.MachineName);
    }

    /// <summary>
    /// The services around the enclave, on loopback: an attestation service (Azure Attestation API)
    /// whose operator admits only the demo enclave's signer and the broker's, and a key broker on
    /// the simulation TEE that serves attested TLS (a token from that service) and holds one key.
    /// </summary>
    private sealed class DemoServices : IAsyncDisposable
    {
        private const string OperatorIssuer = "https://operator.demo.invalid";

        private readonly List<IAsyncDisposable> _async = [];
        private readonly List<IDisposable> _owned = [];

        private DemoServices()
        {
        }

        public AttestationServer Attestation { get; private set; } = null!;

        public KeyBrokerServer Broker { get; private set; } = null!;

        private AttestationClientOptions ClientOptions { get; set; } = null!;

        private byte[] DemoKey { get; } = RandomNumberGenerator.GetBytes(32);

        private ECDsa OperatorKey { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        public static async Task<DemoServices> StartAsync(string enclaveSigner, string work, CancellationToken cancellationToken)
        {
            var services = new DemoServices();
            try
            {
                await services.StartCoreAsync(enclaveSigner, work, cancellationToken);
                return services;
            }
            catch
            {
                await services.DisposeAsync();
                throw;
            }
        }

        private async Task StartCoreAsync(string enclaveSigner, string work, CancellationToken cancellationToken)
        {
            SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate();
            _owned.Add(platform);
            _owned.Add(OperatorKey);
            var verifier = new QuoteVerifierOptions();
            verifier.SimulationRoots.Add(X509CertificateLoader.LoadCertificate(platform.RootCertificate.RawData));
            var admin = new AdminAuthenticationOptions { Issuer = OperatorIssuer };
            admin.SigningKeys.Add(new Microsoft.IdentityModel.Tokens.ECDsaSecurityKey(OperatorKey));
            var options = new AttestationServiceOptions { Collateral = new SimulatedCollateralProvider(platform), Verifier = verifier, AllowSimulation = true, AdminAuthentication = admin };
            Attestation = await AttestationServer.StartAsync(new Uri("https://127.0.0.1:0"), Path.Combine(work, "attestation"), options, cancellationToken);
            _async.Add(Attestation);

            byte[] pinned = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Attestation.TlsCertificatePath, cancellationToken)).RawData;
            var http = new HttpClient(new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned) },
            });
            _owned.Add(http);
            ClientOptions = new AttestationClientOptions { HttpClient = http };

            // The operator's policy: the demo enclave's signer, or the key broker's, and never a debug build.
            var brokerIdentity = KeyBrokerIdentity.Simulated();
            string policy = $$"""
                version= 1.0;
                authorizationrules {
                    [type=="x-ms-sgx-mrsigner", value=="{{enclaveSigner}}"] && [type=="x-ms-sgx-is-debuggable", value==false] => permit();
                    [type=="x-ms-sgx-mrsigner", value=="{{brokerIdentity.SignerIdHex}}"] && [type=="x-ms-sgx-is-debuggable", value==false] => permit();
                };
                issuancerules {
                    c:[type=="x-ms-sgx-svn"] => issue(type="hello-svn", value=c.value);
                };
                """;
            string operatorToken = OperatorToken(AdminAuthenticationOptions.DefaultAudience);
            using (var administration = new AttestationAdministrationClient(new Uri(Attestation.Issuer), _ => ValueTask.FromResult(operatorToken), ClientOptions))
            {
                await administration.SetPolicyAsync(Confide.AttestationService.Policies.AttestationType.SgxEnclave, policy, cancellationToken: cancellationToken);
            }

            // The key broker, on its own (simulated) enclave identity, attested by that service.
            var brokerTee = new SimulationTee(platform, brokerIdentity);
            _owned.Add(brokerTee);
            var attestationForBroker = new AttestationClient(new Uri(Attestation.Issuer), ClientOptions);
            _owned.Add(attestationForBroker);
            var brokerAdmin = new AdminAuthenticationOptions { Issuer = OperatorIssuer, Audience = KeyBrokerOptions.DefaultAdminAudience };
            brokerAdmin.SigningKeys.Add(new Microsoft.IdentityModel.Tokens.ECDsaSecurityKey(OperatorKey));
            Broker = await KeyBrokerServer.StartAsync(new Uri("https://127.0.0.1:0"), Path.Combine(work, "broker"), new KeyBrokerOptions
            {
                Tee = brokerTee,
                AllowSimulation = true,
                AdminAuthentication = brokerAdmin,
                TrustedAuthorities = [new TrustedAuthority(new Uri(Attestation.Issuer), X509CertificateLoader.LoadCertificate(pinned))],
                TlsMode = BrokerTlsMode.AttestedToken,
                TlsAttestation = attestationForBroker,
            }, cancellationToken);
            _async.Add(Broker);
        }

        /// <summary>Attests the demo enclave's quote and shows the strictly validated token's claims.</summary>
        public async Task AttestAsync(byte[] quote, byte[] nonce, CancellationToken cancellationToken)
        {
            string mrSigner = Convert.ToHexStringLower(Quote.Parse(quote).SgxBody!.MrSigner);
            Detail($"An attestation service at {Attestation.Issuer} (Azure Attestation API); its operator set a policy that permits only MRSIGNER {mrSigner[..16]}... and the key broker's.");
            using var client = new AttestationClient(new Uri(Attestation.Issuer), ClientOptions);
            AttestationResult result = await client.AttestSgxEnclaveAsync(quote, nonce: Convert.ToHexStringLower(nonce), cancellationToken: cancellationToken);
            Detail($"It verified the quote and issued an {result.Jwt.Alg} token (kid {result.Jwt.Kid}), validated against its /certs:");
            Detail($"  x-ms-sgx-mrenclave {result.Claims["x-ms-sgx-mrenclave"]}, x-ms-sgx-product-id {result.Claims["x-ms-sgx-product-id"]}, x-ms-sgx-is-debuggable {result.Claims["x-ms-sgx-is-debuggable"].ToString()!.ToLowerInvariant()}");
            Detail($"  hello-svn {result.Claims["hello-svn"]} (issued by the policy), nonce matches {(string)result.Claims["nonce"] == Convert.ToHexStringLower(nonce)}");
        }

        /// <summary>The key owner stores a key under a release policy; the enclave gets it over attested TLS.</summary>
        public async Task ReleaseKeyAsync(IHelloEnclave enclave, string enclaveSigner, CancellationToken cancellationToken)
        {
            await ImportKeyAsync("demo-key", DemoKey, new JsonObject { ["claim"] = "x-ms-sgx-mrsigner", ["equals"] = enclaveSigner }, cancellationToken);
            Step(7, $"A key broker at {Broker.Url} (Key Vault SKR semantics, on its own enclave) holds an AES-256 key 'demo-key' releasable only to MRSIGNER {enclaveSigner[..16]}...");
            string attestationPem = await File.ReadAllTextAsync(Attestation.TlsCertificatePath, cancellationToken);
            KeyReleaseOutcome outcome = await enclave.ReleaseKeyAsync(new KeyReleaseRequest(Broker.Url, KeyBrokerIdentity.Simulated().UniqueIdHex, Attestation.Issuer, attestationPem, "demo-key"), cancellationToken);
            string expected = Convert.ToHexStringLower(HMACSHA256.HashData(DemoKey, "hello-enclave key check"u8));
            Detail($"The enclave checked the broker over attested TLS ({outcome.BrokerVerifiedAs}), attested itself with a fresh RSA key,");
            Detail($"and unwrapped the key inside: key check value matches the owner's = {outcome.KeyCheck == expected} (the host never saw the key).");
            string audit = (await File.ReadAllLinesAsync(Broker.AuditLogPath, cancellationToken)).Last(line => line.Contains("release", StringComparison.OrdinalIgnoreCase));
            Detail($"Broker audit: {(audit.Length > 160 ? audit[..160] + "..." : audit)}");
        }

        /// <summary>
        /// The confidential inference: the key owner encrypts a model and gives its key to the broker
        /// for the inference enclave only; the host launches the signed inference package, which gets
        /// the key released, decrypts the model inside and serves it over attested TLS; a client
        /// verifies the enclave, then infers.
        /// </summary>
        public async Task InferAsync(string work, RSA signingKey, CancellationToken cancellationToken)
        {
            // Signed with the demo's key, so the operator's policy (MRSIGNER) already admits it.
            string package = Path.Combine(work, "inference-enclave");
            CopyDirectory(Path.Combine(AppContext.BaseDirectory, "inference-enclave"), package);
            EnclavePackageIdentity inference = EnclavePackage.Sign(package, signingKey);

            byte[] modelKey = Confide.Inference.Encryption.ModelEncryption.GenerateKey();
            string repository = Path.Combine(work, "models");
            Directory.CreateDirectory(Path.Combine(repository, "demo", "1"));
            await File.WriteAllBytesAsync(Path.Combine(repository, "demo", "1", Confide.Inference.Models.ModelRepository.EncryptedFileName), Confide.Inference.Encryption.ModelEncryption.Encrypt(DemoModel.Build(), modelKey), cancellationToken);
            await ImportKeyAsync("demo", modelKey, new JsonObject { ["claim"] = "x-ms-sgx-mrenclave", ["equals"] = inference.MrEnclaveHex }, cancellationToken);
            CryptographicOperations.ZeroMemory(modelKey);
            Step(11, "Confidential inference: an ONNX model encrypted with AES-256-GCM; its key sits in the broker, releasable only to the signed inference");
            Detail($"enclave package (MRENCLAVE {inference.MrEnclaveHex[..16]}..., ONNX Runtime's native library among its measured files).");

            var output = new EnclaveOutputLines();
            var options = new EnclaveHostOptions { Tee = TeeBackend.Simulation, StandardOutput = output };
            foreach (string argument in (string[])[
                "--models", repository, "--urls", "https://127.0.0.1:0", "--grpc-urls", "none", "--metrics-urls", "none",
                "--data-dir", Path.Combine(work, "inference-data"), "--allow-simulation", "--attested-tls",
                "--key-broker", Broker.Url, "--key-broker-enclave", KeyBrokerIdentity.Simulated().UniqueIdHex,
                "--attestation-url", Attestation.Issuer, "--attestation-ca", Attestation.TlsCertificatePath])
            {
                options.Arguments.Add(argument);
            }

            await using EnclaveHost server = await EnclaveHost.LaunchAsync(package, options, cancellationToken);
            Uri rest = new(await output.WaitForAsync(InferenceServeCommand.RestLinePrefix, server, TimeSpan.FromSeconds(60), cancellationToken));
            Detail($"The host verified and launched it as process {server.ProcessId}; inside, it checked the broker, got the key released, decrypted the");
            Detail($"model, and serves KServe v2 at {rest} with TLS ending in the enclave (attested TLS).");

            using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate();
            var policy = new AttestedTlsPolicy { UniqueId = inference.MrEnclave, AllowSimulation = true, Collateral = new SimulatedCollateralProvider(platform) };
            policy.Verifier.SimulationRoots.Add(X509CertificateLoader.LoadCertificate(platform.RootCertificate.RawData));
            using var client = new Confide.Inference.Client.InferenceClient(rest, new Confide.Inference.Client.InferenceClientOptions { Verifier = new AttestedCertificateVerifier(policy) });
            float[] x = [1f, 2f, 3f, 4f, -1f, 0.5f, 2f, -3f];
            var request = new JsonObject
            {
                ["inputs"] = new JsonArray(new JsonObject { ["name"] = "x", ["shape"] = new JsonArray(2, DemoModel.Inputs), ["datatype"] = "FP32", ["data"] = new JsonArray([.. x.Select(v => (JsonNode)v)]) }),
            };
            JsonObject answer = await client.InferAsync("demo", request, cancellationToken: cancellationToken);
            float[] y = [.. answer["outputs"]!.AsArray().Single(o => (string?)o!["name"] == "y")!["data"]!.AsArray().Select(v => (float)v!)];
            Detail($"A client verified the enclave in the TLS handshake ({client.Server?.Kind}, MRENCLAVE {client.Server?.UniqueIdHex[..16]}...), then sent x = [[1, 2, 3, 4], [-1, 0.5, 2, -3]]:");
            Detail($"y = [{string.Join(", ", y.Select(v => v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)))}]; equals the model computed in plain C#: {y.SequenceEqual(DemoModel.Evaluate(x))}");
        }

        private AttestedCertificateVerifier BrokerVerifier(AttestationClient attestation)
        {
            var brokerPolicy = new AttestedTlsPolicy { UniqueId = KeyBrokerIdentity.Simulated().UniqueId };
            brokerPolicy.TrustedAttestationServices.Add(attestation);
            return new AttestedCertificateVerifier(brokerPolicy);
        }

        /// <summary>The key owner imports a key over attested TLS to the broker (checked first), with a release policy.</summary>
        private async Task ImportKeyAsync(string name, byte[] key, JsonObject identityCondition, CancellationToken cancellationToken)
        {
            var releasePolicy = new JsonObject
            {
                ["version"] = "1.0.0",
                ["anyOf"] = new JsonArray(new JsonObject
                {
                    ["authority"] = Attestation.Issuer,
                    ["allOf"] = new JsonArray(identityCondition, new JsonObject { ["claim"] = "x-ms-sgx-is-debuggable", ["equals"] = false }),
                }),
            };
            var import = new JsonObject
            {
                ["key"] = new JsonObject { ["kty"] = "oct-HSM", ["k"] = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(key) },
                ["attributes"] = new JsonObject { ["exportable"] = true },
                ["release_policy"] = new JsonObject
                {
                    ["contentType"] = "application/json; charset=utf-8",
                    ["data"] = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(releasePolicy.ToJsonString()),
                },
            };
            using var attestation = new AttestationClient(new Uri(Attestation.Issuer), ClientOptions);
            using var owner = new HttpClient(new SocketsHttpHandler().UseAttestedTls(BrokerVerifier(attestation)));
            using var request = new HttpRequestMessage(HttpMethod.Put, $"{Broker.Url}/keys/{name}?api-version=7.4") { Content = JsonContent.Create(import) };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", OperatorToken(KeyBrokerOptions.DefaultAdminAudience));
            using HttpResponseMessage imported = await owner.SendAsync(request, cancellationToken);
            if (!imported.IsSuccessStatusCode)
            {
                throw new IOException($"The key broker refused the import of '{name}': {await imported.Content.ReadAsStringAsync(cancellationToken)}");
            }
        }

        /// <summary>A bearer token for the demo's operator (what <c>confide attestation admin-token</c> prints).</summary>
        private string OperatorToken(string audience) =>
            new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
            {
                Issuer = OperatorIssuer,
                Audience = audience,
                Expires = DateTime.UtcNow.AddMinutes(10),
                SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(new Microsoft.IdentityModel.Tokens.ECDsaSecurityKey(OperatorKey), Microsoft.IdentityModel.Tokens.SecurityAlgorithms.EcdsaSha256),
            });

        public async ValueTask DisposeAsync()
        {
            for (int i = _async.Count - 1; i >= 0; i--)
            {
                await _async[i].DisposeAsync();
            }

            for (int i = _owned.Count - 1; i >= 0; i--)
            {
                _owned[i].Dispose();
            }

            CryptographicOperations.ZeroMemory(DemoKey);
        }
    }
}
