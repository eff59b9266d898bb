using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Confide.AttestationService;
using Confide.AttestationService.Client;
using Confide.AttestationService.Hosting;
using Confide.Attestation.Verification;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls.Certificates;
using Confide.Tls.Hosting;
using Confide.Tls.Verification;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Confide.Tls.Tests;

/// <summary>Attested TLS on real connections over 127.0.0.1: SslStream, HttpClient + Kestrel, gRPC, mutual, token mode.</summary>
public sealed class TlsConnectionTests : IDisposable
{
    private readonly SimulatedEnclaves _enclaves = new();
    private readonly TeeIdentity _server = SimulatedEnclaves.Identity("server");
    private readonly TeeIdentity _client = SimulatedEnclaves.Identity("client");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SslStream_connects_to_the_named_enclave_and_refuses_another_with_the_reason()
    {
        using SimulationTee tee = _enclaves.Tee(_server);
        using AttestedCertificateProvider certificate = await AttestedCertificateProvider.CreateAsync(tee, cancellationToken: Ct);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Task<int> server = ServeAsync(listener, AttestedTls.ServerOptions(certificate), connections: 2);

        var log = new ListLogger();
        var verifier = new AttestedCertificateVerifier(_enclaves.PolicyFor(_server, p => p.Logger = log));
        using (SslStream stream = await ConnectAsync(listener, AttestedTls.ClientOptions("localhost", verifier)))
        {
            await stream.WriteAsync("ping"u8.ToArray(), Ct);
            byte[] answer = new byte[4];
            await stream.ReadExactlyAsync(answer, Ct);
            Assert.Equal("pong"u8.ToArray(), answer);
        }

        var wrong = new AttestedCertificateVerifier(_enclaves.PolicyFor(SimulatedEnclaves.Identity("impostor"), p => p.Logger = log));
        Exception refused = await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(listener, AttestedTls.ClientOptions("localhost", wrong)));
        AttestedTlsException reason = FindReason(refused);
        Assert.Equal(AttestedTlsError.IdentityMismatch, reason.Error);
        Assert.Contains(log.Lines, line => line.Contains("IdentityMismatch", StringComparison.Ordinal) && line.Contains("unique id", StringComparison.Ordinal));
        Assert.Equal(1, await server.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    [Fact]
    public async Task Mutual_attested_tls_admits_only_the_named_client_enclave()
    {
        using SimulationTee serverTee = _enclaves.Tee(_server);
        using SimulationTee clientTee = _enclaves.Tee(_client);
        using AttestedCertificateProvider serverCertificate = await AttestedCertificateProvider.CreateAsync(serverTee, cancellationToken: Ct);
        using AttestedCertificateProvider clientCertificate = await AttestedCertificateProvider.CreateAsync(clientTee, cancellationToken: Ct);
        var clientVerifier = new AttestedCertificateVerifier(_enclaves.PolicyFor(_client));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Task<int> server = ServeAsync(listener, AttestedTls.ServerOptions(serverCertificate, clientVerifier), connections: 2);

        var serverVerifier = new AttestedCertificateVerifier(_enclaves.PolicyFor(_server));
        using (SslStream stream = await ConnectAsync(listener, AttestedTls.ClientOptions("localhost", serverVerifier, clientCertificate)))
        {
            await stream.WriteAsync("ping"u8.ToArray(), Ct);
            await stream.ReadExactlyAsync(new byte[4], Ct);
        }

        Assert.True(clientVerifier.TryGetVerified(clientCertificate.Current, out AttestedPeer? peer));
        Assert.Equal(_client.UniqueId, peer!.UniqueId);

        // A client that presents no certificate is refused by the server.
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using SslStream stream = await ConnectAsync(listener, AttestedTls.ClientOptions("localhost", serverVerifier));
            await stream.WriteAsync("ping"u8.ToArray(), Ct);
            await stream.ReadExactlyAsync(new byte[4], Ct);
        });
        Assert.Equal(1, await server.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    [Fact]
    public async Task Mutual_tls_between_issued_certificates_carrying_their_collateral_stops_at_the_next_handshake_once_an_id_is_removed()
    {
        // Two members of one service: each has its own key, attested and issued by the service.
        using var serviceKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest("CN=service", serviceKey, System.Security.Cryptography.HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        using X509Certificate2 service = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var serverKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using var clientKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using SimulationTee serverTee = _enclaves.Tee(_server);
        using SimulationTee clientTee = _enclaves.Tee(_client);
        var options = new AttestedCertificateOptions { Issuer = service, IncludeCollateral = true, Formats = AttestedCertificateFormats.Dice };
        using AttestedCertificateProvider serverCertificate = await AttestedCertificateProvider.CreateAsync(serverTee, serverKey, options, Ct);
        using AttestedCertificateProvider clientCertificate = await AttestedCertificateProvider.CreateAsync(clientTee, clientKey, options, Ct);

        // Either side admits the ids in the set, from certificates the service issued, with the collateral they carry.
        IReadOnlySet<string> allowed = new HashSet<string> { _server.UniqueIdHex, _client.UniqueIdHex };
        using X509Certificate2 servicePublic = X509CertificateLoader.LoadCertificate(service.RawData);
        AttestedTlsPolicy Policy(TeeIdentity peer) => _enclaves.PolicyFor(peer, p =>
        {
            p.UniqueId = null;
            p.Collateral = null;
            p.TrustedIssuers.Add(servicePublic);
            p.AllowedUniqueIds = () => Volatile.Read(ref allowed);
        });
        var clientVerifier = new AttestedCertificateVerifier(Policy(_client));
        var serverVerifier = new AttestedCertificateVerifier(Policy(_server));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Task<int> server = ServeAsync(listener, AttestedTls.ServerOptions(serverCertificate, clientVerifier), connections: 2);

        using (SslStream stream = await ConnectAsync(listener, AttestedTls.ClientOptions("localhost", serverVerifier, clientCertificate)))
        {
            await stream.WriteAsync("ping"u8.ToArray(), Ct);
            await stream.ReadExactlyAsync(new byte[4], Ct);
        }

        Assert.True(clientVerifier.TryGetVerified(clientCertificate.Current, out _));

        // The client's code id is withdrawn: its certificate is cached, and refused all the same.
        Volatile.Write(ref allowed, new HashSet<string> { _server.UniqueIdHex });
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using SslStream stream = await ConnectAsync(listener, AttestedTls.ClientOptions("localhost", serverVerifier, clientCertificate));
            await stream.WriteAsync("ping"u8.ToArray(), Ct);
            await stream.ReadExactlyAsync(new byte[4], Ct);
        });
        Assert.Equal(1, await server.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    [Fact]
    public async Task HttpClient_and_grpc_reach_kestrel_over_attested_tls_and_the_server_sees_the_attested_client()
    {
        using SimulationTee serverTee = _enclaves.Tee(_server);
        using SimulationTee clientTee = _enclaves.Tee(_client);
        using AttestedCertificateProvider serverCertificate = await AttestedCertificateProvider.CreateAsync(serverTee, cancellationToken: Ct);
        using AttestedCertificateProvider clientCertificate = await AttestedCertificateProvider.CreateAsync(clientTee, cancellationToken: Ct);
        var clientVerifier = new AttestedCertificateVerifier(_enclaves.PolicyFor(_client));

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddGrpcHealthChecks(health => health.UseHealthChecksCache = false)
            .AddCheck("enclave", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseAttestedTls(serverCertificate, clientVerifier);
        }));
        await using WebApplication app = builder.Build();
        app.MapGet("/whoami", (HttpContext context) =>
            clientVerifier.TryGetVerified(context.Connection.ClientCertificate!, out AttestedPeer? peer) ? peer!.UniqueIdHex : "unknown");
        app.MapGrpcHealthChecksService();
        await app.StartAsync(Ct);
        string address = app.Urls.Single().Replace("127.0.0.1", "localhost", StringComparison.Ordinal);

        var serverVerifier = new AttestedCertificateVerifier(_enclaves.PolicyFor(_server));
        using var http = new HttpClient(new SocketsHttpHandler().UseAttestedTls(serverVerifier, clientCertificate)) { BaseAddress = new Uri(address) };
        Assert.Equal(_client.UniqueIdHex, await http.GetStringAsync("/whoami", Ct));

        using GrpcChannel channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler().UseAttestedTls(serverVerifier, clientCertificate) });
        HealthCheckResponse health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        // A client expecting another enclave never sends its request.
        var wrong = new AttestedCertificateVerifier(_enclaves.PolicyFor(SimulatedEnclaves.Identity("impostor")));
        using var refusedClient = new HttpClient(new SocketsHttpHandler().UseAttestedTls(wrong, clientCertificate)) { BaseAddress = new Uri(address) };
        HttpRequestException refused = await Assert.ThrowsAsync<HttpRequestException>(() => refusedClient.GetStringAsync("/whoami", Ct));
        Assert.Equal(AttestedTlsError.IdentityMismatch, FindReason(refused).Error);
        await app.StopAsync(Ct);
    }

    [Fact]
    public async Task Token_mode_certificates_are_trusted_through_the_attestation_services_signing_keys()
    {
        var verifierOptions = new QuoteVerifierOptions();
        verifierOptions.SimulationRoots.Add(_enclaves.Platform.RootCertificate);
        var serviceOptions = new AttestationServiceOptions { Collateral = new SimulatedCollateralProvider(_enclaves.Platform), Verifier = verifierOptions, AllowSimulation = true };
        await using AttestationServer service = await AttestationServer.StartAsync(new Uri("https://127.0.0.1:0"), Path.Combine(_enclaves.Directory, "maa"), serviceOptions, Ct);
        byte[] pinned = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(service.TlsCertificatePath, Ct)).GetCertHash();
        var attestationOptions = new AttestationClientOptions
        {
            HttpClient = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && c.GetCertHash().AsSpan().SequenceEqual(pinned) } }),
        };
        using var attestation = new AttestationClient(new Uri(service.Issuer), attestationOptions);

        using SimulationTee tee = _enclaves.Tee(_server);
        using X509Certificate2 certificate = await AttestedCertificate.CreateWithTokenAsync(tee, attestation, cancellationToken: Ct);

        // No evidence provider is needed: only the attestation service is trusted.
        var policy = new AttestedTlsPolicy { UniqueId = _server.UniqueId };
        policy.TrustedAttestationServices.Add(attestation);
        AttestedPeer peer = await new AttestedCertificateVerifier(policy).VerifyAsync(certificate, Ct);
        Assert.Equal(AttestedCertificateKind.AttestationToken, peer.Kind);
        Assert.Equal(_server.SignerId, peer.SignerId);
        Assert.Equal(2, peer.SecurityVersion);
        Assert.Equal(service.Issuer, peer.TokenClaims!["iss"]);

        // The token of one certificate on another key; a service that is not trusted; another enclave.
        using var otherKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using X509Certificate2 stolen = CertificateVerificationTests.SelfSigned(otherKey, "CN=stolen", certificate.Extensions[AttestedTlsOids.DiceTaggedEvidence]!);
        await CertificateVerificationTests.AssertRefusedAsync(new AttestedCertificateVerifier(policy), stolen, AttestedTlsError.KeyNotBound);
        await CertificateVerificationTests.AssertRefusedAsync(new AttestedCertificateVerifier(new AttestedTlsPolicy { UniqueId = _server.UniqueId }), certificate, AttestedTlsError.EvidenceRejected, "not a trusted attestation service");
        var other = new AttestedTlsPolicy { UniqueId = _client.UniqueId };
        other.TrustedAttestationServices.Add(attestation);
        await CertificateVerificationTests.AssertRefusedAsync(new AttestedCertificateVerifier(other), certificate, AttestedTlsError.IdentityMismatch);
    }

    [Fact]
    public async Task The_provider_replaces_the_certificate_before_it_expires()
    {
        using SimulationTee tee = _enclaves.Tee(_server);
        var time = new MovableTime(DateTimeOffset.UtcNow);
        var options = new AttestedCertificateOptions { Lifetime = TimeSpan.FromHours(4), RefreshBefore = TimeSpan.FromHours(1), TimeProvider = time };
        using AttestedCertificateProvider provider = await AttestedCertificateProvider.CreateAsync(tee, options, Ct);
        X509Certificate2 first = provider.Current;
        Assert.Same(first, provider.Current);

        time.Advance(TimeSpan.FromHours(3.5));
        X509Certificate2 during = provider.Current; // starts the refresh, still serves the current one
        Assert.Same(first, during);
        X509Certificate2 next = first;
        for (int i = 0; i < 600 && ReferenceEquals(next, first); i++)
        {
            await Task.Delay(50, Ct);
            next = provider.Current;
        }

        Assert.NotSame(first, next);
        Assert.True(next.NotAfter > first.NotAfter);
    }

    public void Dispose() => _enclaves.Dispose();

    /// <summary>Serves ping/pong on <paramref name="connections"/> connections; returns how many completed (a refused handshake ends its connection only).</summary>
    private static async Task<int> ServeAsync(TcpListener listener, SslServerAuthenticationOptions options, int connections)
    {
        int completed = 0;
        for (int i = 0; i < connections; i++)
        {
            using TcpClient client = await listener.AcceptTcpClientAsync(Ct);
            await using var stream = new SslStream(client.GetStream());
            try
            {
                await stream.AuthenticateAsServerAsync(options, Ct);
                byte[] request = new byte[4];
                await stream.ReadExactlyAsync(request, Ct);
                await stream.WriteAsync("pong"u8.ToArray(), Ct);
                completed++;
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException or AttestedTlsException)
            {
            }
        }

        return completed;
    }

    private static async Task<SslStream> ConnectAsync(TcpListener listener, SslClientAuthenticationOptions options)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, Ct);
        var stream = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
        try
        {
            await stream.AuthenticateAsClientAsync(options, Ct);
            return stream;
        }
        catch
        {
            await stream.DisposeAsync();
            client.Dispose();
            throw;
        }
    }

    private static AttestedTlsException FindReason(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is AttestedTlsException reason)
            {
                return reason;
            }
        }

        throw new Xunit.Sdk.XunitException($"No AttestedTlsException in: {exception}");
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add(formatter(state, exception));
            }
        }
    }
}
