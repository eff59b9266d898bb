using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.AttestationService.Http;
using Confide.AttestationService.Policies;
using Confide.AttestationService.Tokens;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Extensions.Logging;

namespace Confide.AttestationService.Hosting;

/// <summary>
/// The attestation service on Kestrel over HTTPS. Its TLS certificate (self-signed, for the
/// service's host names) is created in the data directory on first start and reused, so that
/// clients can pin it; its issuer is the URL it listens on.
/// </summary>
public sealed class AttestationServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AttestationServer(WebApplication app, AttestationTokenSigner signer, string issuer, string tlsCertificatePath)
    {
        _app = app;
        Signer = signer;
        Issuer = issuer;
        TlsCertificatePath = tlsCertificatePath;
    }

    public string Issuer { get; }

    /// <summary>PEM of the TLS certificate, for clients to trust.</summary>
    public string TlsCertificatePath { get; }

    public AttestationTokenSigner Signer { get; }

    /// <summary>Starts listening on <paramref name="url"/> (https, an IP address; port 0 picks a free port).</summary>
    public static async Task<AttestationServer> StartAsync(Uri url, string dataDirectory, AttestationServiceOptions options, CancellationToken cancellationToken = default)
    {
        if (url.Scheme != Uri.UriSchemeHttps || !IPAddress.TryParse(url.Host, out IPAddress? address))
        {
            throw new ArgumentException($"'{url}' must be an https URL with an IP address, e.g. https://127.0.0.1:8443.", nameof(url));
        }

        Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        (X509Certificate2 tls, string pemPath) = LoadOrCreateTlsCertificate(dataDirectory, address);

        // The issuer is the URL the service is reached at, so a port 0 is resolved to a free port first.
        int port = url.Port != 0 ? url.Port : FreePort(address);
        string issuer = new UriBuilder(Uri.UriSchemeHttps, url.Host, port).Uri.ToString().TrimEnd('/');
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
            AddAdminAuthentication(builder.Services, options.AdminAuthentication);
            WebApplication app = builder.Build();
            app.UseAuthentication();
            app.UseAuthorization();
            app.MapAttestation(new AttestationEngine(options, signer, policies), signer, management, options);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            return new AttestationServer(app, signer, issuer, pemPath) { Management = management };
        }
        catch
        {
            signer.Dispose();
            throw;
        }
    }

    /// <summary>The policy and policy-certificate operations, for in-process administration.</summary>
    public required PolicyManagement Management { get; init; }

    /// <summary>
    /// Bearer-token validation for the management routes with JwtBearer, against exactly the
    /// configured issuer, audience and keys (no metadata is fetched). Unconfigured, it accepts nothing.
    /// </summary>
    private static void AddAdminAuthentication(IServiceCollection services, AdminAuthenticationOptions admin)
    {
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(bearer =>
        {
            bearer.MapInboundClaims = false;
            bearer.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateIssuer = true,
                ValidIssuer = admin.Issuer ?? string.Empty,
                ValidateAudience = true,
                ValidAudience = admin.Audience,
                ValidateLifetime = true,
                RequireExpirationTime = true,
                RequireSignedTokens = true,
                ValidateIssuerSigningKey = true,
                IssuerSigningKeys = [.. admin.SigningKeys],
                ClockSkew = admin.ClockSkew,
            };
            bearer.Events = new JwtBearerEvents
            {
                OnChallenge = context =>
                {
                    context.HandleResponse();
                    return AttestationEndpoints.WriteUnauthorizedAsync(context.HttpContext);
                },
            };
        });
        services.AddAuthorization(authorization => authorization.AddPolicy(AttestationEndpoints.AdminPolicyName, policy =>
        {
            policy.AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme);
            policy.RequireAuthenticatedUser();
            if (!admin.IsConfigured)
            {
                policy.RequireAssertion(_ => false);
            }
        }));
    }

    private static int FreePort(IPAddress address)
    {
        using var probe = new System.Net.Sockets.TcpListener(address, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        Signer.Dispose();
    }

    private static (X509Certificate2, string) LoadOrCreateTlsCertificate(string dataDirectory, IPAddress address)
    {
        string pfxPath = Path.Combine(dataDirectory, "tls.pfx");
        string pemPath = Path.Combine(dataDirectory, "tls.pem");
        if (File.Exists(pfxPath) && File.Exists(pemPath))
        {
            return (X509CertificateLoader.LoadPkcs12FromFile(pfxPath, null), pemPath);
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={address}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(address);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        byte[] pfx = certificate.Export(X509ContentType.Pfx);
        var ownerOnly = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
        using (var stream = new FileStream(pfxPath, ownerOnly))
        {
            stream.Write(pfx);
        }

        File.WriteAllText(pemPath, certificate.ExportCertificatePem());
        return (X509CertificateLoader.LoadPkcs12(pfx, null), pemPath);
    }
}
