using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Verification;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls;
using Confide.Tls.Certificates;
using Microsoft.Extensions.Logging;

namespace Confide.Ledger.Node.Tests;

/// <summary>
/// Node-to-node TLS on its own, over SslStreams on 127.0.0.1: each side presents its attested
/// certificate issued by the service, and accepts a peer only for its evidence, its issuance by the
/// service and a code id allowed now — checked in every handshake.
/// </summary>
public sealed class NodeChannelsTests : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("confide-node-channels-").FullName;
    private readonly SimulatedPlatform _platform;
    private readonly QuoteVerifierOptions _verifier = new();
    private readonly ServiceIdentity _service = ServiceIdentity.Create();
    private readonly List<IDisposable> _owned = [];
    private IReadOnlySet<string> _codeIds = new HashSet<string> { TestCluster.Code.UniqueIdHex };

    public NodeChannelsTests()
    {
        _platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_root, "platform"));
        _verifier.SimulationRoots.Add(_platform.RootCertificate);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_attested_nodes_of_the_service_connect_with_certificates_for_their_endorsed_keys()
    {
        TestNode a = await NodeAsync(), b = await NodeAsync();

        (Exception? server, Exception? client, X509Certificate? seen) = await HandshakeAsync(a, b);
        Assert.Null(server);
        Assert.Null(client);

        // Each knows the other by the certificate presented: attested, of the allowed code.
        Assert.True(a.Channels.Verifier.TryGetVerified(b.Channels.Certificate, out var clientPeer));
        Assert.Equal(TestCluster.Code.UniqueIdHex, clientPeer!.UniqueIdHex);
        Assert.True(b.Channels.Verifier.TryGetVerified(a.Channels.Certificate, out _));
        Assert.Equal(a.Channels.Certificate.RawData, seen!.GetRawCertData());

        // The node-to-node certificate: the endorsed key (same node id), subject and names, issued
        // by the service, with DICE evidence and its collateral (no Open Enclave copy).
        X509Certificate2 certificate = a.Channels.Certificate;
        Assert.Equal(a.Endorsed.PublicKey.ExportSubjectPublicKeyInfo(), certificate.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(a.Endorsed.Subject, certificate.Subject);
        Assert.Equal(_service.Certificate.Subject, certificate.Issuer);
        Assert.True(ServiceIdentity.IsIssuedBy(certificate, _service.Certificate));
        var names = Assert.IsType<X509SubjectAlternativeNameExtension>(certificate.Extensions["2.5.29.17"]);
        Assert.Equal(new[] { IPAddress.Loopback }, names.EnumerateIPAddresses());
        Assert.Equal(new[] { "node.ledger" }, names.EnumerateDnsNames());
        Assert.NotNull(certificate.Extensions[AttestedTlsOids.DiceTaggedEvidence]);
        Assert.NotNull(certificate.Extensions[AttestedTlsOids.Collateral]);
        Assert.Null(certificate.Extensions[AttestedTlsOids.OpenEnclaveReport]);
        Assert.True(certificate.HasPrivateKey);
    }

    [Fact]
    public async Task A_node_with_a_certificate_the_service_endorsed_but_no_evidence_is_refused_in_the_handshake_either_way()
    {
        TestNode good = await NodeAsync(), bare = await NodeAsync(withoutEvidence: true);

        (Exception? server, _, _) = await HandshakeAsync(good, bare);
        Assert.NotNull(server);
        Assert.Contains(good.Log.Lines, line => line.Contains("NoEvidence", StringComparison.Ordinal));

        (_, Exception? client, _) = await HandshakeAsync(bare, good);
        Assert.NotNull(client);
        Assert.Contains(good.Log.Lines, line => line.Contains("NoEvidence", StringComparison.Ordinal));
        Assert.False(good.Channels.IsNode(bare.Channels.Certificate));
    }

    [Fact]
    public async Task A_node_of_code_the_service_does_not_allow_is_refused_and_a_code_id_removed_refuses_the_next_handshake()
    {
        TestNode good = await NodeAsync(), other = await NodeAsync(code: new TeeIdentity(TeeKind.Simulation, SHA256.HashData("other ledger code"u8), TestCluster.Code.SignerId, TestCluster.Code.ProductId, 1, false));

        (Exception? server, _, _) = await HandshakeAsync(good, other);
        Assert.NotNull(server);
        Assert.Contains(good.Log.Lines, line => line.Contains("IdentityMismatch", StringComparison.Ordinal) && line.Contains("allowed", StringComparison.Ordinal));

        // Accepted while allowed; governance removes the code id; the same, cached peer is refused.
        TestNode peer = await NodeAsync();
        Assert.Null((await HandshakeAsync(good, peer)).Server);
        Volatile.Write(ref _codeIds, new HashSet<string>());
        Assert.NotNull((await HandshakeAsync(good, peer)).Server);
        Assert.False(good.Channels.IsNode(peer.Channels.Certificate));
    }

    [Fact]
    public async Task A_node_endorsed_by_another_service_is_refused_even_with_good_evidence()
    {
        using ServiceIdentity other = ServiceIdentity.Create("another service");
        TestNode good = await NodeAsync(), rogue = await NodeAsync(issuer: other);

        (Exception? server, _, _) = await HandshakeAsync(good, rogue);
        Assert.NotNull(server);
        Assert.Contains(good.Log.Lines, line => line.Contains("InvalidCertificate", StringComparison.Ordinal) && line.Contains("trusted issuer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_renewed_certificate_is_presented_from_the_next_handshake_on()
    {
        TestNode a = await NodeAsync(), b = await NodeAsync();
        X509Certificate2 first = a.Channels.Certificate;
        Assert.Equal(first.RawData, (await HandshakeAsync(a, b)).Seen!.GetRawCertData());

        await a.Certificate.RefreshNowAsync(Ct);
        Assert.NotEqual(first.RawData, a.Channels.Certificate.RawData);
        Assert.Equal(first.PublicKey.ExportSubjectPublicKeyInfo(), a.Channels.Certificate.PublicKey.ExportSubjectPublicKeyInfo());
        (Exception? server, Exception? client, X509Certificate? seen) = await HandshakeAsync(a, b);
        Assert.Null(server);
        Assert.Null(client);
        Assert.Equal(a.Channels.Certificate.RawData, seen!.GetRawCertData());
    }

    public ValueTask DisposeAsync()
    {
        foreach (IDisposable owned in Enumerable.Reverse(_owned))
        {
            owned.Dispose();
        }

        _service.Dispose();
        _platform.Dispose();
        Directory.Delete(_root, recursive: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>A node of <see cref="_service"/>: its key endorsed, its node-to-node certificate made as a real node makes it (or a bare endorsed one).</summary>
    private async Task<TestNode> NodeAsync(TeeIdentity? code = null, ServiceIdentity? issuer = null, bool withoutEvidence = false)
    {
        ECDsa key = ServiceIdentity.CreateNodeKey();
        X509Certificate2 endorsed = (issuer ?? _service).EndorseNode(key, ["127.0.0.1", "node.ledger"], TimeSpan.FromDays(1));
        var tee = new SimulationTee(_platform, code ?? TestCluster.Code);
        _owned.AddRange([key, endorsed, tee]);
        AttestedCertificateProvider certificate = withoutEvidence
            ? await AttestedCertificateProvider.CreateAsync(_ => Task.FromResult(X509CertificateLoader.LoadPkcs12(endorsed.Export(X509ContentType.Pkcs12), null)), new AttestedCertificateOptions(), Ct)
            : await NodeChannels.CreateCertificateAsync(tee, key, endorsed, issuer ?? _service, Ct);
        _owned.Add(certificate);
        var log = new ListLogger();
        var channels = new NodeChannels(new NodeChannelsOptions
        {
            ServiceCertificate = _service.Certificate,
            Certificate = certificate,
            AllowedCodeIds = () => Volatile.Read(ref _codeIds),
            AllowSimulation = true,
            Verifier = _verifier,
            Logger = log,
        });
        return new TestNode(channels, certificate, endorsed, log);
    }

    /// <summary>
    /// <paramref name="client"/> connects to <paramref name="server"/> and they exchange a byte each
    /// way (in TLS 1.3 a client learns that the server refused it only when it reads). Returns what
    /// each side threw, and the certificate the client saw.
    /// </summary>
    private static async Task<(Exception? Server, Exception? Client, X509Certificate? Seen)> HandshakeAsync(TestNode server, TestNode client)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        async Task<Exception?> ServeAsync()
        {
            try
            {
                using TcpClient accepted = await listener.AcceptTcpClientAsync(Ct);
                await using var stream = new SslStream(accepted.GetStream());
                await stream.AuthenticateAsServerAsync(server.Channels.ServerOptions(), Ct);
                byte[] one = new byte[1];
                await stream.ReadExactlyAsync(one, Ct);
                await stream.WriteAsync(one, Ct);
                return null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return ex;
            }
        }

        Task<Exception?> serving = ServeAsync();
        X509Certificate? seen = null;
        Exception? clientError = null;
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, Ct);
            await using var stream = new SslStream(tcp.GetStream());
            await stream.AuthenticateAsClientAsync(client.Channels.ClientOptions(), Ct);
            seen = stream.RemoteCertificate;
            await stream.WriteAsync(new byte[] { 7 }, Ct);
            byte[] answer = new byte[1];
            await stream.ReadExactlyAsync(answer, Ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            clientError = ex;
        }

        return (await serving.WaitAsync(TimeSpan.FromSeconds(30), Ct), clientError, seen);
    }

    private sealed record TestNode(NodeChannels Channels, AttestedCertificateProvider Certificate, X509Certificate2 Endorsed, ListLogger Log);

    private sealed class ListLogger : ILogger
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add(formatter(state, exception));
            }
        }
    }
}
