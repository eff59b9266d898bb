using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;
using Confide.Tee;

namespace Confide.Attestation.Simulation.Tests;

/// <summary>
/// Evidence of a <see cref="Tee.Simulation.SimulationTee"/> (the quote and the collateral JSON it
/// carries) through the DCAP verifier: accepted only from a configured simulation root under a
/// policy that allows simulation, and then judged like any quote (debug, identity, tampering, time).
/// </summary>
public sealed class SimulatedQuoteVerificationTests : IDisposable
{
    private static readonly VerificationPolicy AllowSimulation = VerificationPolicy.Default with { AllowSimulation = true };

    private readonly SimulatedPlatformScope _scope = new();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public async Task Simulated_evidence_verifies_up_to_date_and_simulated_when_its_root_is_configured_and_simulation_allowed()
    {
        TeeIdentity identity = SimulatedPlatformScope.Identity();
        (byte[] quote, QuoteCollateral collateral) = await _scope.EvidenceAsync(identity, "bind me"u8.ToArray());

        QuoteVerificationResult result = _scope.Verifier().Verify(quote, collateral, AllowSimulation);

        Assert.True(result.Verified, $"{result.Error}: {result.ErrorMessage}");
        Assert.True(result.IsSimulated);
        Assert.Equal(TcbStatus.UpToDate, result.TcbStatus);
        Assert.Equal(TcbStatus.UpToDate, result.QeTcbStatus);
        Assert.Empty(result.AdvisoryIds);
        Assert.Equal(_scope.Now, result.VerifiedAt);
        SgxReportBody body = Assert.IsType<SgxReportBody>(result.Quote!.SgxBody);
        Assert.Equal(identity.UniqueId, body.MrEnclave);
        Assert.Equal(identity.SignerId, body.MrSigner);
        Assert.Equal(identity.ProductId, body.IsvProdId);
        Assert.Equal(identity.SecurityVersion, body.IsvSvn);
        Assert.Equal([.. "bind me"u8, .. new byte[64 - 7]], body.ReportData);
    }

    [Fact]
    public async Task Without_allow_simulation_simulated_evidence_is_refused_as_simulation_not_allowed()
    {
        (byte[] quote, QuoteCollateral collateral) = await _scope.EvidenceAsync(SimulatedPlatformScope.Identity());
        QuoteVerifier verifier = _scope.Verifier();

        foreach (VerificationPolicy policy in new[] { VerificationPolicy.Default, VerificationPolicy.AnyNonRevokedTcb, AllowSimulation with { AllowSimulation = false } })
        {
            QuoteVerificationResult result = verifier.Verify(quote, collateral, policy);
            Assert.False(result.Verified);
            Assert.Equal(VerificationError.SimulationNotAllowed, result.Error);
        }

        // No collateral changes nothing: the root is judged first.
        Assert.Equal(VerificationError.SimulationNotAllowed, verifier.Verify(quote, null).Error);

        // Having verified it under AllowSimulation first (and cached what it could) changes nothing either.
        Assert.True(verifier.Verify(quote, collateral, AllowSimulation).Verified);
        Assert.Equal(VerificationError.SimulationNotAllowed, verifier.Verify(quote, collateral, VerificationPolicy.AnyNonRevokedTcb).Error);
    }

    [Fact]
    public async Task Without_its_root_configured_simulated_evidence_is_untrusted_even_when_simulation_is_allowed()
    {
        (byte[] quote, QuoteCollateral collateral) = await _scope.EvidenceAsync(SimulatedPlatformScope.Identity());
        QuoteVerifier verifier = _scope.Verifier(withSimulationRoot: false);

        QuoteVerificationResult result = verifier.Verify(quote, collateral, AllowSimulation);
        Assert.False(result.Verified);
        Assert.Equal(VerificationError.UntrustedRoot, result.Error);
        Assert.Equal(VerificationError.UntrustedRoot, verifier.Verify(quote, null, AllowSimulation).Error);
    }

