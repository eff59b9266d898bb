using System.Text.RegularExpressions;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;
using Confide.Tee.Simulation;
using Confide.Tee.Tests.Support;

namespace Confide.Tee.Tests;

/// <summary>
/// Simulated evidence goes through the same DCAP verifier as real quotes. Because the simulated
/// platform holds its TCB signing and PCK CA keys, it can also sign collateral no real vector
/// has (every TCB status, a revoked PCK certificate), to test the verifier's status rules.
/// </summary>
public sealed class SimulatedEvidenceVerificationTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private static readonly VerificationPolicy AllowSimulation = VerificationPolicy.AnyNonRevokedTcb with { AllowSimulation = true };

    [Fact]
    public async Task A_simulated_quote_verifies_through_the_collateral_provider_only_when_simulation_is_allowed()
    {
        byte[] quote = await QuoteAsync();
        var provider = new SimulatedCollateralProvider(fixture.Platform);

        QuoteVerificationResult allowed = await Verifier().VerifyAsync(quote, provider, AllowSimulation, TestContext.Current.CancellationToken);
        Assert.True(allowed.Verified, allowed.ErrorMessage);
        Assert.True(allowed.IsSimulated);
        Assert.Equal(TcbStatus.UpToDate, allowed.TcbStatus);

        QuoteVerificationResult strict = await Verifier().VerifyAsync(quote, provider, VerificationPolicy.Default, TestContext.Current.CancellationToken);
        Assert.Equal(VerificationError.SimulationNotAllowed, strict.Error);

        QuoteVerificationResult unknownRoot = await new QuoteVerifier().VerifyAsync(quote, provider, AllowSimulation, TestContext.Current.CancellationToken);
        Assert.Equal(VerificationError.UntrustedRoot, unknownRoot.Error);
    }

    [Theory]
    [InlineData("UpToDate")]
    [InlineData("SWHardeningNeeded")]
    [InlineData("ConfigurationNeeded")]
    [InlineData("ConfigurationAndSWHardeningNeeded")]
    [InlineData("OutOfDate")]
    [InlineData("OutOfDateConfigurationNeeded")]
    public async Task Every_platform_tcb_status_is_reported_as_signed(string status)
    {
        QuoteCollateral collateral = WithTcbInfo(Collateral(), text => ReplaceFirst(text, "\"tcbStatus\":\"UpToDate\"", $"\"tcbStatus\":\"{status}\""));

        QuoteVerificationResult result = Verifier().Verify(await QuoteAsync(), collateral, AllowSimulation);
        Assert.True(result.Verified, result.ErrorMessage);
        Assert.Equal(status, result.TcbStatus.ToString());
    }

    [Fact]
    public async Task A_revoked_tcb_level_never_verifies_whatever_the_policy()
    {
        QuoteCollateral collateral = WithTcbInfo(Collateral(), text => ReplaceFirst(text, "\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"Revoked\""));
        var everything = AllowSimulation with { AcceptedTcbStatuses = Enum.GetValues<TcbStatus>().ToHashSet() };

        QuoteVerificationResult result = Verifier().Verify(await QuoteAsync(), collateral, everything);
        Assert.False(result.Verified);
        Assert.Equal(VerificationError.TcbStatusNotAccepted, result.Error);
        Assert.Equal(TcbStatus.Revoked, result.TcbStatus);
    }

    [Theory]
    [InlineData("UpToDate", "OutOfDate", "OutOfDate")]
    [InlineData("SWHardeningNeeded", "OutOfDate", "OutOfDate")]
    [InlineData("ConfigurationNeeded", "OutOfDate", "OutOfDateConfigurationNeeded")]
    [InlineData("ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded")]
    [InlineData("OutOfDate", "OutOfDate", "OutOfDate")]
    [InlineData("ConfigurationNeeded", "UpToDate", "ConfigurationNeeded")]
    [InlineData("UpToDate", "Revoked", "Revoked")]
    public async Task The_qe_status_converges_with_the_platform_status_as_in_intels_qvl(string platform, string qe, string expected)
    {
        QuoteCollateral collateral = WithTcbInfo(Collateral(), text => ReplaceFirst(text, "\"tcbStatus\":\"UpToDate\"", $"\"tcbStatus\":\"{platform}\""));
        collateral = WithQeIdentity(collateral, text => ReplaceFirst(text, "\"tcbStatus\":\"UpToDate\"", $"\"tcbStatus\":\"{qe}\""));
        var everything = AllowSimulation with { AcceptedTcbStatuses = Enum.GetValues<TcbStatus>().ToHashSet() };

        QuoteVerificationResult result = Verifier().Verify(await QuoteAsync(), collateral, everything);
        Assert.Equal(expected, result.TcbStatus.ToString());
        Assert.Equal(qe, result.QeTcbStatus.ToString());
    }

    [Fact]
    public async Task A_platform_below_every_tcb_level_is_tcb_level_not_found()
    {
        QuoteCollateral collateral = WithTcbInfo(Collateral(), text => Regex.Replace(text, "\"svn\":\\d+", "\"svn\":255"));

        QuoteVerificationResult result = Verifier().Verify(await QuoteAsync(), collateral, AllowSimulation);
        Assert.Equal(VerificationError.TcbLevelNotFound, result.Error);
    }

    [Fact]
    public async Task A_qe_below_every_qe_identity_level_is_qe_tcb_level_not_found()
    {
        QuoteCollateral collateral = WithQeIdentity(Collateral(), text => Regex.Replace(text, "\"isvsvn\":\\d+", "\"isvsvn\":999"));

        QuoteVerificationResult result = Verifier().Verify(await QuoteAsync(), collateral, AllowSimulation);
        Assert.Equal(VerificationError.QeTcbLevelNotFound, result.Error);
    }

    [Fact]
    public async Task A_revoked_pck_certificate_is_refused()
    {
        byte[] quote = await QuoteAsync();
        QuoteCollateral collateral = Collateral() with { PckCrl = fixture.Platform.IssuePckCrl([fixture.Platform.PckCertificate.SerialNumberBytes.ToArray()]) };

        QuoteVerificationResult result = Verifier().Verify(quote, collateral, AllowSimulation);
        Assert.Equal(VerificationError.CertificateRevoked, result.Error);

        QuoteCollateral otherSerial = Collateral() with { PckCrl = fixture.Platform.IssuePckCrl([[0x01, 0x02, 0x03]]) };
        Assert.True(Verifier().Verify(quote, otherSerial, AllowSimulation).Verified);
    }

    [Fact]
    public async Task Signed_collateral_for_another_platform_or_quoting_enclave_does_not_match()
    {
        byte[] quote = await QuoteAsync();
        QuoteCollateral otherFmspc = WithTcbInfo(Collateral(), text => Regex.Replace(text, "\"fmspc\":\"[0-9A-Fa-f]+\"", "\"fmspc\":\"00906ED50000\""));
        Assert.Equal(VerificationError.TcbInfoMismatch, Verifier().Verify(quote, otherFmspc, AllowSimulation).Error);

        QuoteCollateral otherQe = WithQeIdentity(Collateral(), text => Regex.Replace(text, "\"mrsigner\":\"[0-9A-Fa-f]+\"", "\"mrsigner\":\"" + new string('A', 64) + "\""));
        Assert.Equal(VerificationError.QeIdentityMismatch, Verifier().Verify(quote, otherQe, AllowSimulation).Error);

        QuoteCollateral tdx = WithTcbInfo(Collateral(), text => text.Replace("\"id\":\"SGX\"", "\"id\":\"TDX\"", StringComparison.Ordinal));
        Assert.Equal(VerificationError.TcbInfoMismatch, Verifier().Verify(quote, tdx, AllowSimulation).Error);
    }

    [Fact]
    public async Task Expected_identity_is_checked_by_the_policy()
    {
        TeeIdentity identity = Identities.Simulated();
        byte[] quote = await QuoteAsync(identity);

        var matching = AllowSimulation with { ExpectedMrEnclave = identity.UniqueId, ExpectedMrSigner = identity.SignerId, ExpectedProductId = identity.ProductId, MinimumSecurityVersion = identity.SecurityVersion };
        Assert.True(Verifier().Verify(quote, Collateral(), matching).Verified);
        Assert.Equal(VerificationError.IdentityMismatch, Verifier().Verify(quote, Collateral(), AllowSimulation with { ExpectedMrEnclave = new byte[32] }).Error);
        Assert.Equal(VerificationError.IdentityMismatch, Verifier().Verify(quote, Collateral(), AllowSimulation with { ExpectedMrSigner = new byte[32] }).Error);
        Assert.Equal(VerificationError.IdentityMismatch, Verifier().Verify(quote, Collateral(), AllowSimulation with { ExpectedProductId = (ushort)(identity.ProductId + 1) }).Error);
        Assert.Equal(VerificationError.IdentityMismatch, Verifier().Verify(quote, Collateral(), AllowSimulation with { MinimumSecurityVersion = (ushort)(identity.SecurityVersion + 1) }).Error);

        byte[] debugQuote = await QuoteAsync(identity with { Debug = true });
        Assert.Equal(VerificationError.DebugEnclave, Verifier().Verify(debugQuote, Collateral(), AllowSimulation).Error);
        Assert.True(Verifier().Verify(debugQuote, Collateral(), AllowSimulation with { AllowDebug = true }).Verified);
    }

    private QuoteVerifier Verifier()
    {
        var options = new QuoteVerifierOptions();
        options.SimulationRoots.Add(fixture.Platform.RootCertificate);
        return new QuoteVerifier(options);
    }

    private async Task<byte[]> QuoteAsync(TeeIdentity? identity = null)
    {
        using SimulationTee tee = fixture.Tee(identity ?? Identities.Simulated());
        return (await tee.GetEvidenceAsync("nonce"u8.ToArray(), TestContext.Current.CancellationToken)).Data;
    }

    private QuoteCollateral Collateral() => fixture.Platform.GetCollateral();

    private QuoteCollateral WithTcbInfo(QuoteCollateral collateral, Func<string, string> edit)
    {
        string text = edit(collateral.TcbInfo);
        return collateral with { TcbInfo = text, TcbInfoSignature = fixture.Platform.SignAsTcbSigner(text) };
    }

    private QuoteCollateral WithQeIdentity(QuoteCollateral collateral, Func<string, string> edit)
    {
        string text = edit(collateral.QeIdentity);
        return collateral with { QeIdentity = text, QeIdentitySignature = fixture.Platform.SignAsTcbSigner(text) };
    }

    private static string ReplaceFirst(string text, string original, string replacement)
    {
        int index = text.IndexOf(original, StringComparison.Ordinal);
        Assert.True(index >= 0, $"'{original}' is not in the collateral.");
        return string.Concat(text.AsSpan(0, index), replacement, text.AsSpan(index + original.Length));
    }
}
