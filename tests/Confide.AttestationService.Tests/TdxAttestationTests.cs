using System.Net.Http.Json;
using System.Text.Json;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.AttestationService.Tokens;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Tests;

/// <summary>POST /attest/TdxVm with the real TDX quotes of the test vectors, at their verification times.</summary>
public sealed class TdxAttestationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Verifiable => new("tdx_v4_phala", "tdx_v4_near", "tdx_v4_automata");

    [Theory]
    [MemberData(nameof(Verifiable))]
    public async Task A_real_tdx_quote_gets_a_token_with_the_tdx_eat_profile_claims(string name)
    {
        JsonElement expected = DcapVectors.Expected(name);
        JsonElement fields = expected.GetProperty("fields");
        await using ServiceHost service = await ServiceHost.StartAsync(Options(name));

        JsonWebToken token = await MaaAssert.TokenAsync(await service.Client.PostAsJsonAsync(
            "/attest/TdxVm?api-version=2025-06-01", new { quote = Base64UrlEncoder.Encode(DcapVectors.Quote(name)), nonce = "n-1" }, Ct));

        Assert.Equal("RS256", token.Alg);
        Assert.Equal("tdxvm", token.GetPayloadValue<string>("x-ms-attestation-type"));
        Assert.Equal(TdxTokenClaims.EatProfile, token.GetPayloadValue<string>("eat_profile"));
        Assert.Equal("1.0", token.GetPayloadValue<string>("x-ms-ver"));
        Assert.Equal("n-1", token.GetPayloadValue<string>("nonce"));
        Assert.Equal(expected.GetProperty("expect").GetProperty("status").GetString(), token.GetPayloadValue<string>("attester_tcb_status"));
        foreach ((string claim, string field) in new[]
        {
            ("tdx_mrtd", "mr_td"), ("tdx_mrseam", "mr_seam"), ("tdx_mrsignerseam", "mr_signer_seam"), ("tdx_rtmr0", "rtmr0"),
            ("tdx_rtmr1", "rtmr1"), ("tdx_rtmr2", "rtmr2"), ("tdx_rtmr3", "rtmr3"), ("tdx_mrconfigid", "mr_config_id"),
            ("tdx_mrowner", "mr_owner"), ("tdx_mrownerconfig", "mr_owner_config"), ("tdx_report_data", "report_data"),
            ("tdx_tee_tcb_svn", "tee_tcb_svn"), ("tdx_xfam", "xfam"), ("tdx_td_attributes", "td_attributes"), ("tdx_seam_attributes", "seam_attributes"),
        })
        {
            Assert.Equal(fields.GetProperty(field).GetString(), token.GetPayloadValue<string>(claim));
        }

        byte[] teeTcbSvn = Convert.FromHexString(fields.GetProperty("tee_tcb_svn").GetString()!);
        Assert.Equal(teeTcbSvn[0] | (teeTcbSvn[1] << 8), token.GetPayloadValue<int>("tdx_seamsvn"));
        ulong attributes = BitConverter.ToUInt64(Convert.FromHexString(fields.GetProperty("td_attributes").GetString()!));
        Assert.Equal((attributes & (1UL << 28)) != 0, token.GetPayloadValue<bool>("tdx_td_attributes_septve_disable"));
        Assert.Equal(fields.GetProperty("debug").GetBoolean(), token.GetPayloadValue<bool>("tdx_td_attributes_debug"));
        Assert.Equal(fields.GetProperty("debug").GetBoolean() ? "enabled" : "disabled", token.GetPayloadValue<string>("dbgstat"));

        // The documented TDX sample token's policy hash (learn.microsoft.com, attestation-token-examples) is this policy's.
        Assert.Equal("B56nbp5slhw66peoRYkpdq1WykMkEworvdol08hnMXE", token.GetPayloadValue<string>("x-ms-policy-hash"));
    }

    [Fact]
    public async Task Tdx_requests_that_do_not_fit_are_refused_with_maa_errors()
    {
        const string name = "tdx_v4_phala";
        await using ServiceHost service = await ServiceHost.StartAsync(Options(name));
        string quote = Base64UrlEncoder.Encode(DcapVectors.Quote(name));

        // Microsoft's own TDX client still sends the 2023-04-01-preview api-version.
        await MaaAssert.TokenAsync(await service.Client.PostAsJsonAsync("/attest/TdxVm?api-version=2023-04-01-preview", new { quote }, Ct));

        await MaaAssert.ErrorAsync(await service.Client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2025-06-01", new { quote }, Ct), "InvalidParameter", "use /attest/TdxVm");
        await MaaAssert.ErrorAsync(await service.Client.PostAsJsonAsync("/attest/TdxVm?api-version=2025-06-01", new { quote, runtimeData = new { data = "AQID", dataType = "JSON" } }, Ct), "InvalidParameter", "SuppliedRuntimeDataDigest");
        await MaaAssert.ErrorAsync(await service.Client.PostAsJsonAsync("/attest/TdxVm?api-version=2025-06-01", new { quote = quote[..400] }, Ct), "InvalidParameter", "MalformedQuote");

        const string sgx = "sgx_v3_phala";
        await using ServiceHost sgxService = await ServiceHost.StartAsync(Options(sgx));
        await MaaAssert.ErrorAsync(await sgxService.Client.PostAsJsonAsync("/attest/TdxVm?api-version=2025-06-01", new { quote = Base64UrlEncoder.Encode(DcapVectors.Quote(sgx)) }, Ct), "InvalidParameter", "use /attest/SgxEnclave");

        const string noTcb = "tdx_v5_notcb";
        await using ServiceHost noTcbService = await ServiceHost.StartAsync(Options(noTcb));
        await MaaAssert.ErrorAsync(await noTcbService.Client.PostAsJsonAsync("/attest/TdxVm?api-version=2025-06-01", new { quote = Base64UrlEncoder.Encode(DcapVectors.Quote(noTcb)) }, Ct), "InvalidQuote", "TcbLevelNotFound");

        // The same quote after its collateral expired.
        var late = new AttestationServiceOptions
        {
            Collateral = new FileCollateralProvider(Path.Combine(DcapVectors.Directory, name + ".collateral.json")),
            Verifier = new QuoteVerifierOptions { TimeProvider = new PinnedTimeProvider(DateTimeOffset.FromUnixTimeSeconds(DcapVectors.Expected(name).GetProperty("window")[1].GetInt64() + 1)) },
        };
        await using ServiceHost expired = await ServiceHost.StartAsync(late);
        await MaaAssert.ErrorAsync(await expired.Client.PostAsJsonAsync("/attest/TdxVm?api-version=2025-06-01", new { quote }, Ct), "InvalidQuote", "Expired");
    }

    private static AttestationServiceOptions Options(string name) => new()
    {
        Collateral = new FileCollateralProvider(Path.Combine(DcapVectors.Directory, name + ".collateral.json")),
        Verifier = new QuoteVerifierOptions { TimeProvider = new PinnedTimeProvider(DateTimeOffset.FromUnixTimeSeconds(DcapVectors.Expected(name).GetProperty("verify_at").GetInt64())) },
    };
}