    [Fact]
    public async Task Another_simulated_platforms_root_or_collateral_does_not_verify_this_platforms_quotes()
    {
        using var other = new SimulatedPlatformScope();
        (byte[] quote, QuoteCollateral collateral) = await _scope.EvidenceAsync(SimulatedPlatformScope.Identity());
        (_, QuoteCollateral otherCollateral) = await other.EvidenceAsync(SimulatedPlatformScope.Identity());

        // Only the other platform's root configured: this quote's chain ends elsewhere.
        Assert.Equal(VerificationError.UntrustedRoot, other.Verifier().Verify(quote, collateral, AllowSimulation).Error);

        // Both roots configured: the other platform's collateral is chained to another root than the quote.
        QuoteVerifier both = _scope.Verifier(configure: options => options.SimulationRoots.Add(other.Platform.RootCertificate));
        Assert.Equal(VerificationError.InvalidCertificateChain, both.Verify(quote, otherCollateral, AllowSimulation).Error);
        Assert.True(both.Verify(quote, collateral, AllowSimulation).Verified);
    }

    [Fact]
    public async Task A_simulated_quote_with_intels_real_collateral_is_refused()
    {
        (byte[] quote, _) = await _scope.EvidenceAsync(SimulatedPlatformScope.Identity());
        string file = DcapVectors.Expected("sgx_v3_automata").GetProperty("collateral").GetString()!;
        QuoteCollateral intel = QuoteCollateral.FromJson(File.ReadAllText(Path.Combine(DcapVectors.Directory, file)));

        // The verifier trusts Intel's root (the default) and this platform's root as a simulation root.
        QuoteVerificationResult result = _scope.Verifier().Verify(quote, intel, AllowSimulation);
        Assert.False(result.Verified);
        Assert.Equal(VerificationError.InvalidCertificateChain, result.Error);
    }

    [Fact]
    public async Task A_debug_identity_is_refused_as_a_debug_enclave_unless_debug_is_allowed()
    {
        (byte[] quote, QuoteCollateral collateral) = await _scope.EvidenceAsync(SimulatedPlatformScope.Identity(debug: true));
        QuoteVerifier verifier = _scope.Verifier();

        QuoteVerificationResult refused = verifier.Verify(quote, collateral, AllowSimulation);
        Assert.False(refused.Verified);
        Assert.Equal(VerificationError.DebugEnclave, refused.Error);
        Assert.Equal(TcbStatus.UpToDate, refused.TcbStatus); // everything else was checked

        QuoteVerificationResult allowed = verifier.Verify(quote, collateral, AllowSimulation with { AllowDebug = true });
        Assert.True(allowed.Verified, $"{allowed.Error}: {allowed.ErrorMessage}");
        Assert.True(allowed.Quote!.IsDebug);
    }

    public static TheoryData<string> Mismatches => new("mrenclave", "mrsigner", "product", "svn");

    [Theory]
    [MemberData(nameof(Mismatches))]
    public async Task An_expected_identity_that_differs_is_an_identity_mismatch(string field)
    {
        TeeIdentity identity = SimulatedPlatformScope.Identity(productId: 0x1234, securityVersion: 5);
        (byte[] quote, QuoteCollateral collateral) = await _scope.EvidenceAsync(identity);
        VerificationPolicy policy = field switch
        {
            "mrenclave" => AllowSimulation with { ExpectedMrEnclave = SimulatedPlatformScope.Measure("enclave-b") },
            "mrsigner" => AllowSimulation with { ExpectedMrSigner = SimulatedPlatformScope.Measure("signer-b") },
            "product" => AllowSimulation with { ExpectedProductId = 0x1235 },
            _ => AllowSimulation with { MinimumSecurityVersion = 6 },
        };

        QuoteVerificationResult result = _scope.Verifier().Verify(quote, collateral, policy);

        Assert.False(result.Verified);
        Assert.Equal(VerificationError.IdentityMismatch, result.Error);
        Assert.True(result.IsSimulated);
    }

    [Fact]
    public async Task An_expected_identity_that_matches_verifies()
    {
        TeeIdentity identity = SimulatedPlatformScope.Identity(productId: 0x1234, securityVersion: 5);
        (byte[] quote, QuoteCollateral collateral) = await _scope.EvidenceAsync(identity);
        QuoteVerifier verifier = _scope.Verifier();

        foreach (ushort minimum in new ushort[] { 0, 4, 5 })
        {
            VerificationPolicy policy = AllowSimulation with
            {
                ExpectedMrEnclave = identity.UniqueId,
                ExpectedMrSigner = identity.SignerId,
                ExpectedProductId = identity.ProductId,
                MinimumSecurityVersion = minimum,
            };
            QuoteVerificationResult result = verifier.Verify(quote, collateral, policy);
            Assert.True(result.Verified, $"minimum SVN {minimum}: {result.Error}: {result.ErrorMessage}");
        }
    }

