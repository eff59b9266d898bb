using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.AttestationService.Client;
using Confide.Inference.Client;
using Confide.Tee.Simulation;
using Confide.Tls.Verification;

namespace Confide.Cli.Commands;

/// <summary>
/// <c>confide infer</c>: one Open Inference Protocol request to a confidential inference server,
/// sent only after the server's enclave is verified; prints the answer as JSON.
/// </summary>
internal static class InferCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "The server (https://host:port).", Required = true };
        var model = new Option<string>("--model") { Description = "The model name.", Required = true };
        var version = new Option<string?>("--version") { Description = "The model version (default: the server's choice)." };
        var input = new Option<string>("--input") { Description = "A KServe v2 inference request (JSON file: {\"inputs\":[{\"name\",\"shape\",\"datatype\",\"data\"}]}).", Required = true };
        var enclave = new Option<string?>("--expect-enclave") { Description = "The server's MRENCLAVE (hex)." };
        var signer = new Option<string?>("--expect-signer") { Description = "The server's MRSIGNER (hex); with --expect-product and --min-svn." };
        var product = new Option<ushort>("--expect-product") { Description = "The server's product id (with --expect-signer).", DefaultValueFactory = _ => 1 };
        var minimumSvn = new Option<ushort>("--min-svn") { Description = "The server's minimum security version (with --expect-signer)." };
        var endToEnd = new Option<bool>("--e2e") { Description = "Send end-to-end encrypted messages (for a TLS-terminating ingress) instead of attested TLS." };
        var allowSimulation = new Option<bool>("--allow-simulation") { Description = "Accept a server on this machine's simulation TEE (development only)." };
        var allowDebug = new Option<bool>("--allow-debug") { Description = "Accept a debug enclave (development only)." };
        var collateral = new Option<string?>("--collateral") { Description = "Collateral for the server's evidence: a JSON file, a folder, or a PCS/PCCS base URL (default with --allow-simulation: this machine's simulated platform)." };
        var attestationUrl = new Option<string?>("--attestation-url") { Description = "Trust tokens from this attestation service (token-mode servers)." };
        var attestationCa = new Option<string?>("--attestation-ca") { Description = "PEM certificate of the attestation service's TLS." };
        var command = new Command("infer", "Send one inference request to a confidential inference server after verifying its enclave; print the answer as JSON.")
        {
            url, model, version, input, enclave, signer, product, minimumSvn, endToEnd, allowSimulation, allowDebug, collateral, attestationUrl, attestationCa,
        };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            var policy = new AttestedTlsPolicy
            {
                UniqueId = result.GetValue(enclave) is { } e ? Convert.FromHexString(e) : null,
                SignerId = result.GetValue(signer) is { } s ? Convert.FromHexString(s) : null,
                ProductId = result.GetValue(signer) is null ? null : result.GetValue(product),
                MinimumSecurityVersion = result.GetValue(minimumSvn),
                AllowDebug = result.GetValue(allowDebug),
                AllowSimulation = result.GetValue(allowSimulation),
            };
            if (policy.UniqueId is null && policy.SignerId is null)
            {
                throw new ArgumentException("Name the server's enclave: --expect-enclave HEX, or --expect-signer HEX (with --expect-product, --min-svn).");
            }

            using SimulatedPlatform? platform = policy.AllowSimulation && result.GetValue(collateral) is null ? SimulatedPlatform.OpenOrCreate() : null;
            using ICollateralProviderLease? lease = result.GetValue(collateral) is { } source ? CollateralSource.Open(source) : null;
            policy.Collateral = lease?.Provider ?? (platform is not null ? new SimulatedCollateralProvider(platform) : null);
            if (platform is not null)
            {
                policy.Verifier.SimulationRoots.Add(X509CertificateLoader.LoadCertificate(platform.RootCertificate.RawData));
            }

            using HttpClient? attestationHttp = result.GetValue(attestationUrl) is null ? null : Confide.AttestationService.Hosting.HttpsHosting.PinnedClient(result.GetValue(attestationCa));
            if (result.GetValue(attestationUrl) is { } service)
            {
                policy.TrustedAttestationServices.Add(new AttestationClient(new Uri(service), new AttestationClientOptions { HttpClient = attestationHttp }));
            }

            if (policy.Collateral is null && policy.TrustedAttestationServices.Count == 0)
            {
                throw new ArgumentException("Give --collateral (or --allow-simulation) to verify evidence, or --attestation-url to trust an attestation service's tokens.");
            }

            JsonObject request = JsonNode.Parse(await File.ReadAllTextAsync(result.GetValue(input)!, cancellationToken)) as JsonObject
                ?? throw new ArgumentException("--input must hold a JSON object (a KServe v2 inference request).");
            using var client = new InferenceClient(new Uri(result.GetValue(url)!), new InferenceClientOptions
            {
                Verifier = new AttestedCertificateVerifier(policy),
                EndToEnd = result.GetValue(endToEnd),
            });
            try
            {
                JsonObject answer = await client.InferAsync(result.GetValue(model)!, request, result.GetValue(version), cancellationToken);
                Console.Error.WriteLine($"verified server enclave {client.Server?.UniqueIdHex} ({client.Server?.Kind}){(result.GetValue(endToEnd) ? ", end-to-end encrypted" : ", attested TLS")}");
                Console.WriteLine(answer.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            catch (InferenceClientException ex)
            {
                Console.Error.WriteLine($"confide: the server refused ({ex.Status}): {ex.Message}");
                return CliErrors.Failure;
            }
            catch (HttpRequestException ex) when (FindReason(ex) is { } reason)
            {
                Console.Error.WriteLine($"confide: the server's enclave was refused before anything was sent: {reason.Error}: {reason.Message}");
                return CliErrors.Failure;
            }
            catch (AttestedTlsException ex)
            {
                Console.Error.WriteLine($"confide: the server's enclave was refused before anything was sent: {ex.Error}: {ex.Message}");
                return CliErrors.Failure;
            }
        }));
        return command;
    }

    private static AttestedTlsException? FindReason(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is AttestedTlsException reason)
            {
                return reason;
            }
        }

        return null;
    }
}
