using System.Text.Json;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;

namespace Confide.Attestation.Tests.Verification;

/// <summary>Every real quote verified at its recorded time gives exactly the verdict expected.json records.</summary>
public sealed class VectorVerificationTests
{
    public static TheoryData<string> Vectors => DcapVectors.All;

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Each_vector_at_its_verification_time_gives_the_expected_verdict(string name)
    {
        JsonElement expected = DcapVectors.Expected(name);
        JsonElement expect = expected.GetProperty("expect");
        QuoteVerificationResult result = Verify(name, expected.GetProperty("verify_at").GetInt64(), VerificationPolicy.AnyNonRevokedTcb);

        if (expect.GetProperty("ok").GetBoolean())
        {
            Assert.True(result.Verified, $"{result.Error}: {result.ErrorMessage}");
            Assert.Equal(expect.GetProperty("status").GetString(), result.TcbStatus.ToString());
            Assert.Equal(
                expect.GetProperty("advisory_ids").EnumerateArray().Select(a => a.GetString()).Order(),
                result.AdvisoryIds.Order());
            Assert.Equal(expected.GetProperty("intel_qvl").GetProperty("qe_tcb_status").GetString(), result.QeTcbStatus.ToString());
            Assert.False(result.IsSimulated);
        }
        else
        {
            Assert.False(result.Verified);
            Assert.Equal(expect.GetProperty("reason").GetString(), result.Error.ToString());
        }
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void The_collateral_window_is_the_one_expected_json_records(string name)
    {
        JsonElement expected = DcapVectors.Expected(name);
        if (!expected.GetProperty("expect").GetProperty("ok").GetBoolean())
        {
            return;
        }

        QuoteVerificationResult result = Verify(name, expected.GetProperty("verify_at").GetInt64(), VerificationPolicy.AnyNonRevokedTcb);
        long[] window = expected.GetProperty("window").EnumerateArray().Select(w => w.GetInt64()).ToArray();
        Assert.Equal(window[0], result.CollateralValidFrom!.Value.ToUnixTimeSeconds());
        Assert.Equal(window[1], result.CollateralValidUntil!.Value.ToUnixTimeSeconds());

        Assert.Equal(VerificationError.CollateralNotYetValid, Verify(name, window[0] - 1, VerificationPolicy.AnyNonRevokedTcb).Error);
        Assert.Equal(VerificationError.CollateralExpired, Verify(name, window[1], VerificationPolicy.AnyNonRevokedTcb).Error);
        Assert.True(Verify(name, window[0], VerificationPolicy.AnyNonRevokedTcb).Verified);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Today_every_vector_is_rejected_as_expired(string name)
    {
        var verifier = new QuoteVerifier();
        QuoteVerificationResult result = verifier.Verify(DcapVectors.Quote(name), Collateral(name), VerificationPolicy.AnyNonRevokedTcb);
        Assert.False(result.Verified);
        if (DcapVectors.Expected(name).GetProperty("expect").GetProperty("ok").GetBoolean())
        {
            Assert.Equal(VerificationError.CollateralExpired, result.Error);
        }
    }

    [Fact]
    public void The_strict_default_policy_accepts_only_up_to_date_and_sw_hardening()
    {
        Assert.True(Verify("sgx_v3_automata", 1755236700, VerificationPolicy.Default).Verified); // SWHardeningNeeded
        QuoteVerificationResult phala = Verify("sgx_v3_phala", 1751328000, VerificationPolicy.Default);
        Assert.False(phala.Verified);
        Assert.Equal(VerificationError.TcbStatusNotAccepted, phala.Error);
        Assert.Equal(TcbStatus.ConfigurationAndSWHardeningNeeded, phala.TcbStatus);
        Assert.Equal(VerificationError.TcbStatusNotAccepted, Verify("tdx_v4_automata", 1740787200, VerificationPolicy.Default).Error);
    }

    [Fact]
    public void Debug_and_service_td_pass_only_when_the_policy_allows_them()
    {
        QuoteVerificationResult debug = Verify("sgx_v3_debug", 1751328000, VerificationPolicy.AnyNonRevokedTcb with { AllowDebug = true });
        Assert.True(debug.Verified);
        Assert.Equal(TcbStatus.ConfigurationAndSWHardeningNeeded, debug.TcbStatus);

        QuoteVerificationResult serviceTd = Verify("tdx_v5_automata", 1750809600, VerificationPolicy.AnyNonRevokedTcb with { AllowServiceTd = true });
        Assert.True(serviceTd.Verified);
        Assert.Equal(TcbStatus.UpToDate, serviceTd.TcbStatus);
    }

    internal static QuoteVerificationResult Verify(string name, long at, VerificationPolicy policy, byte[]? quote = null, QuoteCollateral? collateral = null)
    {
        var options = new QuoteVerifierOptions { TimeProvider = FixedTime.At(at) };
        return new QuoteVerifier(options).Verify(quote ?? DcapVectors.Quote(name), collateral ?? Collateral(name), policy);
    }

    internal static QuoteCollateral Collateral(string name)
    {
        string file = DcapVectors.Expected(name).GetProperty("collateral").GetString()!;
        return QuoteCollateral.FromJson(File.ReadAllText(Path.Combine(DcapVectors.Directory, file)));
    }
}
