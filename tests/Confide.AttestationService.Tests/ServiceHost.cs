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
    private readonly DirectoryInfo? _ownedData;

    private ServiceHost(AttestationServer server, DirectoryInfo? ownedData, HttpClient client)
    {
        _server = server;
        _ownedData = ownedData;
        Client = client;
    }

    public string Issuer => _server.Issuer;

    public AttestationServer Server => _server;

    public HttpClient Client { get; }

    /// <param name="dataDirectory">The service's data directory, kept for a restart; default a temporary one deleted on dispose.</param>
    /// <param name="url">Where to listen; default a free port on 127.0.0.1.</param>
    public static async Task<ServiceHost> StartAsync(AttestationServiceOptions options, string? dataDirectory = null, string url = "https://127.0.0.1:0")
    {
        DirectoryInfo? owned = dataDirectory is null ? Directory.CreateTempSubdirectory("confide-service-") : null;
        AttestationServer server = await AttestationServer.StartAsync(new Uri(url), dataDirectory ?? owned!.FullName, options, TestContext.Current.CancellationToken);
        return new ServiceHost(server, owned, CreateClient(server));
    }

    /// <summary>Another client of the service (it trusts exactly the service's TLS certificate), e.g. with other default headers.</summary>
    public HttpClient CreateClient() => CreateClient(_server);

    private static HttpClient CreateClient(AttestationServer server)
    {
        byte[] pinned = X509Certificate2.CreateFromPem(File.ReadAllText(server.TlsCertificatePath)).GetCertHash();
        return new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHash().AsSpan().SequenceEqual(pinned) },
        })
        { BaseAddress = new Uri(server.ListenUrl) };
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _server.DisposeAsync();
        _ownedData?.Delete(recursive: true);
    }
}
