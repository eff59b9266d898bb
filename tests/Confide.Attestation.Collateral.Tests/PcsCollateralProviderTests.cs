using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Confide.Attestation.Collateral;
using Confide.Attestation.Collateral.Tests.Support;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Collateral.Tests;

public sealed class PcsCollateralProviderTests
{
    private const string SgxTcb = "/sgx/certification/v4/tcb";
    private const string SgxQe = "/sgx/certification/v4/qe/identity";
    private const string PckCrl = "/sgx/certification/v4/pckcrl";
    private const string RootCrl = "/sgx/certification/v4/rootcacrl";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(DcapVectors.All), MemberType = typeof(DcapVectors))]
    public async Task Returns_exactly_the_collateral_the_server_holds(string vector)
    {
        VectorInfo info = VectorInfo.Of(vector);
        await using FakePcs pcs = new FakePcs().Add(info);
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, pcs.PccsOptions(), new ManualTimeProvider(info.VerifyAt));

        QuoteCollateral collateral = await provider.GetCollateralAsync(info.Request, Ct);

        VectorInfo.AssertSame(info.Collateral, collateral);
        CollateralJson.Validate(collateral);
        string tee = info.Tee.ToLowerInvariant();
        Assert.Equal(
            new[]
            {
                $"/sgx/certification/v4/pckcrl?ca={info.Ca}&encoding=der",
                RootCrl,
                $"/{tee}/certification/v4/qe/identity",
                $"/{tee}/certification/v4/tcb?fmspc={info.FmspcHex.ToUpperInvariant()}",
            }.Order(StringComparer.Ordinal),
            pcs.Server.Requests.Select(r => r.Target).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Tdx_requests_use_the_tdx_paths_and_the_platform_crl()
    {
        VectorInfo info = VectorInfo.Of("tdx_v4_near");
        await using FakePcs pcs = new FakePcs().Add(info);
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, pcs.PccsOptions(), new ManualTimeProvider(info.VerifyAt));

        await provider.GetCollateralAsync(info.Request, Ct);

        Assert.Equal(1, pcs.Server.Hits("/tdx/certification/v4/tcb?fmspc=20A06F000000"));
        Assert.Equal(1, pcs.Server.Hits("/tdx/certification/v4/qe/identity"));
        Assert.Equal(1, pcs.Server.Hits("/sgx/certification/v4/pckcrl?ca=platform&encoding=der"));
        Assert.Equal(0, pcs.Server.Hits(SgxTcb));
        Assert.Equal(0, pcs.Server.Hits(SgxQe));
    }

    [Fact]
    public async Task The_root_ca_crl_can_come_as_der_from_a_separate_address()
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, pcs.IntelStyleOptions(), new ManualTimeProvider(info.VerifyAt));

        QuoteCollateral collateral = await provider.GetCollateralAsync(info.Request, Ct);

        VectorInfo.AssertSame(info.Collateral, collateral);
        Assert.Equal(1, pcs.Server.Hits("/IntelSGXRootCA.der"));
        Assert.Equal(0, pcs.Server.Hits(RootCrl));
    }

    [Fact]
    public async Task The_signed_text_is_cut_out_verbatim_whatever_the_body_layout()
    {
        VectorInfo info = VectorInfo.Of("tdx_v4_automata");
        await using FakePcs pcs = new FakePcs().Add(info);
        pcs.BodyLayout = (key, text, signature) =>
            $"{{\r\n  \"signature\" : \"{signature.ToUpperInvariant()}\" ,\n  \"extra\": {{\"tcbInfo\": [1, \"}}\"]}},\n  \"{key}\"  :\t{text}\n}}\n";
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, pcs.PccsOptions(), new ManualTimeProvider(info.VerifyAt));

        VectorInfo.AssertSame(info.Collateral, await provider.GetCollateralAsync(info.Request, Ct));
    }

    [Fact]
    public async Task Escapes_braces_in_strings_and_nesting_survive_extraction()
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        const string tricky =
            "{\"id\":\"SGX\" , \"fmspc\":\"00a067110000\",\"nextUpdate\":\"2099-01-01T00:00:00Z\","
            + "\"note\":\"}{\\\"]\\u00e9 \\\\\",\"nested\":{\"a\":[1,{\"b\":\"}\"}],\"c\":{}}, \"x\" : [ ] ,\"é\":\"ü\"}";
        await using FakePcs pcs = new FakePcs().Add(info);
        pcs.Override = request => request.Path == SgxTcb
            ? pcs.Signed("tcbInfo", tricky, info.Collateral.TcbInfoSignature, "TCB-Info-Issuer-Chain", info.Collateral.TcbInfoIssuerChain)
            : null;
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, pcs.PccsOptions(), new ManualTimeProvider(info.VerifyAt));

        QuoteCollateral collateral = await provider.GetCollateralAsync(info.Request, Ct);

        Assert.Equal(tricky, collateral.TcbInfo, StringComparer.Ordinal);
    }

    [Fact]
    public async Task Pieces_are_cached_until_their_next_update()
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        DateTimeOffset qeNext = VectorInfo.NextUpdate(info.Collateral.QeIdentity);
        DateTimeOffset tcbNext = VectorInfo.NextUpdate(info.Collateral.TcbInfo);
        DateTimeOffset pckCrlNext = DateTimeOffset.Parse("2025-07-19T10:23:18Z", System.Globalization.CultureInfo.InvariantCulture); // openssl crl -nextupdate
        Assert.True(qeNext < pckCrlNext && pckCrlNext < tcbNext, "the phala vector's dates are ordered QE < PCK CRL < TCB");

        await using FakePcs pcs = new FakePcs().Add(info);
        using var http = new HttpClient();
        var clock = new ManualTimeProvider(info.VerifyAt);
        using var provider = new PcsCollateralProvider(http, pcs.PccsOptions(), clock);

        await provider.GetCollateralAsync(info.Request, Ct);
        AssertHits(pcs, tcb: 1, qe: 1, pck: 1, root: 1);

        VectorInfo.AssertSame(info.Collateral, await provider.GetCollateralAsync(info.Request, Ct));
        AssertHits(pcs, tcb: 1, qe: 1, pck: 1, root: 1);

        clock.Set(qeNext.AddSeconds(-1));
        await provider.GetCollateralAsync(info.Request, Ct);
        AssertHits(pcs, tcb: 1, qe: 1, pck: 1, root: 1);

        clock.Set(qeNext);
        await provider.GetCollateralAsync(info.Request, Ct);
        AssertHits(pcs, tcb: 1, qe: 2, pck: 1, root: 1);

        clock.Set(tcbNext);
        VectorInfo.AssertSame(info.Collateral, await provider.GetCollateralAsync(info.Request, Ct));
        AssertHits(pcs, tcb: 2, qe: 3, pck: 2, root: 1);

        provider.ClearCache();
        clock.Set(info.VerifyAt);
        await provider.GetCollateralAsync(info.Request, Ct);
        AssertHits(pcs, tcb: 3, qe: 4, pck: 3, root: 2);
    }

    [Fact]
    public async Task Pieces_are_shared_between_requests_and_the_ca_selects_the_pck_crl()
    {
        VectorInfo processor = VectorInfo.Of("sgx_v3_phala");
        VectorInfo platform = VectorInfo.Of("sgx_v3_automata");
        await using FakePcs pcs = new FakePcs().Add(processor).Add(platform);
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, pcs.PccsOptions(), new ManualTimeProvider(processor.VerifyAt));

        QuoteCollateral first = await provider.GetCollateralAsync(processor.Request, Ct);
        QuoteCollateral second = await provider.GetCollateralAsync(platform.Request, Ct);

        Assert.Equal(1, pcs.Server.Hits("/sgx/certification/v4/pckcrl?ca=processor&encoding=der"));
        Assert.Equal(1, pcs.Server.Hits("/sgx/certification/v4/pckcrl?ca=platform&encoding=der"));
        Assert.Equal(1, pcs.Server.Hits("/sgx/certification/v4/tcb?fmspc=00A067110000"));
        Assert.Equal(1, pcs.Server.Hits("/sgx/certification/v4/tcb?fmspc=00606A000000"));
        Assert.Equal(1, pcs.Server.Hits(SgxQe));
        Assert.Equal(1, pcs.Server.Hits(RootCrl));

        Assert.Equal(processor.Collateral.PckCrl, first.PckCrl);
        Assert.Equal(platform.Collateral.PckCrl, second.PckCrl);
        Assert.Equal(platform.Collateral.TcbInfo, second.TcbInfo);
        Assert.Equal(first.QeIdentity, second.QeIdentity);
    }

    [Fact]
    public async Task MaxCacheAge_bounds_reuse_before_next_update()
    {
        VectorInfo info = VectorInfo.Of("tdx_v4_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        using var http = new HttpClient();
        var clock = new ManualTimeProvider(info.VerifyAt);
        PcsCollateralProviderOptions options = pcs.PccsOptions();
        options.MaxCacheAge = TimeSpan.FromHours(1);
        using var provider = new PcsCollateralProvider(http, options, clock);

        await provider.GetCollateralAsync(info.Request, Ct);
        clock.Advance(TimeSpan.FromMinutes(59));
        await provider.GetCollateralAsync(info.Request, Ct);
        Assert.Equal(4, pcs.Server.Requests.Count);

        clock.Advance(TimeSpan.FromMinutes(2));
        await provider.GetCollateralAsync(info.Request, Ct);
        Assert.Equal(8, pcs.Server.Requests.Count);
    }

    [Fact]
    public async Task With_the_cache_disabled_every_request_fetches()
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        using var http = new HttpClient();
        PcsCollateralProviderOptions options = pcs.PccsOptions();
        options.EnableCache = false;
        using var provider = new PcsCollateralProvider(http, options, new ManualTimeProvider(info.VerifyAt));

        await provider.GetCollateralAsync(info.Request, Ct);
        await provider.GetCollateralAsync(info.Request, Ct);

        Assert.Equal(8, pcs.Server.Requests.Count);
    }

    [Fact]
    public async Task Concurrent_requests_share_one_fetch_per_piece()
    {
        VectorInfo info = VectorInfo.Of("tdx_v5_automata");
        await using FakePcs pcs = new FakePcs().Add(info);
        pcs.Delay = TimeSpan.FromMilliseconds(150);
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, pcs.PccsOptions(), new ManualTimeProvider(info.VerifyAt));

        QuoteCollateral[] results = await Task.WhenAll(
            Enumerable.Range(0, 8).Select(_ => Task.Run(async () => await provider.GetCollateralAsync(info.Request, Ct), Ct)));

        Assert.Equal(4, pcs.Server.Requests.Count);
        Assert.All(results, r => VectorInfo.AssertSame(info.Collateral, r));
    }

    [Fact]
    public async Task Http_404_names_the_status_and_url()
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, pcs.PccsOptions(), new ManualTimeProvider(info.VerifyAt));

        CollateralException ex = await Assert.ThrowsAsync<CollateralException>(async () =>
            await provider.GetCollateralAsync(info.Request with { Fmspc = Convert.FromHexString("112233445566") }, Ct));

        Assert.Contains("HTTP 404", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{pcs.Server.BaseAddress}sgx/certification/v4/tcb?fmspc=112233445566", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http_500_is_reported_with_intels_error_headers_and_not_cached()
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        pcs.Override = request => request.Path == SgxQe
            ? new TestResponse(500, "boom"u8.ToArray(), [new("Error-Code", "InternalError"), new("Error-Message", "try later")])
            : null;
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, pcs.PccsOptions(), new ManualTimeProvider(info.VerifyAt));

        CollateralException ex = await Assert.ThrowsAsync<CollateralException>(async () => await provider.GetCollateralAsync(info.Request, Ct));
        Assert.Contains("HTTP 500", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Error-Code: InternalError", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/sgx/certification/v4/qe/identity", ex.Message, StringComparison.Ordinal);

        pcs.Override = null;
        VectorInfo.AssertSame(info.Collateral, await provider.GetCollateralAsync(info.Request, Ct));
        AssertHits(pcs, tcb: 1, qe: 2, pck: 1, root: 1); // the pieces that did arrive were kept
    }

    [Theory]
    [InlineData(SgxTcb, "TCB-Info-Issuer-Chain")]
    [InlineData(SgxQe, "SGX-Enclave-Identity-Issuer-Chain")]
    [InlineData(PckCrl, "SGX-PCK-CRL-Issuer-Chain")]
    public async Task A_missing_issuer_chain_header_is_named(string path, string header)
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        pcs.Override = request => request.Path == path ? pcs.Normal(request) with { Headers = [] } : null;

        CollateralException ex = await FailsAsync(pcs, info);
        Assert.Contains(header, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_older_tcb_info_chain_header_is_accepted()
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        pcs.Override = request => request.Path == SgxTcb
            ? pcs.Normal(request) with { Headers = [new("SGX-TCB-Info-Issuer-Chain", FakePcs.EncodeChain(info.Collateral.TcbInfoIssuerChain))] }
            : null;
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, pcs.PccsOptions(), new ManualTimeProvider(info.VerifyAt));

        VectorInfo.AssertSame(info.Collateral, await provider.GetCollateralAsync(info.Request, Ct));
    }

    [Theory]
    [InlineData(SgxTcb, "<html>Service Unavailable</html>", "not valid JSON")]
    [InlineData(SgxTcb, "[]", "not a JSON object")]
    [InlineData(SgxTcb, "{\"signature\":\"00\"}", "no \"tcbInfo\"")]
    [InlineData(SgxTcb, "{\"tcbInfo\":\"text\",\"signature\":\"00\"}", "not an object")]
    [InlineData(SgxTcb, "{\"tcbInfo\":{\"id\":\"SGX\"},\"signature\":\"00\"} x", "not valid JSON")]
    [InlineData(SgxQe, "{\"enclaveIdentity\":{\"id\":\"QE\"}}", "no \"signature\"")]
    [InlineData(PckCrl, "garbage", "not valid hex")]
    [InlineData(PckCrl, "3003020101", "CRL")]
    [InlineData(RootCrl, "", "empty")]
    [InlineData(RootCrl, "zz", "not valid hex")]
    public async Task A_garbage_body_is_a_CollateralException(string path, string body, string expected)
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        pcs.Override = request => request.Path == path ? pcs.Normal(request) with { Body = Encoding.UTF8.GetBytes(body) } : null;

        CollateralException ex = await FailsAsync(pcs, info);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("xyz", "not valid hex")]
    [InlineData("abcd", "2 bytes; expected 64")]
    public async Task A_bad_signature_is_a_CollateralException(string signature, string expected)
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        pcs.Override = request => request.Path == SgxTcb
            ? pcs.Signed("tcbInfo", info.Collateral.TcbInfo, signature, "TCB-Info-Issuer-Chain", info.Collateral.TcbInfoIssuerChain)
            : null;

        CollateralException ex = await FailsAsync(pcs, info);
        Assert.Contains("signature", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_header_that_is_not_a_pem_chain_is_a_CollateralException()
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        pcs.Override = request => request.Path == SgxQe
            ? pcs.Normal(request) with { Headers = [new("SGX-Enclave-Identity-Issuer-Chain", "not%20a%20chain")] }
            : null;

        CollateralException ex = await FailsAsync(pcs, info);
        Assert.Contains("SGX-Enclave-Identity-Issuer-Chain", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collateral_for_another_fmspc_tee_or_ca_is_refused()
    {
        VectorInfo phala = VectorInfo.Of("sgx_v3_phala");
        VectorInfo automata = VectorInfo.Of("sgx_v3_automata");
        VectorInfo tdx = VectorInfo.Of("tdx_v4_phala");

        // The server answers phala's FMSPC with automata's TCB info.
        await using (FakePcs pcs = new FakePcs().Add(phala))
        {
            pcs.Override = request => request.Path == SgxTcb
                ? pcs.Signed("tcbInfo", automata.Collateral.TcbInfo, automata.Collateral.TcbInfoSignature, "TCB-Info-Issuer-Chain", automata.Collateral.TcbInfoIssuerChain)
                : null;
            Assert.Contains("is for FMSPC 00606a000000", (await FailsAsync(pcs, phala)).Message, StringComparison.Ordinal);
        }

        // TDX TCB info and QE identity under the SGX paths.
        await using (FakePcs pcs = new FakePcs().Add("SGX", tdx.FmspcHex, "platform", tdx.Collateral))
        {
            CollateralException ex = await FailsAsync(pcs, tdx, tdx.Request with { TeeType = TeeType.Sgx });
            Assert.Contains("has id 'TDX'; expected 'SGX'", ex.Message, StringComparison.Ordinal);
            Assert.Contains("has id 'TD_QE'; expected 'QE'", ex.Message, StringComparison.Ordinal);
        }

        // The processor CA's CRL answered for ca=platform.
        await using (FakePcs pcs = new FakePcs().Add("SGX", phala.FmspcHex, "platform", phala.Collateral))
        {
            CollateralException ex = await FailsAsync(pcs, phala, phala.Request with { PckCa = PckCaType.Platform });
            Assert.Contains("not the PCK Platform CA", ex.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_oversized_body_is_refused(bool omitContentLength)
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        pcs.Override = request => pcs.Normal(request) with { OmitContentLength = omitContentLength };
        PcsCollateralProviderOptions options = pcs.PccsOptions();
        options.MaxResponseBytes = 2048; // the TCB info body (about 4.7 KB) is too big; the rest fits
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, options, new ManualTimeProvider(info.VerifyAt));

        CollateralException ex = await Assert.ThrowsAsync<CollateralException>(async () => await provider.GetCollateralAsync(info.Request, Ct));

        Assert.Contains("larger than 2048 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/sgx/certification/v4/tcb?fmspc=00A067110000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_slow_server_times_out()
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        pcs.Override = request => request.Path == PckCrl ? pcs.Normal(request) with { Delay = TimeSpan.FromSeconds(20) } : null;
        PcsCollateralProviderOptions options = pcs.PccsOptions();
        options.Timeout = TimeSpan.FromMilliseconds(300);
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, options, new ManualTimeProvider(info.VerifyAt));

        var stopwatch = Stopwatch.StartNew();
        CollateralException ex = await Assert.ThrowsAsync<CollateralException>(async () => await provider.GetCollateralAsync(info.Request, Ct));

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
        Assert.Contains("Timed out", ex.Message, StringComparison.Ordinal);
        Assert.Contains("pckcrl?ca=processor", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_connection_is_a_CollateralException()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, PcsCollateralProviderOptions.ForPccs(new Uri($"http://127.0.0.1:{port}/")));

        CollateralException ex = await Assert.ThrowsAsync<CollateralException>(async () =>
            await provider.GetCollateralAsync(VectorInfo.Of("sgx_v3_phala").Request, Ct));
        Assert.Contains("Cannot fetch", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Credentials_in_the_base_address_stay_out_of_messages()
    {
        VectorInfo info = VectorInfo.Of("sgx_v3_phala");
        await using FakePcs pcs = new FakePcs().Add(info);
        var baseAddress = new UriBuilder(pcs.Server.BaseAddress) { UserName = "user", Password = "s3cret", Path = "/pccs" }.Uri;
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, PcsCollateralProviderOptions.ForPccs(baseAddress), new ManualTimeProvider(info.VerifyAt));

        CollateralException ex = await Assert.ThrowsAsync<CollateralException>(async () => await provider.GetCollateralAsync(info.Request, Ct));

        Assert.Contains("HTTP 404", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/pccs/", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", ex.Message, StringComparison.Ordinal);
        Assert.All(pcs.Server.Requests, r => Assert.StartsWith("/pccs/", r.Target, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Invalid_requests_are_refused_without_network_access()
    {
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, PcsCollateralProviderOptions.ForPccs(new Uri("http://127.0.0.1:9/")));

        await Assert.ThrowsAsync<CollateralException>(async () =>
            await provider.GetCollateralAsync(new CollateralRequest(TeeType.Sgx, new byte[5], PckCaType.Processor), Ct));
        await Assert.ThrowsAsync<CollateralException>(async () =>
            await provider.GetCollateralAsync(new CollateralRequest((TeeType)0x42, new byte[6], PckCaType.Processor), Ct));
    }

    [Fact]
    public void Options_are_validated_and_default_to_intel()
    {
        var defaults = new PcsCollateralProviderOptions();
        Assert.Equal("https://api.trustedservices.intel.com/", defaults.BaseAddress.ToString());
        Assert.Equal("https://certificates.trustedservices.intel.com/IntelSGXRootCA.der", defaults.RootCaCrlAddress.ToString());
        Assert.Equal("https://pccs.example:8081/x/sgx/certification/v4/rootcacrl", PcsCollateralProviderOptions.ForPccs(new Uri("https://pccs.example:8081/x")).RootCaCrlAddress.ToString());

        using var http = new HttpClient();
        Assert.Throws<ArgumentException>(() => new PcsCollateralProvider(http, new PcsCollateralProviderOptions { BaseAddress = new Uri("ftp://x/") }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PcsCollateralProvider(http, new PcsCollateralProviderOptions { Timeout = TimeSpan.Zero }));
    }

    private static async Task<CollateralException> FailsAsync(FakePcs pcs, VectorInfo info, CollateralRequest? request = null)
    {
        using var http = new HttpClient();
        using var provider = new PcsCollateralProvider(http, pcs.PccsOptions(), new ManualTimeProvider(info.VerifyAt));
        return await Assert.ThrowsAsync<CollateralException>(async () => await provider.GetCollateralAsync(request ?? info.Request, Ct));
    }

    private static void AssertHits(FakePcs pcs, int tcb, int qe, int pck, int root)
    {
        Assert.Equal(
            (tcb, qe, pck, root),
            (pcs.Server.Hits(SgxTcb), pcs.Server.Hits(SgxQe), pcs.Server.Hits(PckCrl), pcs.Server.Hits(RootCrl)));
    }
}
