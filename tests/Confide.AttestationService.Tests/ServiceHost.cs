using System.Security.Cryptography.X509Certificates;
using Confide.AttestationService.Hosting;

namespace Confide.AttestationService.Tests;

/// <summary>
/// The real attestation server (HTTPS on 127.0.0.1, a port chosen at run time) with an HttpClient
/// that trusts exactly its TLS certificate.
/// </summary>
internal sealed class ServiceHost : IAsyncDisposable
{
    private readonly AttestationServer _server;
    private readonly DirectoryInfo _data;

    private ServiceHost(AttestationServer server, DirectoryInfo data, HttpClient client)
    {
        _server = server;
        _data = data;
        Client = client;
    }

    public string Issuer => _server.Issuer;

    public HttpClient Client { get; }

    public static async Task<ServiceHost> StartAsync(AttestationServiceOptions options)
    {
        DirectoryInfo data = Directory.CreateTempSubdirectory("confide-service-");
        AttestationServer server = await AttestationServer.StartAsync(new Uri("https://127.0.0.1:0"), data.FullName, options, TestContext.Current.CancellationToken);
        byte[] pinned = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(server.TlsCertificatePath)).GetCertHash();
        var client = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHash().AsSpan().SequenceEqual(pinned) },
        })
        { BaseAddress = new Uri(server.Issuer) };
        return new ServiceHost(server, data, client);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _server.DisposeAsync();
        _data.Delete(recursive: true);
    }
}
