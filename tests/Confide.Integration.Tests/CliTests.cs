using System.Diagnostics;
using System.Security.Cryptography;
using Confide.Enclave;
using Confide.Enclave.Signing;

namespace Confide.Integration.Tests;

/// <summary>The confide command, run as a process exactly as a user runs it.</summary>
public sealed class CliTests(EnclaveFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task New_key_writes_an_owner_only_rsa3072_exponent3_key_and_refuses_to_overwrite()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("confide-key-").FullName, "signer.pem");

        (int exit, string output, _) = await RunAsync("new-key", "--out", path);
        Assert.Equal(0, exit);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using RSA key = EnclaveSigningKey.Load(path);
        RSAParameters parameters = key.ExportParameters(false);
        Assert.Equal(384, parameters.Modulus!.Length);
        Assert.Equal(new byte[] { 3 }, parameters.Exponent);
        Assert.Contains(Convert.ToHexStringLower(EnclaveSigningKey.ComputeMrSigner(key)), output, StringComparison.Ordinal);

        (int again, _, string error) = await RunAsync("new-key", "--out", path);
        Assert.Equal(1, again);
        Assert.Contains("refusing to overwrite", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_uniqueid_and_signerid_agree_and_run_launches_the_package()
    {
        string directory = Directory.CreateTempSubdirectory("confide-cli-").FullName;
        string key = Path.Combine(directory, "signer.pem");
        EnclaveSigningKey.WritePrivateKeyPem(fixture.SigningKey, key);
        string package = fixture.CreatePackage();
        File.Delete(Path.Combine(package, SignatureFile.FileName));

        (int exit, string output, string error) = await RunAsync("sign", package, "--key", key);
        Assert.True(exit == 0, error);
        EnclavePackage signed = EnclavePackage.Open(package);
        Assert.Contains($"mrenclave {signed.Identity.MrEnclaveHex}", output, StringComparison.Ordinal);
        Assert.Contains($"mrsigner  {signed.Identity.MrSignerHex}", output, StringComparison.Ordinal);

        Assert.Equal(signed.Identity.MrEnclaveHex, (await RunAsync("uniqueid", package)).Output.Trim());
        Assert.Equal(signed.Identity.MrSignerHex, (await RunAsync("signerid", package)).Output.Trim());
        Assert.Equal(signed.Identity.MrSignerHex, (await RunAsync("signerid", key)).Output.Trim());

        (int runExit, string runOutput, _) = await RunAsync("run", package, "--", "--app", "9");
        Assert.Equal(9, runExit);
        Assert.Contains($"identity {signed.Identity.MrEnclaveHex}", runOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_refuses_a_tampered_package_and_names_the_file()
    {
        string package = fixture.CreatePackage();
        await File.WriteAllTextAsync(Path.Combine(package, "extra.json"), "{}", Ct);

        (int exit, _, string error) = await RunAsync("run", package);
        Assert.Equal(1, exit);
        Assert.Contains("'extra.json' is not a measured file", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_refuses_a_manifest_with_a_bad_field_and_names_it()
    {
        string package = fixture.CreatePackage();
        string manifest = Path.Combine(package, "enclave.json");
        await File.WriteAllTextAsync(manifest, (await File.ReadAllTextAsync(manifest, Ct)).Replace("\"productId\": 7", "\"productId\": 70000", StringComparison.Ordinal), Ct);
        string key = Path.Combine(package, "..", Guid.NewGuid().ToString("N") + ".pem");
        EnclaveSigningKey.WritePrivateKeyPem(fixture.SigningKey, key);

        (int exit, _, string error) = await RunAsync("sign", package, "--key", key);
        Assert.Equal(1, exit);
        Assert.Contains("field 'productId'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_runs_end_to_end_on_the_simulation_tee()
    {
        (int exit, string output, string error) = await RunAsync("demo");
        Assert.True(exit == 0, output + error);
        Assert.Contains("MRENCLAVE matches = True, MRSIGNER matches = True, simulated = True", output, StringComparison.Ordinal);
        Assert.Contains("report data = SHA-256(nonce): True", output, StringComparison.Ordinal);
        Assert.Contains("its operator set a policy that permits only MRSIGNER", output, StringComparison.Ordinal);
        Assert.Contains("It verified the quote and issued an RS256 token", output, StringComparison.Ordinal);
        Assert.Contains("hello-svn 1 (issued by the policy)", output, StringComparison.Ordinal);
        Assert.Contains("The enclave checked the broker over attested TLS (AttestationToken", output, StringComparison.Ordinal);
        Assert.Contains("key check value matches the owner's = True", output, StringComparison.Ordinal);
        Assert.Contains("inside, it checked the broker, got the key released, decrypted the", output, StringComparison.Ordinal);
        Assert.Contains("A client verified the enclave in the TLS handshake (DiceEvidence", output, StringComparison.Ordinal);
        Assert.Contains("equals the model computed in plain C#: True", output, StringComparison.Ordinal);
        Assert.Contains("nonce matches True", output, StringComparison.Ordinal);
        Assert.Contains("unsealed inside and matched: True", output, StringComparison.Ordinal);
        Assert.Contains("A tampered blob is refused", output, StringComparison.Ordinal);
        Assert.Contains("the host refuses to launch: measured file 'HelloEnclave.Contract.dll' was changed", output, StringComparison.Ordinal);
        Assert.Contains("nodes 1 and 2 joined", output, StringComparison.Ordinal);
        Assert.Contains("acknowledged the state digest with a COSE-signed request: Active", output, StringComparison.Ordinal);
        Assert.Contains("read back from node 1: \"a confidential record\"", output, StringComparison.Ordinal);
        Assert.Contains("Its receipt verified offline against the service certificate", output, StringComparison.Ordinal);
        Assert.Contains("node 1's ledger files audit clean", output, StringComparison.Ordinal);
    }

    private Task<(int Exit, string Output, string Error)> RunAsync(params string[] arguments) =>
        ConfideProcess.RunAsync(fixture.StateDirectory, arguments);
}
