using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.AttestationService.Http;
using Confide.AttestationService.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Confide.AttestationService.Tests;

/// <summary>The attestation service on Kestrel, HTTPS on 127.0.0.1 with a port chosen at run time.</summary>
internal sealed class ServiceHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly X509Certificate2 _tlsCertificate;

    private ServiceHost(WebApplication app, X509Certificate2 tlsCertificate, AttestationTokenSigner signer, Uri address)
    {
        _app = app;
        _tlsCertificate = tlsCertificate;
        Signer = signer;
        Client = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHash().AsSpan().SequenceEqual(tlsCertificate.GetCertHash()) },
        })
        { BaseAddress = address };
    }

    public const string Issuer = "https://attest.test";

    public AttestationTokenSigner Signer { get; }

    public HttpClient Client { get; }

    public static async Task<ServiceHost> StartAsync(AttestationServiceOptions options)
    {
        X509Certificate2 tls = CreateTlsCertificate();
        AttestationTokenSigner signer = AttestationTokenSigner.Create(Issuer, options.Verifier.TimeProvider);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(tls)));
        WebApplication app = builder.Build();
        app.MapAttestation(new AttestationEngine(options, signer), signer, options);
        await app.StartAsync();
        return new ServiceHost(app, tls, signer, new Uri(app.Urls.Single()));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Signer.Dispose();
        _tlsCertificate.Dispose();
    }

    private static X509Certificate2 CreateTlsCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }
}
