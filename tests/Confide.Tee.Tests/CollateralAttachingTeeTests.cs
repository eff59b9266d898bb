using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.Tee.Collateral;
using Confide.Tee.Simulation;
using Confide.Tee.Tests.Support;

namespace Confide.Tee.Tests;

/// <summary>
/// A TEE that hands out bare quotes (Gramine, configfs-tsm) gets its collateral attached from a
/// provider, so a verifier elsewhere can check the quote with nothing but what it received.
/// </summary>
public sealed class CollateralAttachingTeeTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_bare_quote_gets_the_providers_collateral_and_then_verifies_on_its_own()
    {
        using var bare = new BareQuoteTee(fixture.Tee(Identities.Simulated()));
        var provider = new CountingProvider(new SimulatedCollateralProvider(fixture.Platform));
        using var tee = new CollateralAttachingTee(bare, provider);

        TeeEvidence evidence = await tee.GetEvidenceAsync("nonce"u8.ToArray(), Ct);

        Assert.Equal(1, provider.Calls);
        Assert.NotNull(evidence.CollateralJson);
        Assert.Equal(fixture.Platform.GetCollateral().ToJson(), evidence.CollateralJson);
        var options = new QuoteVerifierOptions();
        options.SimulationRoots.Add(fixture.Platform.RootCertificate);
        QuoteVerificationResult result = new QuoteVerifier(options).Verify(evidence.Data, CollateralJson.Parse(evidence.CollateralJson), VerificationPolicy.Default with { AllowSimulation = true });
        Assert.True(result.Verified, result.ErrorMessage);
    }

    [Fact]
    public async Task Evidence_that_already_carries_collateral_is_passed_through_without_asking_the_provider()
    {
        var provider = new CountingProvider(new SimulatedCollateralProvider(fixture.Platform));
        using var tee = new CollateralAttachingTee(fixture.Tee(Identities.Simulated()), provider);

        TeeEvidence evidence = await tee.GetEvidenceAsync("nonce"u8.ToArray(), Ct);

        Assert.Equal(0, provider.Calls);
        Assert.NotNull(evidence.CollateralJson);
    }

    [Fact]
    public async Task A_provider_that_cannot_serve_the_platform_is_a_tee_error_naming_the_reason()
    {
        using var bare = new BareQuoteTee(fixture.Tee(Identities.Simulated()));
        using var emptyFolder = new TempDirectory();
        using var tee = new CollateralAttachingTee(bare, new FileCollateralProvider(emptyFolder.Path));

        TeeException error = await Assert.ThrowsAsync<TeeException>(async () => await tee.GetEvidenceAsync("nonce"u8.ToArray(), Ct));

        Assert.Equal(TeeError.DeviceError, error.Error);
        Assert.Contains("collateral", error.Message, StringComparison.Ordinal);
        Assert.IsType<CollateralException>(error.InnerException);
    }

    [Fact]
    public async Task A_quote_that_does_not_parse_is_refused_before_any_lookup()
    {
        var provider = new CountingProvider(new SimulatedCollateralProvider(fixture.Platform));
        using var tee = new CollateralAttachingTee(new BareQuoteTee(fixture.Tee(Identities.Simulated()), truncate: true), provider);

        TeeException error = await Assert.ThrowsAsync<TeeException>(async () => await tee.GetEvidenceAsync("nonce"u8.ToArray(), Ct));

        Assert.Equal(TeeError.DeviceError, error.Error);
        Assert.Equal(0, provider.Calls);
    }

    /// <summary>What Gramine's /dev/attestation gives: the quote alone (optionally cut short).</summary>
    private sealed class BareQuoteTee(ITee inner, bool truncate = false) : ITee
    {
        public TeeKind Kind => inner.Kind;

        public bool IsSimulated => inner.IsSimulated;

        public TeeIdentity Identity => inner.Identity;

        public async ValueTask<TeeEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken = default)
        {
            TeeEvidence evidence = await inner.GetEvidenceAsync(reportData, cancellationToken);
            return evidence with { CollateralJson = null, Data = truncate ? evidence.Data[..100] : evidence.Data };
        }

        public byte[] DeriveSealKey(SealKeyRequest request) => inner.DeriveSealKey(request);

        public void Dispose() => inner.Dispose();
    }

    private sealed class CountingProvider(ICollateralProvider inner) : ICollateralProvider
    {
        public int Calls { get; private set; }

        public ValueTask<QuoteCollateral> GetCollateralAsync(CollateralRequest request, CancellationToken cancellationToken = default)
        {
            Calls++;
            return inner.GetCollateralAsync(request, cancellationToken);
        }
    }
}
