using System.Net;
using System.Security.Cryptography.X509Certificates;
using Confide.AttestationService.Http;
using Confide.AttestationService.Policies;
using Confide.AttestationService.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Confide.AttestationService.Hosting;

/// <summary>
/// The attestation service on Kestrel over HTTPS. Its TLS certificate (self-signed, for the
/// service's host names) is created in the data directory on first start and reused, so that
/// clients can pin it; its issuer is the URL it listens on, or the public URL it is reached at.
/// </summary>
public sealed class AttestationServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AttestationServer(WebApplication app, AttestationTokenSigner signer, string issuer, string listenUrl, string tlsCertificatePath)
    {
        _app = app;
        Signer = signer;
        Issuer = issuer;
        ListenUrl = listenUrl;
        TlsCertificatePath = tlsCertificatePath;
    }

    /// <summary>The tokens' issuer: the public URL, or else the listen URL.</summary>
    public string Issuer { get; }

    /// <summary>Where the service listens (the port resolved).</summary>
    public string ListenUrl { get; }

    /// <summary>PEM of the TLS certificate, for clients to trust.</summary>
    public string TlsCertificatePath { get; }

    public AttestationTokenSigner Signer { get; }

    /// <summary>Starts listening on <paramref name="url"/> (https, an IP address; port 0 picks a free port).</summary>
    public static async Task<AttestationServer> StartAsync(Uri url, string dataDirectory, AttestationServiceOptions options, CancellationToken cancellationToken = default)
    {
        IPAddress address = HttpsHosting.ListenAddress(url);
        Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        (X509Certificate2 tls, string pemPath) = HttpsHosting.LoadOrCreateTlsCertificate(dataDirectory, address);

        // The issuer is the URL the service is reached at, so a port 0 is resolved to a free port first.
        int port = url.Port != 0 ? url.Port : HttpsHosting.FreePort(address);
        if (options.PublicUrl is { } publicUrl && publicUrl.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"The public URL '{publicUrl}' must be https.", nameof(options));
        }

        string issuer = options.PublicUrl?.ToString().TrimEnd('/') ?? new UriBuilder(Uri.UriSchemeHttps, url.Host, port).Uri.ToString().TrimEnd('/');
        AttestationTokenSigner signer = options.Tee is { } tee
            ? await SigningKeyStore.OpenSignerAsync(Path.Combine(dataDirectory, "signing-keys"), issuer, tee, options.Clock, cancellationToken).ConfigureAwait(false)
            : AttestationTokenSigner.Create(issuer, options.Clock);
        try
        {
            var policies = new PolicyStore(Path.Combine(dataDirectory, "policies"));
            var management = new PolicyManagement(policies, new PolicyCertificateStore(dataDirectory, options.InitialPolicySigners), signer, options.Clock);

            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, port, listen => listen.UseHttps(tls)));
            builder.Services.AddAdminAuthentication(options.AdminAuthentication, AttestationEndpoints.AdminPolicyName, AttestationEndpoints.WriteUnauthorizedAsync);
            WebApplication app = builder.Build();
            app.UseAuthentication();
            app.UseAuthorization();
            app.MapAttestation(new AttestationEngine(options, signer, policies), signer, management, options);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            return new AttestationServer(app, signer, issuer, new UriBuilder(Uri.UriSchemeHttps, url.Host, port).Uri.ToString().TrimEnd('/'), pemPath) { Management = management };
        }
        catch
        {
            signer.Dispose();
            throw;
        }
    }

    /// <summary>The policy and policy-certificate operations, for in-process administration.</summary>
    public required PolicyManagement Management { get; init; }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        Signer.Dispose();
    }
}
