using System.CommandLine;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Confide.Attestation.Verification;
using Confide.AttestationService;
using Confide.AttestationService.Client;
using Confide.AttestationService.Hosting;
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
                await AttestAsync(evidence.Evidence, nonce, cancellationToken);

                byte[] sealedSecret = await enclave.Calls.SealSecretAsync("correct horse battery staple", uniqueToThisBuild: false, cancellationToken);
                bool opens = await enclave.Calls.CheckSecretAsync(sealedSecret, "correct horse battery staple", cancellationToken);
                Step(7, $"Sealed a secret inside the enclave: the host holds only a {sealedSecret.Length}-byte blob; unsealed inside and matched: {opens}.");

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

            Step(8, "The host closed the channel; the enclave exited.");

            await File.AppendAllTextAsync(Path.Combine(package, "HelloEnclave.Contract.dll"), "tampered", cancellationToken);
            try
            {
                await using EnclaveHost<IHelloEnclave> refused = await EnclaveHost.LaunchAsync<IHelloEnclave>(package, options, cancellationToken);
                Detail("UNEXPECTED: a tampered package was launched.");
                return CliErrors.Failure;
            }
            catch (EnclavePackageException ex)
            {
                Step(9, $"After changing one file, the host refuses to launch: {ex.Message}");
            }

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

    /// <summary>
    /// Attests the evidence with an attestation service started for the demo (HTTPS on a free
    /// loopback port, simulation allowed): an operator first sets a policy that admits only this
    /// enclave's signer, then the token is validated strictly by the C# client.
    /// </summary>
    private static async Task AttestAsync(byte[] quote, byte[] nonce, CancellationToken cancellationToken)
    {
        using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate();
        using var operatorKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(X509CertificateLoader.LoadCertificate(platform.RootCertificate.RawData));
        var admin = new AdminAuthenticationOptions { Issuer = "https://operator.demo.invalid" };
        admin.SigningKeys.Add(new Microsoft.IdentityModel.Tokens.ECDsaSecurityKey(operatorKey));
        var options = new AttestationServiceOptions { Collateral = new SimulatedCollateralProvider(platform), Verifier = verifier, AllowSimulation = true, AdminAuthentication = admin };
        string data = Directory.CreateTempSubdirectory("confide-demo-attestation-").FullName;
        try
        {
            await using AttestationServer server = await AttestationServer.StartAsync(new Uri("https://127.0.0.1:0"), data, options, cancellationToken);
            using X509Certificate2 tls = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(server.TlsCertificatePath, cancellationToken));
            var clientOptions = new AttestationClientOptions
            {
                HttpClient = new HttpClient(new SocketsHttpHandler
                {
                    SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHash().AsSpan().SequenceEqual(tls.GetCertHash()) },
                }),
            };

            string mrSigner = Convert.ToHexStringLower(Quote.Parse(quote).SgxBody!.MrSigner);
            string policy = $$"""
                version= 1.0;
                authorizationrules {
                    [type=="x-ms-sgx-mrsigner", value=="{{mrSigner}}"] && [type=="x-ms-sgx-is-debuggable", value==false] => permit();
                };
                issuancerules {
                    c:[type=="x-ms-sgx-svn"] => issue(type="hello-svn", value=c.value);
                };
                """;
            string operatorToken = OperatorToken(operatorKey, admin.Issuer);
            using (var administration = new AttestationAdministrationClient(new Uri(server.Issuer), _ => ValueTask.FromResult(operatorToken), clientOptions))
            {
                PolicyModificationResult set = await administration.SetPolicyAsync(Confide.AttestationService.Policies.AttestationType.SgxEnclave, policy, cancellationToken: cancellationToken);
                Detail($"An attestation service at {server.Issuer} (Azure Attestation API); its operator set a policy that permits only MRSIGNER {mrSigner[..16]}... ({set.PolicyResult}).");
            }

            using var client = new AttestationClient(new Uri(server.Issuer), clientOptions);
            AttestationResult result = await client.AttestSgxEnclaveAsync(quote, nonce: Convert.ToHexStringLower(nonce), cancellationToken: cancellationToken);
            Detail($"It verified the quote and issued an {result.Jwt.Alg} token (kid {result.Jwt.Kid}), validated against its /certs:");
            Detail($"  x-ms-sgx-mrenclave {result.Claims["x-ms-sgx-mrenclave"]}, x-ms-sgx-product-id {result.Claims["x-ms-sgx-product-id"]}, x-ms-sgx-is-debuggable {result.Claims["x-ms-sgx-is-debuggable"].ToString()!.ToLowerInvariant()}");
            Detail($"  hello-svn {result.Claims["hello-svn"]} (issued by the policy), nonce matches {(string)result.Claims["nonce"] == Convert.ToHexStringLower(nonce)}");
        }
        catch (AttestationClientException ex)
        {
            Detail($"The attestation service refused: {ex.ErrorCode}: {ex.Message}");
            throw;
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>A bearer token for the demo's operator (what <c>confide attestation admin-token</c> prints).</summary>
    private static string OperatorToken(ECDsa key, string issuer) =>
        new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = AdminAuthenticationOptions.DefaultAudience,
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(new Microsoft.IdentityModel.Tokens.ECDsaSecurityKey(key), Microsoft.IdentityModel.Tokens.SecurityAlgorithms.EcdsaSha256),
        });

    private static void Step(int number, string text) => Console.WriteLine($"{number}. {text}");

    private static void Detail(string text) => Console.WriteLine($"   {text}");

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (string file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)));
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
}
