using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.AttestationService;
using Confide.AttestationService.Hosting;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Cli.Commands;

/// <summary><c>confide attestation serve</c>: the Azure-Attestation-compatible service.</summary>
internal static class AttestationCommands
{
    public static Command Create()
    {
        var command = new Command("attestation", "The attestation service (Microsoft Azure Attestation compatible).");
        command.Subcommands.Add(Serve());
        command.Subcommands.Add(AdminToken());
        return command;
    }

    private static Command AdminToken()
    {
        var key = new Option<string>("--key") { Description = "PEM file of the RSA or EC private key that signs the token.", Required = true };
        var issuer = new Option<string>("--issuer") { Description = "The token's issuer (what the service's --admin-issuer names).", Required = true };
        var audience = new Option<string>("--audience") { Description = "The token's audience.", DefaultValueFactory = _ => AdminAuthenticationOptions.DefaultAudience };
        var lifetime = new Option<int>("--lifetime-minutes") { Description = "How long the token is valid.", DefaultValueFactory = _ => 60 };
        var command = new Command("admin-token", "Print a bearer token for the policy and certificate APIs, signed with an operator's key.") { key, issuer, audience, lifetime };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(() =>
        {
            int minutes = result.GetValue(lifetime);
            if (minutes is < 1 or > 24 * 60)
            {
                throw new ArgumentException("--lifetime-minutes must be between 1 and 1440.");
            }

            Console.WriteLine(AdminKeys.CreateToken(result.GetValue(key)!, result.GetValue(issuer)!, result.GetValue(audience)!, TimeSpan.FromMinutes(minutes)));
            return Task.FromResult(0);
        }));
        return command;
    }

    private static Command Serve()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen (https, an IP address; port 0 picks a free one).", DefaultValueFactory = _ => "https://127.0.0.1:8443" };
        var dataDirectory = new Option<string?>("--data-dir") { Description = "Where the service keeps its TLS certificate (default: the per-user state directory)." };
        var collateral = new Option<string?>("--collateral") { Description = "Collateral: a JSON file, a folder of them, or a PCS/PCCS base URL. Default with --allow-simulation: this machine's simulated platform." };
        var verificationTime = new Option<string?>("--verification-time") { Description = "Pin the clock for collateral validity (RFC 3339), for recorded evidence." };
        var allowSimulation = new Option<bool>("--allow-simulation") { Description = "Accept evidence from this machine's simulated platform." };
        var tee = new Option<string>("--tee") { Description = "The TEE the service runs in, which seals its signing keys: auto (default), simulation, sgx-gramine or tsm.", DefaultValueFactory = _ => "auto" };
        var publicUrl = new Option<string?>("--public-url") { Description = "The https URL clients reach the service at, if not --urls (behind a Kubernetes Service or load balancer): the tokens' issuer." };
        var adminIssuer = new Option<string?>("--admin-issuer") { Description = "Issuer (iss) of the bearer tokens the policy and certificate APIs accept. Without it and --admin-key nobody can manage policies." };
        var adminKeys = new Option<string[]>("--admin-key") { Description = "PEM file of a certificate or public key that signs administrators' bearer tokens (repeatable).", AllowMultipleArgumentsPerToken = false };
        var adminAudience = new Option<string>("--admin-audience") { Description = "Audience (aud) the bearer tokens must carry.", DefaultValueFactory = _ => AdminAuthenticationOptions.DefaultAudience };
        var policySigners = new Option<string[]>("--policy-signer") { Description = "PEM certificate of a policy-management signer; makes a new instance isolated-mode (repeatable; first start only)." };
        var command = new Command("serve", "Serve the attestation REST API over HTTPS until stopped (Ctrl+C).")
        {
            urls, publicUrl, dataDirectory, collateral, verificationTime, allowSimulation, tee, adminIssuer, adminKeys, adminAudience, policySigners,
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
            var admin = new AdminAuthenticationOptions { Issuer = result.GetValue(adminIssuer), Audience = result.GetValue(adminAudience)! };
            foreach (string file in result.GetValue(adminKeys) ?? [])
            {
                admin.SigningKeys.Add(AdminKeys.LoadPublicKey(file));
            }

            using ITee serviceTee = await new TeeOptions { Backend = TeeOptions.ParseBackend(result.GetValue(tee)) }.CreateAsync(ServiceIdentity.Simulated, cancellationToken);
            using (lease)
            {
                var options = new AttestationServiceOptions
                {
                    Collateral = provider,
                    Verifier = verifier,
                    AllowSimulation = simulation,
                    Tee = serviceTee,
                    AdminAuthentication = admin,
                    PublicUrl = result.GetValue(publicUrl) is { } reached ? new Uri(reached) : null,
                    InitialPolicySigners = [.. (result.GetValue(policySigners) ?? []).Select(X509CertificateLoader.LoadCertificateFromFile)],
                };
                string data = result.GetValue(dataDirectory) ?? Path.Combine(Path.GetDirectoryName(SimulatedPlatform.DefaultStateDirectory)!, "attestation");
                await using AttestationServer server = await AttestationServer.StartAsync(new Uri(result.GetValue(urls)!), data, options, cancellationToken);
                Console.WriteLine($"issuer: {server.Issuer}");
                Console.WriteLine($"tls certificate: {server.TlsCertificatePath}");
                Console.WriteLine($"signing key: kid {server.Signer.KeyId} (sealed by the {serviceTee.Kind} TEE)");
                Console.WriteLine(admin.IsConfigured ? $"administrators: bearer tokens from {admin.Issuer}" : "administrators: none configured (policy and certificate APIs refuse every call)");
                Console.Out.Flush();
                await server.WaitForShutdownAsync(cancellationToken);
                return 0;
            }
        }));
        return command;
    }
}
