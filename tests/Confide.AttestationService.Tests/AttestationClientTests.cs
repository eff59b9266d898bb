using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Verification;
using Confide.AttestationService.Client;
using Confide.AttestationService.Hosting;
using Confide.AttestationService.Tokens;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.AttestationService.Tests;

/// <summary>The C# client against the real server hosting: it accepts only tokens it can fully validate.</summary>
public sealed class AttestationClientTests : IAsyncLifetime
{
    private static readonly byte[] RuntimeBytes = [1, 2, 3, 4, 5, 6];
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("confide-client-tests-");
    private SimulatedPlatform _platform = null!;
    private AttestationServer _server = null!;
    private HttpClient _http = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_state.FullName, "sim"));
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(_platform.RootCertificate);
        var options = new AttestationServiceOptions { Collateral = new SimulatedCollateralProvider(_platform), Verifier = verifier, AllowSimulation = true };
        _server = await AttestationServer.StartAsync(new Uri("https://127.0.0.1:0"), Path.Combine(_state.FullName, "service"), options, Ct);
        X509Certificate2 tls = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(_server.TlsCertificatePath, Ct));
        _http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHash().AsSpan().SequenceEqual(tls.GetCertHash()) },
        });
    }

    [Fact]
    public async Task A_valid_attestation_returns_the_validated_claims()
    {
        using var client = Client();
        AttestationResult result = await client.AttestSgxEnclaveAsync(await QuoteAsync(SHA256.HashData(RuntimeBytes)), new RuntimeData(RuntimeBytes, RuntimeDataType.Binary), nonce: "n", cancellationToken: Ct);

        Assert.Equal("AQIDBAUG", result.Claims["x-ms-sgx-ehd"]);
        Assert.Equal("n", result.Claims["nonce"]);
        Assert.Equal(_server.Issuer, result.Claims["iss"]);
        Assert.Equal(_server.Issuer, client.Issuer);
    }

    [Fact]
    public async Task A_refusal_surfaces_the_services_error_code()
    {
        using var client = Client();
        byte[] unbound = await QuoteAsync(new byte[32]);
        var error = await Assert.ThrowsAsync<AttestationClientException>(() =>
            client.AttestSgxEnclaveAsync(unbound, new RuntimeData(RuntimeBytes, RuntimeDataType.Binary), cancellationToken: Ct));
        Assert.Equal("InvalidParameter", error.ErrorCode);
        Assert.Equal(400, error.Status);
    }

    [Fact]
    public async Task Expired_tampered_unsigned_and_foreign_tokens_are_refused()
    {
        using var client = Client();
        AttestationResult valid = await client.AttestSgxEnclaveAsync(await QuoteAsync(new byte[32]), cancellationToken: Ct);

        using var late = Client(new PinnedTimeProvider(DateTimeOffset.UtcNow.AddHours(9)));
        Assert.Equal("InvalidToken", (await Assert.ThrowsAsync<AttestationClientException>(() => late.ValidateAsync(valid.Token, cancellationToken: Ct))).ErrorCode);

        string[] parts = valid.Token.Split('.');
        string tampered = $"{parts[0]}.{parts[1][..^2]}{(parts[1][^2] == 'A' ? 'B' : 'A')}{parts[1][^1]}.{parts[2]}";
        await Assert.ThrowsAsync<AttestationClientException>(() => client.ValidateAsync(tampered, cancellationToken: Ct));

        AttestationResult draft = await client.AttestSgxEnclaveAsync(await QuoteAsync(new byte[32]), draftPolicy: "version= 1.0; authorizationrules { => permit(); };", cancellationToken: Ct);
        Assert.Equal("none", draft.Jwt.Alg);
        var unsigned = await Assert.ThrowsAsync<AttestationClientException>(() => client.ValidateAsync(draft.Token, cancellationToken: Ct));
        Assert.Contains("unsigned", unsigned.Message, StringComparison.Ordinal);

        using AttestationTokenSigner impostor = AttestationTokenSigner.Create(_server.Issuer);
        string forged = impostor.CreateToken(new Dictionary<string, object> { ["x-ms-attestation-type"] = "sgx" }, DateTimeOffset.UtcNow);
        var foreign = await Assert.ThrowsAsync<AttestationClientException>(() => client.ValidateAsync(forged, cancellationToken: Ct));
        Assert.Contains("no RSA key", foreign.Message, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        _platform.Dispose();
        _state.Delete(recursive: true);
    }

    private AttestationClient Client(TimeProvider? time = null) =>
        new(new Uri(_server.Issuer), new AttestationClientOptions { HttpClient = _http, TimeProvider = time ?? TimeProvider.System });

    private async Task<byte[]> QuoteAsync(byte[] reportData)
    {
        using var tee = new SimulationTee(_platform, new TeeIdentity(TeeKind.Simulation, SHA256.HashData("e"u8), SHA256.HashData("s"u8), 1, 1, false));
        return (await tee.GetEvidenceAsync(reportData, Ct)).Data;
    }
}
