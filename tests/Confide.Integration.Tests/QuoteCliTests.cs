using System.Diagnostics;
using System.Text.Json;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Testing;

namespace Confide.Integration.Tests;

/// <summary><c>confide quote inspect</c> and <c>confide quote verify</c>, run as a user runs them.</summary>
public sealed class QuoteCliTests(EnclaveFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Verify_exits_zero_only_when_the_quote_verifies_under_the_policy()
    {
        string vectors = DcapVectors.Directory;
        (int ok, string okJson, _) = await RunAsync("quote", "verify", Path.Combine(vectors, "sgx_v3_automata.quote.bin"), "--collateral", Path.Combine(vectors, "sgx_v3_automata.collateral.json"), "--at", "2025-08-15T05:45:00Z", "--json");
        Assert.Equal(0, ok);
        using (JsonDocument document = JsonDocument.Parse(okJson))
        {
            JsonElement root = document.RootElement;
            Assert.True(root.GetProperty("verified").GetBoolean());
            Assert.Equal("SWHardeningNeeded", root.GetProperty("tcbStatus").GetString());
            Assert.Equal(["INTEL-SA-00615"], root.GetProperty("advisoryIds").EnumerateArray().Select(a => a.GetString()));
            Assert.Equal("sgx", root.GetProperty("teeType").GetString());
            Assert.Equal("a4f45c39dac622cb1dd32ddb35a52ec92db41d0fa88a1c911c49e59c534f61cd", root.GetProperty("mrEnclave").GetString());
            Assert.Equal(0, root.GetProperty("isvProdId").GetInt32());
            Assert.False(root.GetProperty("debug").GetBoolean());
        }

        // A folder of collateral files: the right one is chosen by FMSPC and TEE.
        (int strict, string strictJson, _) = await RunAsync("quote", "verify", Path.Combine(vectors, "sgx_v3_phala.quote.bin"), "--collateral", vectors, "--at", "2025-07-01T00:00:00Z", "--json");
        Assert.Equal(1, strict);
        Assert.Contains("\"code\":\"TcbStatusNotAccepted\"", strictJson, StringComparison.Ordinal);
        (int lenient, _, _) = await RunAsync("quote", "verify", Path.Combine(vectors, "sgx_v3_phala.quote.bin"), "--collateral", vectors, "--at", "2025-07-01T00:00:00Z", "--any-tcb-status");
        Assert.Equal(0, lenient);

        (int expired, string expiredJson, _) = await RunAsync("quote", "verify", Path.Combine(vectors, "sgx_v3_automata.quote.bin"), "--collateral", Path.Combine(vectors, "sgx_v3_automata.collateral.json"), "--json");
        Assert.Equal(1, expired);
        Assert.Contains("\"code\":\"CollateralExpired\"", expiredJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_reports_td_fields_for_a_tdx_quote()
    {
        string vectors = DcapVectors.Directory;
        (int exit, string json, _) = await RunAsync("quote", "verify", Path.Combine(vectors, "tdx_v4_phala.quote.bin"), "--collateral", vectors, "--at", "2025-07-01T00:00:00Z", "--json");
        Assert.Equal(0, exit);
        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        Assert.Equal("tdx", root.GetProperty("teeType").GetString());
        Assert.Equal("91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7", root.GetProperty("mrTd").GetString());
        Assert.Equal(4, root.GetProperty("rtmrs").GetArrayLength());
        Assert.True(root.TryGetProperty("mrSeam", out _));
        Assert.Equal("UpToDate", root.GetProperty("tcbStatus").GetString());
    }

    [Fact]
    public async Task Inspect_prints_every_parsed_field()
    {
        (int exit, string json, _) = await RunAsync("quote", "inspect", Path.Combine(DcapVectors.Directory, "tdx_v5_automata.quote.bin"), "--json");
        Assert.Equal(0, exit);
        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        Assert.Equal(5, root.GetProperty("version").GetInt32());
        Assert.Equal("157768a71a6a31f5561978c4cde665809d22976ef5dead2952839b7b3ea23b6c2931c9148fe1d117c99faefac18bb73b", root.GetProperty("mrTd").GetString());
        Assert.Equal("90c06f000000", root.GetProperty("fmspc").GetString());
        Assert.NotEqual(JsonValueKind.Null, root.GetProperty("mrServiceTd").ValueKind);

        string truncated = Path.Combine(Directory.CreateTempSubdirectory("confide-q-").FullName, "bad.bin");
        await File.WriteAllBytesAsync(truncated, (await File.ReadAllBytesAsync(Path.Combine(DcapVectors.Directory, "sgx_v3_phala.quote.bin"), Ct))[..500], Ct);
        (int bad, _, string error) = await RunAsync("quote", "inspect", truncated);
        Assert.Equal(1, bad);
        Assert.Contains("confide:", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_simulated_quote_verifies_only_with_allow_simulation()
    {
        using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate(fixture.StateDirectory);
        var identity = new TeeIdentity(TeeKind.Simulation, new byte[32], new byte[32], 1, 1, false);
        using var tee = new SimulationTee(platform, identity);
        TeeEvidence evidence = await tee.GetEvidenceAsync(new byte[64], Ct);
        string directory = Directory.CreateTempSubdirectory("confide-sim-q-").FullName;
        string quote = Path.Combine(directory, "quote.bin");
        string collateral = Path.Combine(directory, "collateral.json");
        await File.WriteAllBytesAsync(quote, evidence.Data, Ct);
        await File.WriteAllTextAsync(collateral, evidence.CollateralJson, Ct);

        (int allowed, string output, string stderr) = await RunAsync("quote", "verify", quote, "--collateral", collateral, "--allow-simulation", "--json");
        Assert.True(allowed == 0, output + stderr);
        Assert.Contains("\"simulated\":true", output, StringComparison.Ordinal);

        (int refused, string refusedOutput, _) = await RunAsync("quote", "verify", quote, "--collateral", collateral, "--json");
        Assert.Equal(1, refused);
        Assert.Contains("UntrustedRoot", refusedOutput, StringComparison.Ordinal);
    }

    private Task<(int Exit, string Output, string Error)> RunAsync(params string[] arguments) =>
        ConfideProcess.RunAsync(fixture.StateDirectory, arguments);
}
