using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Confide.Attestation.Verification;
using Confide.AttestationService;
using Confide.AttestationService.Client;
using Confide.AttestationService.Hosting;
using Confide.KeyRelease.Tests;
using Confide.Tee;
using Confide.Tee.Simulation;

[assembly: AssemblyFixture(typeof(SkrEnvironment))]

namespace Confide.KeyRelease.Tests;

/// <summary>
/// What every key-release test shares: a simulated SGX platform, a real attestation service that
/// accepts its evidence ("simulation", the authority tokens come from), a second real service that
/// does not ("production"), and an administrators' token issuer. All on 127.0.0.1, ports chosen at run time.
/// </summary>
public sealed class SkrEnvironment : IAsyncLifetime
{
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("confide-skr-tests-");

    public SimulatedPlatform Platform { get; private set; } = null!;

    /// <summary>The attestation service in simulation mode: tokens for simulated enclaves.</summary>
    public AttestationServer Simulation { get; private set; } = null!;

    /// <summary>An attestation service that refuses simulated evidence, as a production one would.</summary>
    public AttestationServer Production { get; private set; } = null!;

    public X509Certificate2 SimulationTls { get; private set; } = null!;

    public X509Certificate2 ProductionTls { get; private set; } = null!;

    /// <summary>Trusts exactly the two attestation services' TLS certificates.</summary>
    public HttpClient AttestationHttp { get; private set; } = null!;

    public AdminTokens Admin { get; } = new(KeyBrokerOptions.DefaultAdminAudience);

    public string StateDirectory => _state.FullName;

    public async ValueTask InitializeAsync()
    {
        Platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_state.FullName, "sim"));
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(Platform.RootCertificate);
        CancellationToken ct = TestContext.Current.CancellationToken;
        Simulation = await AttestationServer.StartAsync(new Uri("https://127.0.0.1:0"), Path.Combine(_state.FullName, "simulation-authority"),
            new AttestationServiceOptions { Collateral = new SimulatedCollateralProvider(Platform), Verifier = verifier, AllowSimulation = true }, ct);
        Production = await AttestationServer.StartAsync(new Uri("https://127.0.0.1:0"), Path.Combine(_state.FullName, "production-authority"),
            new AttestationServiceOptions { Collateral = new SimulatedCollateralProvider(Platform), Verifier = new QuoteVerifierOptions(), AllowSimulation = false }, ct);
        SimulationTls = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Simulation.TlsCertificatePath, ct));
        ProductionTls = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Production.TlsCertificatePath, ct));
        AttestationHttp = PinnedClient(SimulationTls, ProductionTls);
    }

    /// <summary>An HttpClient that accepts exactly these TLS certificates.</summary>
    public static HttpClient PinnedClient(params X509Certificate2[] pinned) => new(new SocketsHttpHandler
    {
        SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && pinned.Any(p => p.RawData.AsSpan().SequenceEqual(certificate.GetRawCertData())) },
    });

    /// <summary>A client of the simulation attestation service.</summary>
    public AttestationClient Attestation() => new(new Uri(Simulation.Issuer), new AttestationClientOptions { HttpClient = AttestationHttp });

    /// <summary>A simulated enclave: MRENCLAVE = SHA-256(<paramref name="enclave"/>), MRSIGNER = SHA-256(<paramref name="signer"/>).</summary>
    public SimulationTee Enclave(string enclave = "enclave", string signer = "signer", bool debug = false, ushort svn = 1) =>
        new(Platform, new TeeIdentity(TeeKind.Simulation, Hash(enclave), Hash(signer), 1, svn, debug));

    /// <summary>The broker's own TEE identity (its keys are sealed to it).</summary>
    public SimulationTee BrokerTee(string signer = "broker") => new(Platform, new TeeIdentity(TeeKind.Simulation, Hash(signer + " code"), Hash(signer), 2, 1, false));

    /// <summary>An attested-TLS verifier admitting exactly the broker enclave of <see cref="BrokerTee"/>: its evidence (simulation) or a token of the simulation authority.</summary>
    public Confide.Tls.Verification.AttestedCertificateVerifier BrokerVerifier(string signer = "broker")
    {
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(Platform.RootCertificate);
        var policy = new Confide.Tls.Verification.AttestedTlsPolicy
        {
            UniqueId = Hash(signer + " code"),
            AllowSimulation = true,
            Collateral = new SimulatedCollateralProvider(Platform),
            Verifier = verifier,
        };
        policy.TrustedAttestationServices.Add(Attestation());
        return new Confide.Tls.Verification.AttestedCertificateVerifier(policy);
    }

    public static byte[] Hash(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));

    public static string Hex(string text) => Convert.ToHexStringLower(Hash(text));

    public async ValueTask DisposeAsync()
    {
        AttestationHttp.Dispose();
        await Simulation.DisposeAsync();
        await Production.DisposeAsync();
        Platform.Dispose();
        Admin.Dispose();
        _state.Delete(recursive: true);
    }
}
