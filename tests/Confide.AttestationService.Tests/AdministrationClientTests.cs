using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Verification;
using Confide.AttestationService.Client;
using Confide.AttestationService.Policies;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.AttestationService.Tests;

/// <summary>The C# administration client against the real server: policies and certificates, validated answers.</summary>
public sealed class AdministrationClientTests : IAsyncDisposable
{
    private const string Policy = """
        version= 1.0;
        authorizationrules { [type=="x-ms-sgx-product-id", value==1] => permit(); };
        issuancerules { c:[type=="x-ms-sgx-svn"] => issue(type="app-svn", value=c.value); };
        """;

    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("confide-admin-client-tests-");
    private readonly SimulatedPlatform _platform;
    private readonly AdminTokens _admin = new();

    public AdministrationClientTests() => _platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_state.FullName, "sim"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Policies_and_certificates_round_trip_through_the_administration_client()
    {
        using X509Certificate2 first = PolicyManagementTests.PolicySigner("CN=first");
        using X509Certificate2 second = PolicyManagementTests.PolicySigner("CN=second");
        AttestationServiceOptions options = Options();
        options.InitialPolicySigners.Add(X509CertificateLoader.LoadCertificate(first.RawData));
        await using ServiceHost service = await ServiceHost.StartAsync(options);
        var clientOptions = new AttestationClientOptions { HttpClient = service.CreateClient() };
        using var admin = new AttestationAdministrationClient(new Uri(service.Issuer), _ => ValueTask.FromResult(_admin.Create()), clientOptions);
        using var attestation = new AttestationClient(new Uri(service.Issuer), clientOptions);

        Assert.Equal(DefaultPolicies.SgxEnclave, await admin.GetPolicyAsync(AttestationType.SgxEnclave, Ct));
        PolicyModificationResult set = await admin.SetPolicyAsync(AttestationType.SgxEnclave, Policy, first, Ct);
        Assert.Equal("Updated", set.PolicyResult);
        Assert.Equal(Policy, await admin.GetPolicyAsync(AttestationType.SgxEnclave, Ct));

        AttestationResult token = await attestation.AttestSgxEnclaveAsync(await QuoteAsync(productId: 1), cancellationToken: Ct);
        Assert.Equal(1L, Convert.ToInt64(token.Claims["app-svn"]));
        AttestationClientException denied = await Assert.ThrowsAsync<AttestationClientException>(() => attestation.AttestSgxEnclaveAsync(QuoteAsync(productId: 2).Result, cancellationToken: Ct));
        Assert.Equal("PolicyEvaluationError", denied.ErrorCode);

        AttestationClientException unsigned = await Assert.ThrowsAsync<AttestationClientException>(() => admin.SetPolicyAsync(AttestationType.SgxEnclave, Policy, signer: null, Ct));
        Assert.Equal("PolicySignatureRequired", unsigned.ErrorCode);

        Assert.Equal("IsPresent", (await admin.AddPolicyManagementCertificateAsync(second, first, Ct)).CertificateResult);
        Assert.Equal([first.Thumbprint, second.Thumbprint], (await admin.GetPolicyManagementCertificatesAsync(Ct)).Select(c => c.Thumbprint));
        Assert.Equal("IsAbsent", (await admin.RemovePolicyManagementCertificateAsync(first, second, Ct)).CertificateResult);
        Assert.Equal("Removed", (await admin.ResetPolicyAsync(AttestationType.SgxEnclave, second, Ct)).PolicyResult);
        Assert.Equal(DefaultPolicies.SgxEnclave, await admin.GetPolicyAsync(AttestationType.SgxEnclave, Ct));

        // Without a valid administrator's token nothing is read or changed.
        using var stranger = new AttestationAdministrationClient(new Uri(service.Issuer), _ => ValueTask.FromResult("not-a-token"), clientOptions);
        AttestationClientException refused = await Assert.ThrowsAsync<AttestationClientException>(() => stranger.GetPolicyAsync(AttestationType.TdxVm, Ct));
        Assert.Equal("Unauthorized", refused.ErrorCode);
        Assert.Equal(401, refused.Status);
    }

    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        _platform.Dispose();
        _state.Delete(recursive: true);
        await Task.CompletedTask;
    }

    private AttestationServiceOptions Options()
    {
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(_platform.RootCertificate);
        return new AttestationServiceOptions { Collateral = new SimulatedCollateralProvider(_platform), Verifier = verifier, AllowSimulation = true, AdminAuthentication = _admin.Options() };
    }

    private async Task<byte[]> QuoteAsync(ushort productId)
    {
        using var tee = new SimulationTee(_platform, new TeeIdentity(TeeKind.Simulation, SHA256.HashData("e"u8), SHA256.HashData("s"u8), productId, 1, false));
        return (await tee.GetEvidenceAsync(new byte[32], Ct)).Data;
    }
}
