using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Confide.AttestationService;
using Confide.KeyRelease;
using Confide.KeyRelease.Hosting;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Cli.Commands;

/// <summary><c>confide keys serve</c>: the key broker (Azure Key Vault Secure Key Release semantics).</summary>
internal static class KeyBrokerCommands
{
    public static Command Create()
    {
        var command = new Command("keys", "The key broker: keys released only to attested enclaves, under release policies (Azure Key Vault SKR compatible).");
        command.Subcommands.Add(Serve());
        return command;
    }

    private static Command Serve()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen (https, an IP address; port 0 picks a free one).", DefaultValueFactory = _ => "https://127.0.0.1:8444" };
        var dataDirectory = new Option<string?>("--data-dir") { Description = "Where the broker keeps its TLS certificate, sealed keys, signing key and audit.log (default: the per-user state directory)." };
        var tee = new Option<string>("--tee") { Description = "The TEE the broker runs in, which seals its keys: auto (default), simulation, sgx-gramine or tsm.", DefaultValueFactory = _ => "auto" };
        var allowSimulation = new Option<bool>("--allow-simulation") { Description = "Run on the simulation TEE, whose sealing protects nothing (development only)." };
        var adminIssuer = new Option<string?>("--admin-issuer") { Description = "Issuer (iss) of the bearer tokens the key-management API accepts. Without it and --admin-key nobody can manage keys." };
        var adminKeys = new Option<string[]>("--admin-key") { Description = "PEM file of a certificate or public key that signs administrators' bearer tokens (repeatable).", AllowMultipleArgumentsPerToken = false };
        var adminAudience = new Option<string>("--admin-audience") { Description = "Audience (aud) the bearer tokens must carry.", DefaultValueFactory = _ => KeyBrokerOptions.DefaultAdminAudience };
        var authorities = new Option<string[]>("--trusted-authority") { Description = "An attestation authority (https URL, the tokens' iss) whose tokens can release keys (repeatable).", AllowMultipleArgumentsPerToken = false };
        var authorityCas = new Option<string[]>("--authority-ca") { Description = "PEM certificate the authorities' TLS must chain to: one for all, or one per --trusted-authority in the same order.", AllowMultipleArgumentsPerToken = false };
        var tls = new Option<string>("--tls") { Description = "The broker's TLS certificate: self-signed (clients pin tls.pem), attested (carries the broker's evidence) or attested-token (carries a token from the first --trusted-authority).", DefaultValueFactory = _ => "self-signed" };
        var command = new Command("serve", "Serve the key broker REST API over HTTPS until stopped (Ctrl+C).")
        {
            urls, dataDirectory, tee, allowSimulation, adminIssuer, adminKeys, adminAudience, authorities, authorityCas, tls,
        };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            var admin = new AdminAuthenticationOptions { Issuer = result.GetValue(adminIssuer), Audience = result.GetValue(adminAudience)! };
            foreach (string file in result.GetValue(adminKeys) ?? [])
            {
                admin.SigningKeys.Add(AdminKeys.LoadPublicKey(file));
            }

            IList<TrustedAuthority> trusted = TrustedAuthorities(result.GetValue(authorities) ?? [], result.GetValue(authorityCas) ?? []);
            using ITee brokerTee = await new TeeOptions { Backend = TeeOptions.ParseBackend(result.GetValue(tee)) }.CreateAsync(KeyBrokerIdentity.Simulated, cancellationToken);
            BrokerTlsMode tlsMode = result.GetValue(tls) switch
            {
                "self-signed" => BrokerTlsMode.SelfSigned,
                "attested" => BrokerTlsMode.AttestedEvidence,
                "attested-token" => BrokerTlsMode.AttestedToken,
                var other => throw new ArgumentException($"--tls '{other}': use self-signed, attested or attested-token."),
            };
            using Confide.AttestationService.Client.AttestationClient? tlsAttestation = tlsMode == BrokerTlsMode.AttestedToken
                ? TlsAttestation(trusted.FirstOrDefault() ?? throw new ArgumentException("--tls attested-token needs a --trusted-authority to attest the broker."))
                : null;
            var options = new KeyBrokerOptions
            {
                Tee = brokerTee,
                AllowSimulation = result.GetValue(allowSimulation),
                AdminAuthentication = admin,
                TrustedAuthorities = trusted,
                TlsMode = tlsMode,
                TlsAttestation = tlsAttestation,
            };
            string data = result.GetValue(dataDirectory) ?? Path.Combine(Path.GetDirectoryName(SimulatedPlatform.DefaultStateDirectory)!, "key-broker");
            KeyBrokerServer server;
            try
            {
                server = await KeyBrokerServer.StartAsync(new Uri(result.GetValue(urls)!), data, options, cancellationToken);
            }
            catch (InvalidDataException ex)
            {
                // A key store the broker cannot fully read: say which file and why, and do not serve.
                Console.Error.WriteLine($"confide: {ex.Message}");
                return CliErrors.Failure;
            }

            await using (server)
            {
                Console.WriteLine($"key broker: {server.Url}");
                Console.WriteLine(tlsMode == BrokerTlsMode.SelfSigned ? $"tls certificate: {server.TlsCertificatePath}" : $"tls: attested ({result.GetValue(tls)}); clients verify the broker's enclave, mrenclave {brokerTee.Identity.UniqueIdHex}");
                Console.WriteLine($"signing certificate: {server.SigningCertificatePath} (release responses are signed with it; sealed by the {brokerTee.Kind} TEE)");
                Console.WriteLine($"keys: {server.Keys.Names.Count}; audit log: {server.AuditLogPath}");
                Console.WriteLine(trusted.Count > 0 ? $"trusted authorities: {string.Join(", ", trusted)}" : "trusted authorities: none (no key can be released)");
                Console.WriteLine(admin.IsConfigured ? $"administrators: bearer tokens from {admin.Issuer}" : "administrators: none configured (the key-management API refuses every call)");
                Console.Out.Flush();
                await server.WaitForShutdownAsync(cancellationToken);
                return 0;
            }
        }));
        return command;
    }

    /// <summary>A client of the authority that attests the broker's TLS key, trusting its TLS as the release path does.</summary>
    private static Confide.AttestationService.Client.AttestationClient TlsAttestation(TrustedAuthority authority) =>
        new(new Uri(authority.Issuer), new Confide.AttestationService.Client.AttestationClientOptions { HttpClient = new HttpClient(authority.CreateHandler()) });

    /// <summary>Pairs authorities with CA certificates: none, one for all, or one each in order.</summary>
    private static List<TrustedAuthority> TrustedAuthorities(string[] urls, string[] caFiles)
    {
        if (caFiles.Length > 1 && caFiles.Length != urls.Length)
        {
            throw new ArgumentException($"--authority-ca is given {caFiles.Length} times for {urls.Length} --trusted-authority: give it once (for all) or once per authority, in the same order.");
        }

        X509Certificate2[] cas = [.. caFiles.Select(X509CertificateLoader.LoadCertificateFromFile)];
        var trusted = new List<TrustedAuthority>();
        for (int i = 0; i < urls.Length; i++)
        {
            if (!Uri.TryCreate(urls[i], UriKind.Absolute, out Uri? url))
            {
                throw new ArgumentException($"--trusted-authority '{urls[i]}' is not an absolute URL.");
            }

            trusted.Add(new TrustedAuthority(url, cas.Length == 0 ? null : cas[Math.Min(i, cas.Length - 1)]));
        }

        return trusted;
    }
}
