using System.Text;
using System.Text.Json;
using Confide.Attestation.Collateral;
using Confide.Attestation.Collateral.Tests.Support;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Collateral.Tests;

public sealed class FileCollateralProviderTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("confide-collateral-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Theory]
    [MemberData(nameof(DcapVectors.All), MemberType = typeof(DcapVectors))]
    public async Task A_single_file_serves_its_vector(string vector)
    {
        VectorInfo info = VectorInfo.Of(vector);
        var provider = new FileCollateralProvider(Path.Combine(DcapVectors.Directory, info.CollateralFile));

        QuoteCollateral collateral = await provider.GetCollateralAsync(info.Request, TestContext.Current.CancellationToken);

        Assert.Equal(info.Collateral, collateral);
        Assert.Equal(info.Collateral, await FileCollateralProvider.LoadFileAsync(provider.Path, TestContext.Current.CancellationToken));
    }

    [Theory]
    [MemberData(nameof(DcapVectors.All), MemberType = typeof(DcapVectors))]
    public async Task A_directory_picks_the_file_for_the_vectors_tee_fmspc_and_ca(string vector)
    {
        string directory = CopyAllCollateral();
        VectorInfo info = VectorInfo.Of(vector);
        var provider = new FileCollateralProvider(directory);

        QuoteCollateral collateral = await provider.GetCollateralAsync(info.Request, TestContext.Current.CancellationToken);

        using JsonDocument tcbInfo = JsonDocument.Parse(collateral.TcbInfo);
        Assert.Equal(info.Tee, tcbInfo.RootElement.GetProperty("id").GetString());
        Assert.Equal(info.FmspcHex, tcbInfo.RootElement.GetProperty("fmspc").GetString(), ignoreCase: true);

        // 90C06F000000 has two collateral sets (tdx_v5_automata, tdx_v5_notcb): the later-issued one wins.
        string expectedFile = info.FmspcHex == "90c06f000000" ? "tdx_v5_notcb.collateral.json" : info.CollateralFile;
        Assert.Equal(QuoteCollateral.FromJson(File.ReadAllText(Path.Combine(DcapVectors.Directory, expectedFile))), collateral);
    }

    [Fact]
    public async Task Fmspc_case_does_not_matter()
    {
        // sgx_v3_automata's tcb_info spells its FMSPC in lower case, sgx_v3_phala in upper case.
        var provider = new FileCollateralProvider(CopyAllCollateral());
        foreach (string vector in (string[])["sgx_v3_automata", "sgx_v3_phala"])
        {
            VectorInfo info = VectorInfo.Of(vector);
            Assert.Equal(info.Collateral, await provider.GetCollateralAsync(info.Request, TestContext.Current.CancellationToken));
        }
    }

    [Fact]
    public async Task A_directory_without_a_match_names_the_request_and_the_unreadable_files()
    {
        string directory = CopyAllCollateral();
        File.WriteAllText(Path.Combine(directory, "broken.json"), "{\"pck_crl\": \"00\"}");
        var provider = new FileCollateralProvider(directory);

        CollateralException ex = await Assert.ThrowsAsync<CollateralException>(async () =>
            await provider.GetCollateralAsync(new CollateralRequest(TeeType.Sgx, Convert.FromHexString("112233445566"), PckCaType.Platform), TestContext.Current.CancellationToken));

        Assert.Contains("112233445566", ex.Message, StringComparison.Ordinal);
        Assert.Contains("broken.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("pck_crl_issuer_chain", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_tee_and_the_pck_ca_must_match_too()
    {
        var provider = new FileCollateralProvider(CopyAllCollateral());
        VectorInfo tdx = VectorInfo.Of("tdx_v4_phala");
        VectorInfo sgx = VectorInfo.Of("sgx_v3_phala");

        // TDX FMSPC asked for as SGX, and the SGX processor-CA platform asked for with the platform CA.
        await Assert.ThrowsAsync<CollateralException>(async () =>
            await provider.GetCollateralAsync(tdx.Request with { TeeType = TeeType.Sgx }, TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<CollateralException>(async () =>
            await provider.GetCollateralAsync(sgx.Request with { PckCa = PckCaType.Platform }, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_single_file_that_does_not_fit_the_request_says_why()
    {
        VectorInfo sgx = VectorInfo.Of("sgx_v3_phala");
        var provider = new FileCollateralProvider(Path.Combine(DcapVectors.Directory, sgx.CollateralFile));

        CollateralException wrongCa = await Assert.ThrowsAsync<CollateralException>(async () =>
            await provider.GetCollateralAsync(sgx.Request with { PckCa = PckCaType.Platform }, TestContext.Current.CancellationToken));
        Assert.Contains("PCK Processor CA", wrongCa.Message, StringComparison.Ordinal);

        CollateralException wrongTee = await Assert.ThrowsAsync<CollateralException>(async () =>
            await provider.GetCollateralAsync(sgx.Request with { TeeType = TeeType.Tdx }, TestContext.Current.CancellationToken));
        Assert.Contains("'SGX'", wrongTee.Message, StringComparison.Ordinal);

        CollateralException wrongFmspc = await Assert.ThrowsAsync<CollateralException>(async () =>
            await provider.GetCollateralAsync(sgx.Request with { Fmspc = new byte[6] }, TestContext.Current.CancellationToken));
        Assert.Contains("00a067110000", wrongFmspc.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_file_gives_a_CollateralException_naming_the_file_and_field()
    {
        string json = DcapVectors.CollateralJson("sgx_v3_phala").Replace("\"tcb_info_signature\"", "\"tcb_info_signaturX\"", StringComparison.Ordinal);
        string file = Path.Combine(_temp.FullName, "bad.collateral.json");
        File.WriteAllText(file, json);

        CollateralException ex = await Assert.ThrowsAsync<CollateralException>(async () =>
            await new FileCollateralProvider(file).GetCollateralAsync(VectorInfo.Of("sgx_v3_phala").Request, TestContext.Current.CancellationToken));

        Assert.Contains("'tcb_info_signature'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("bad.collateral.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_oversized_file_is_rejected()
    {
        string file = Path.Combine(_temp.FullName, "huge.json");
        File.WriteAllText(file, "{\"padding\":\"" + new string('a', CollateralJson.MaxInputBytes) + "\"}");

        CollateralException ex = await Assert.ThrowsAsync<CollateralException>(async () =>
            await FileCollateralProvider.LoadFileAsync(file, TestContext.Current.CancellationToken));
        Assert.Contains("larger than", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_path_is_a_CollateralException()
    {
        var provider = new FileCollateralProvider(Path.Combine(_temp.FullName, "nothing-here"));
        await Assert.ThrowsAsync<CollateralException>(async () =>
            await provider.GetCollateralAsync(VectorInfo.Of("sgx_v3_phala").Request, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_file_replaced_in_the_directory_is_picked_up()
    {
        string directory = _temp.CreateSubdirectory("live").FullName;
        var provider = new FileCollateralProvider(directory);
        VectorInfo info = VectorInfo.Of("tdx_v4_near");

        await Assert.ThrowsAsync<CollateralException>(async () => await provider.GetCollateralAsync(info.Request, TestContext.Current.CancellationToken));

        File.WriteAllBytes(Path.Combine(directory, "new.json"), Encoding.UTF8.GetBytes(DcapVectors.CollateralJson("tdx_v4_near")));
        Assert.Equal(info.Collateral, await provider.GetCollateralAsync(info.Request, TestContext.Current.CancellationToken));
    }

    /// <summary>Every vector collateral file plus files that are not collateral, in a fresh directory.</summary>
    private string CopyAllCollateral()
    {
        string directory = _temp.CreateSubdirectory("all").FullName;
        foreach (string file in Directory.GetFiles(DcapVectors.Directory, "*.collateral.json"))
        {
            File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
        }

        // Not collateral: skipped (expected.json fails validation, the .txt is not matched by *.json).
        File.Copy(Path.Combine(DcapVectors.Directory, "expected.json"), Path.Combine(directory, "expected.json"));
        File.WriteAllText(Path.Combine(directory, "notes.txt"), "hello");
        return directory;
    }
}