    [Fact]
    public async Task A_tampered_simulated_quote_or_collateral_is_refused_like_a_real_one()
    {
        (byte[] quote, QuoteCollateral collateral) = await _scope.EvidenceAsync(SimulatedPlatformScope.Identity());
        QuoteVerifier verifier = _scope.Verifier();
        Assert.True(verifier.Verify(quote, collateral, AllowSimulation).Verified);

        // v3 offsets (shared/testvectors/dcap/README.md): body 48..432, QE report 564..948, auth data 1014..1046.
        (int Offset, VerificationError Error)[] flips =
        [
            (112, VerificationError.InvalidQuoteSignature),
            (40, VerificationError.InvalidQuoteSignature),
            (440, VerificationError.InvalidQuoteSignature),
            (510, VerificationError.QeReportDataMismatch),
            (600, VerificationError.InvalidQeReportSignature),
            (960, VerificationError.InvalidQeReportSignature),
            (1020, VerificationError.QeReportDataMismatch),
        ];
        Assert.Equal(32, BitConverter.ToUInt16(quote, 1012));
        foreach ((int offset, VerificationError error) in flips)
        {
            byte[] flipped = (byte[])quote.Clone();
            flipped[offset] ^= 0xFF;
            Assert.Equal(error, verifier.Verify(flipped, collateral, AllowSimulation).Error);
        }

        string tcbInfo = collateral.TcbInfo.Replace("UpToDate", "UpToDatf", StringComparison.Ordinal);
        Assert.Equal(VerificationError.InvalidTcbInfoSignature, verifier.Verify(quote, collateral with { TcbInfo = tcbInfo }, AllowSimulation).Error);
        Assert.Equal(VerificationError.InvalidCrl, verifier.Verify(quote, collateral with { PckCrl = collateral.RootCaCrl }, AllowSimulation).Error);
    }

    [Fact]
    public async Task The_collateral_is_valid_from_an_hour_before_issue_for_thirty_days()
    {
        (byte[] quote, QuoteCollateral collateral) = await _scope.EvidenceAsync(SimulatedPlatformScope.Identity());
        TimeSpan from = TimeSpan.FromHours(-1);
        TimeSpan until = TimeSpan.FromDays(30);

        QuoteVerificationResult now = _scope.Verifier().Verify(quote, collateral, AllowSimulation);
        Assert.Equal(_scope.Now + from, now.CollateralValidFrom);
        Assert.Equal(_scope.Now + until, now.CollateralValidUntil);

        Assert.True(_scope.Verifier(offset: from).Verify(quote, collateral, AllowSimulation).Verified);
        Assert.Equal(VerificationError.CollateralNotYetValid, _scope.Verifier(offset: from - TimeSpan.FromSeconds(1)).Verify(quote, collateral, AllowSimulation).Error);
        Assert.True(_scope.Verifier(offset: until - TimeSpan.FromSeconds(1)).Verify(quote, collateral, AllowSimulation).Verified);
        Assert.Equal(VerificationError.CollateralExpired, _scope.Verifier(offset: until).Verify(quote, collateral, AllowSimulation).Error);
    }

    [Fact]
    public async Task The_collateral_json_of_the_evidence_is_the_platforms_collateral()
    {
        (byte[] quote, QuoteCollateral collateral) = await _scope.EvidenceAsync(SimulatedPlatformScope.Identity());
        Assert.Equal(_scope.Platform.GetCollateral(), collateral);
        Assert.Equal(collateral, QuoteCollateral.FromJson(collateral.ToJson()));

        // And the same collateral reaches the verifier through the platform's provider.
        QuoteVerificationResult viaProvider = await _scope.Verifier().VerifyAsync(quote, new Tee.Simulation.SimulatedCollateralProvider(_scope.Platform), AllowSimulation, TestContext.Current.CancellationToken);
        Assert.True(viaProvider.Verified, $"{viaProvider.Error}: {viaProvider.ErrorMessage}");
        Assert.True(viaProvider.IsSimulated);
    }
}
