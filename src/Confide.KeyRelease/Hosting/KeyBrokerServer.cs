using System.Net;
using System.Security.Cryptography.X509Certificates;
using Confide.AttestationService.Hosting;
using Confide.AttestationService.Tokens;
using Confide.KeyRelease.Audit;
using Confide.KeyRelease.Http;
using Confide.KeyRelease.Keys;
using Confide.KeyRelease.Release;
using Confide.Tee.Storage;
using Confide.Tls.Certificates;
using Confide.Tls.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Confide.KeyRelease.Hosting;

/// <summary>
/// The key broker on Kestrel over HTTPS. Its data directory holds the TLS certificate
/// (<c>tls.pfx</c>/<c>tls.pem</c>, self-signed, for clients to pin), the sealed key versions
/// (<c>keys/</c>), the sealed response-signing key (<c>signing-keys/</c>) and its certificate
/// (<c>signing-certificate.pem</c>), and <c>audit.log</c>.
/// Its URL (port 0 resolved) is its identity: key ids and the signing certificate's subject use it.
/// </summary>
public sealed class KeyBrokerServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly AttestationTokenSigner _signer;
    private readonly AttestationTokenVerifier _verifier;
    private readonly AuditLog _audit;

    private KeyBrokerServer(WebApplication app, string url, string tlsCertificatePath, KeyStore keys, AttestationTokenSigner signer, AttestationTokenVerifier verifier, AuditLog audit)
    {
        _app = app;
        Url = url;
        TlsCertificatePath = tlsCertificatePath;
        Keys = keys;
        _signer = signer;
        _verifier = verifier;
        _audit = audit;
    }

    /// <summary>The broker's base URL, without a trailing slash.</summary>
    public string Url { get; }

    /// <summary>PEM of the TLS certificate, for clients to trust.</summary>
    public string TlsCertificatePath { get; }

    /// <summary>The certificate of the key that signs release responses (in their <c>x5c</c>); clients trust it to accept a release.</summary>
    public X509Certificate2 SigningCertificate => _signer.Current.Certificate;

    /// <summary>PEM of <see cref="SigningCertificate"/> (<c>signing-certificate.pem</c>, rewritten at every start), for clients to trust.</summary>
    public string SigningCertificatePath { get; private init; } = string.Empty;

    /// <summary>Where the audit trail is appended.</summary>
    public string AuditLogPath => _audit.Path;

    public KeyStore Keys { get; }

    /// <summary>Starts listening on <paramref name="url"/> (https, an IP address; port 0 picks a free port).</summary>
    /// <exception cref="ArgumentException">The URL is not https with an IP address, or the TEE is simulated and <see cref="KeyBrokerOptions.AllowSimulation"/> is off.</exception>
    /// <exception cref="InvalidDataException">A stored key or signing key cannot be unsealed (another identity, or tampered) or is malformed.</exception>
    public static async Task<KeyBrokerServer> StartAsync(Uri url, string dataDirectory, KeyBrokerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        IPAddress address = HttpsHosting.ListenAddress(url);
        if (options.Tee.IsSimulated && !options.AllowSimulation)
        {
            throw new ArgumentException("The key broker is on the simulation TEE, whose sealing protects nothing; allow it explicitly (KeyBrokerOptions.AllowSimulation, --allow-simulation) for development only.", nameof(options));
        }

        Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        (X509Certificate2 tls, string pemPath) = HttpsHosting.LoadOrCreateTlsCertificate(dataDirectory, address);
        int port = url.Port != 0 ? url.Port : HttpsHosting.FreePort(address);
        string brokerUrl = new UriBuilder(Uri.UriSchemeHttps, url.Host, port).Uri.ToString().TrimEnd('/');

        // Made first: its memory of used nonces must start before any earlier incarnation's could end.
        var nonces = new NonceCache(options.Clock);
        var owned = new List<IDisposable>();
        try
        {
            KeyStore keys = KeyStore.Open(Path.Combine(dataDirectory, "keys"), options.Tee);
            owned.Add(keys);
            AttestationTokenSigner signer = await SigningKeyStore.OpenSignerAsync(Path.Combine(dataDirectory, "signing-keys"), brokerUrl, options.Tee, options.Clock, cancellationToken).ConfigureAwait(false);
            owned.Add(signer);
            var audit = new AuditLog(Path.Combine(dataDirectory, "audit.log"), options.Clock);
            owned.Add(audit);
            var verifier = new AttestationTokenVerifier(options.TrustedAuthorities, options.Clock, options.ClockSkew, options.KeyRefreshInterval);
            owned.Add(verifier);

            var management = new KeyManagement(keys, audit, options.Clock, brokerUrl);
            var release = new KeyReleaseEngine(keys, verifier, nonces, signer, audit, brokerUrl, options.RequireNonce, options.ClockSkew);

            AttestedCertificateProvider? attestedTls = await AttestedTlsAsync(options, signer, cancellationToken).ConfigureAwait(false);
            if (attestedTls is not null)
            {
                owned.Add(attestedTls);
            }

            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, port, listen =>
            {
                if (attestedTls is not null)
                {
                    listen.UseAttestedTls(attestedTls);
                }
                else
                {
                    listen.UseHttps(tls);
                }
            }));
            builder.Services.AddAdminAuthentication(options.AdminAuthentication, KeyBrokerEndpoints.AdminPolicyName, KeyBrokerEndpoints.WriteUnauthorizedAsync, KeyBrokerEndpoints.WriteForbiddenAsync);
            WebApplication app = builder.Build();
            app.UseAuthentication();
            app.UseAuthorization();
            app.MapKeyBroker(management, release, options.MaxRequestBytes);
            string signingPem = Path.Combine(dataDirectory, "signing-certificate.pem");
            DurableFile.WriteAllBytes(signingPem, System.Text.Encoding.ASCII.GetBytes(signer.Current.Certificate.ExportCertificatePem()));
            await Task.Delay(nonces.UntilMemoryStarts, cancellationToken).ConfigureAwait(false);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            return new KeyBrokerServer(app, brokerUrl, pemPath, keys, signer, verifier, audit) { SigningCertificatePath = signingPem, AttestedTlsCertificate = attestedTls };
        }
        catch
        {
            owned.ForEach(o => o.Dispose());
            throw;
        }
    }

    /// <summary>The attested TLS certificate, in the attested modes.</summary>
    public AttestedCertificateProvider? AttestedTlsCertificate { get; private init; }

    private static async Task<AttestedCertificateProvider?> AttestedTlsAsync(KeyBrokerOptions options, AttestationTokenSigner signer, CancellationToken cancellationToken)
    {
        switch (options.TlsMode)
        {
            case BrokerTlsMode.AttestedEvidence:
                return await AttestedCertificateProvider.CreateAsync(options.Tee, cancellationToken: cancellationToken).ConfigureAwait(false);
            case BrokerTlsMode.AttestedToken:
                Confide.AttestationService.Client.AttestationClient attestation = options.TlsAttestation
                    ?? throw new ArgumentException("BrokerTlsMode.AttestedToken needs KeyBrokerOptions.TlsAttestation.", nameof(options));
                var certificateOptions = new AttestedCertificateOptions();
                return await AttestedCertificateProvider.CreateAsync(
                    ct =>
                    {
                        // The response-signing key rides in the same token, so a client that verified
                        // the TLS certificate also knows the key that signs releases.
                        using System.Security.Cryptography.RSA signing = signer.Current.Certificate.GetRSAPublicKey()!;
                        var signingKey = AttestedCertificate.RsaJwk(signing.ExportParameters(includePrivateParameters: false));
                        return AttestedCertificate.CreateWithTokenAsync(options.Tee, attestation, certificateOptions, [signingKey], ct);
                    },
                    certificateOptions,
                    cancellationToken).ConfigureAwait(false);
            default:
                return null;
        }
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _verifier.Dispose();
        _audit.Dispose();
        _signer.Dispose();
        AttestedTlsCertificate?.Dispose();
        Keys.Dispose();
    }
}
