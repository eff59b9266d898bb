using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Confide.Attestation.Verification;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls.Certificates;
using Confide.Tls.Hosting;
using Confide.Tls.Verification;

namespace Confide.Benchmarks;

/// <summary>
/// A full TLS 1.3 handshake over loopback TCP (connect, both sides authenticate, one byte each
/// way) with a plain self-signed P-256 certificate (the baseline, pinned by its hash), with
/// an attested certificate seen for the first time (its evidence verified; collateral cached as a
/// long-running client would), and with the attested certificate already verified (cache hit).
/// </summary>
[Config(typeof(BenchmarkConfig))]
public class AttestedTlsBenchmarks
{
    private string _work = "";
    private SimulationTee _tee = null!;
    private TcpListener _listener = null!;
    private CancellationTokenSource _stop = null!;
    private Task _server = Task.CompletedTask;
    private X509Certificate2 _plain = null!;
    private byte[] _plainHash = [];
    private AttestedCertificateProvider _attested = null!;
    private AttestedCertificateVerifier _verifier = null!;
    private volatile X509Certificate2 _serverCertificate = null!;

    [GlobalSetup]
    public void Setup()
    {
        _work = Directory.CreateTempSubdirectory("confide-bench-tls-").FullName;
        SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate(_work);
        var identity = new TeeIdentity(TeeKind.Simulation, RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32), 1, 1, false);
        _tee = new SimulationTee(platform, identity, ownsPlatform: true);
        _attested = AttestedCertificateProvider.CreateAsync(_tee).GetAwaiter().GetResult();
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=plain", key, HashAlgorithmName.SHA256);
            using X509Certificate2 plain = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            _plain = X509CertificateLoader.LoadPkcs12(plain.Export(X509ContentType.Pkcs12), null);
            _plainHash = _plain.GetCertHash();
        }

        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(platform.RootCertificate);
        _verifier = new AttestedCertificateVerifier(new AttestedTlsPolicy
        {
            UniqueId = identity.UniqueId,
            AllowSimulation = true,
            Collateral = new SimulatedCollateralProvider(platform),
            Verifier = verifier,
        });

        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(512);
        _stop = new CancellationTokenSource();
        _server = Task.Run(ServeAsync);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop.Cancel();
        _listener.Stop();
        _attested.Dispose();
        _plain.Dispose();
        _tee.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    // The server presents what the running benchmark set (benchmarks run one at a time).
    [Benchmark(Baseline = true)]
    public Task PlainHandshake()
    {
        _serverCertificate = _plain;
        return HandshakeAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHash().AsSpan().SequenceEqual(_plainHash),
        });
    }

    [Benchmark]
    public Task AttestedFirstSight()
    {
        _serverCertificate = _attested.Current;
        _verifier.ClearCache();
        return HandshakeAsync(AttestedTls.ClientOptions("localhost", _verifier));
    }

    [Benchmark]
    public Task AttestedCached()
    {
        _serverCertificate = _attested.Current;
        return HandshakeAsync(AttestedTls.ClientOptions("localhost", _verifier));
    }

    private async Task HandshakeAsync(SslClientAuthenticationOptions options)
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync((IPEndPoint)_listener.LocalEndpoint);
        await using var stream = new SslStream(client.GetStream());
        await stream.AuthenticateAsClientAsync(options);
        await stream.WriteAsync(new byte[1]);
        await stream.ReadExactlyAsync(new byte[1]);
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using (client)
                {
                    await using var stream = new SslStream(client.GetStream());
                    X509Certificate2 certificate = _serverCertificate;
                    await stream.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate });
                    byte[] one = new byte[1];
                    await stream.ReadExactlyAsync(one);
                    await stream.WriteAsync(one);
                }
            });
        }
    }
}
