using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.AttestationService;
using Confide.AttestationService.Hosting;
using Confide.Tee.Simulation;

namespace Confide.Cli.Commands;

/// <summary><c>confide attestation serve</c>: the Azure-Attestation-compatible service.</summary>
internal static class AttestationCommands
{
    public static Command Create()
    {
        var command = new Command("attestation", "The attestation service (Microsoft Azure Attestation compatible).");
        command.Subcommands.Add(Serve());
        return command;
    }

    private static Command Serve()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen (https, an IP address; port 0 picks a free one).", DefaultValueFactory = _ => "https://127.0.0.1:8443" };
        var dataDirectory = new Option<string?>("--data-dir") { Description = "Where the service keeps its TLS certificate (default: the per-user state directory)." };
        var collateral = new Option<string?>("--collateral") { Description = "Collateral: a JSON file, a folder of them, or a PCS/PCCS base URL. Default with --allow-simulation: this machine's simulated platform." };
        var verificationTime = new Option<string?>("--verification-time") { Description = "Pin the clock for collateral validity (RFC 3339), for recorded evidence." };
        var allowSimulation = new Option<bool>("--allow-simulation") { Description = "Accept evidence from this machine's simulated platform." };
        var command = new Command("serve", "Serve the attestation REST API over HTTPS until stopped (Ctrl+C).")
        {
            urls, dataDirectory, collateral, verificationTime, allowSimulation,
        };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            var verifier = new QuoteVerifierOptions();
            if (result.GetValue(verificationTime) is { } time)
            {
                verifier.TimeProvider = PinnedTimeProvider.Parse(time);
            }

            bool simulation = result.GetValue(allowSimulation);
            using SimulatedPlatform? platform = simulation ? SimulatedPlatform.OpenOrCreate() : null;
            if (platform is not null)
            {
                verifier.SimulationRoots.Add(X509CertificateLoader.LoadCertificate(platform.RootCertificate.RawData));
            }

            ICollateralProviderLease? lease = result.GetValue(collateral) is { } source ? CollateralSource.Open(source) : null;
            ICollateralProvider provider = lease?.Provider
                ?? (platform is not null ? new SimulatedCollateralProvider(platform)
                    : throw new ArgumentException("Give --collateral (a file, folder or PCS/PCCS URL), or --allow-simulation to serve the simulated platform's."));
            using (lease)
            {
                var options = new AttestationServiceOptions { Collateral = provider, Verifier = verifier, AllowSimulation = simulation };
                string data = result.GetValue(dataDirectory) ?? Path.Combine(Path.GetDirectoryName(SimulatedPlatform.DefaultStateDirectory)!, "attestation");
                await using AttestationServer server = await AttestationServer.StartAsync(new Uri(result.GetValue(urls)!), data, options, cancellationToken);
                Console.WriteLine($"issuer: {server.Issuer}");
                Console.WriteLine($"tls certificate: {server.TlsCertificatePath}");
                Console.WriteLine($"signing key: kid {server.Signer.KeyId}");
                Console.Out.Flush();
                await server.WaitForShutdownAsync(cancellationToken);
                return 0;
            }
        }));
        return command;
    }
}
