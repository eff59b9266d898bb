using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Confide.Enclave;
using Confide.Enclave.Hosting;
using Confide.Enclave.Signing;
using Confide.Inference.Client;
using Confide.Inference.Encryption;
using Confide.Inference.Models;
using Confide.Inference.Tests.Onnx;
using Confide.Inference.Tests.Support;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls.Verification;

namespace Confide.Inference.Tests;

/// <summary>
/// The inference server as what it is meant to be: a signed enclave package (ONNX Runtime's native
/// library among its measured files), launched by the untrusted host, with TLS ending inside it.
/// </summary>
public sealed class InferenceEnclaveTests : IDisposable
{
    private static readonly string UnsignedPackage = Path.Combine(AppContext.BaseDirectory, "inference-enclave");

    private readonly TempDirectory _temp = new();
    private readonly CliProcesses _cli = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_signed_inference_package_serves_verified_clients_over_attested_tls_from_inside_the_enclave()
    {
        (string package, EnclavePackageIdentity identity) = SignedPackage();
        Assert.Contains("runtimes/linux-x64/native/libonnxruntime.so", File.ReadAllText(Path.Combine(package, "enclave.files")), StringComparison.Ordinal);
        byte[] model = TestModels.Mlp(seed: 41);
        string keyFile = await EncryptedRepositoryAsync(model);

        var output = new EnclaveOutputLines();
        EnclaveHostOptions options = Options(output,
            "--models", _temp.Combine("models"), "--urls", "https://127.0.0.1:0", "--grpc-urls", "none", "--metrics-urls", "none",
            "--data-dir", _temp.Combine("data"), "--import-key", keyFile, "--allow-simulation", "--attested-tls");
        await using EnclaveHost enclave = await EnclaveHost.LaunchAsync(package, options, Ct);
        string rest = await output.WaitForAsync("rest: ", enclave, TimeSpan.FromSeconds(60), Ct);

        // The identity the server reports is the one the host measured and the signer signed.
        Assert.Equal($"{identity.MrEnclaveHex} mrsigner {identity.MrSignerHex} (Simulation)", output.Find("enclave: mrenclave "));
        Assert.Matches("^sealed model key [0-9a-f]{32} ", output.Lines.Single(l => l.StartsWith("sealed model key ", StringComparison.Ordinal)));

        using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate(_temp.Combine("platform"));
        TestTensor x = TestData.Floats("x", [3, TestModels.MlpInputs], seed: 9);
        using (var client = new InferenceClient(new Uri(rest), new InferenceClientOptions { Verifier = Verifier(platform, identity.MrEnclave) }))
        {
            JsonObject answer = await client.InferAsync("mlp", Rest.Request(Rest.JsonInput(x)), cancellationToken: Ct);
            using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer.ToJsonString(), Encoding.UTF8, "application/json") };
            Same.Outputs(Reference.Run(model, [x]), (await Rest.ReadResponseAsync(response)).Outputs);
            Assert.Equal(identity.MrEnclaveHex, client.Server!.UniqueIdHex);
        }

        // A client expecting another build refuses the handshake before the input leaves it.
        using (var wrong = new InferenceClient(new Uri(rest), new InferenceClientOptions { Verifier = Verifier(platform, SHA256.HashData("another build"u8)) }))
        {
            HttpRequestException refused = await Assert.ThrowsAsync<HttpRequestException>(() => wrong.InferAsync("mlp", Rest.Request(Rest.JsonInput(x)), cancellationToken: Ct));
            Assert.Contains("unique id", refused.ToString(), StringComparison.Ordinal);
        }

        // The command-line client, verifying the enclave in the TLS handshake.
        string input = _temp.Combine("request.json");
        await File.WriteAllTextAsync(input, Rest.Request(Rest.JsonInput(x)).ToJsonString(), Ct);
        (int exit, string printed, string errors) = await _cli.RunAsync(_temp.Combine("platform"), Ct,
            "infer", "--url", rest, "--model", "mlp", "--input", input, "--expect-enclave", identity.MrEnclaveHex, "--allow-simulation");
        Assert.True(exit == 0, errors);
        Assert.Contains("attested TLS", errors, StringComparison.Ordinal);
        float[] y = [.. JsonNode.Parse(printed)!["outputs"]!.AsArray().Single(o => (string?)o!["name"] == "y")!["data"]!.AsArray().Select(v => (float)v!)];
        Assert.Equal(Reference.Run(model, [x])["y"].Data, y.SelectMany(BitConverter.GetBytes).ToArray());

        (exit, _, errors) = await _cli.RunAsync(_temp.Combine("platform"), Ct,
            "infer", "--url", rest, "--model", "mlp", "--input", input, "--expect-signer", Convert.ToHexStringLower(SHA256.HashData("another signer"u8)), "--allow-simulation");
        Assert.NotEqual(0, exit);
        Assert.Contains("signer", errors, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_enclave_refuses_to_serve_a_model_whose_key_it_does_not_hold_and_says_which()
    {
        (string package, _) = SignedPackage();
        await EncryptedRepositoryAsync(TestModels.Mlp(seed: 42));
        var output = new EnclaveOutputLines();
        var errors = new EnclaveOutputLines();
        EnclaveHostOptions options = Options(output,
            "--models", _temp.Combine("models"), "--urls", "http://127.0.0.1:0", "--grpc-urls", "none", "--metrics-urls", "none",
            "--data-dir", _temp.Combine("data"), "--allow-simulation");
        options.StandardError = errors;
        await using EnclaveHost enclave = await EnclaveHost.LaunchAsync(package, options, Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));

        Assert.Equal(1, await enclave.WaitForExitAsync(timeout.Token));
        string error = string.Join('\n', errors.Lines);
        Assert.Contains("mlp", error, StringComparison.Ordinal);
        Assert.Contains("No sealed key with id", error, StringComparison.Ordinal);
        Assert.DoesNotContain(output.Lines, l => l.StartsWith("rest: ", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        _cli.Dispose();
        _temp.Dispose();
    }

    private (string Directory, EnclavePackageIdentity Identity) SignedPackage()
    {
        Assert.True(File.Exists(Path.Combine(UnsignedPackage, "enclave.json")), $"the inference enclave was not built into {UnsignedPackage}");
        string package = _temp.Combine("package");
        foreach (string file in Directory.EnumerateFiles(UnsignedPackage, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(package, Path.GetRelativePath(UnsignedPackage, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        using RSA key = EnclaveSigningKey.Generate();
        return (package, EnclavePackage.Sign(package, key));
    }

    private async Task<string> EncryptedRepositoryAsync(byte[] model)
    {
        byte[] key = ModelEncryption.GenerateKey();
        Directory.CreateDirectory(_temp.Combine("models", "mlp", "1"));
        await File.WriteAllBytesAsync(_temp.Combine("models", "mlp", "1", ModelRepository.EncryptedFileName), ModelEncryption.Encrypt(model, key), Ct);
        string keyFile = _temp.Combine("model.key");
        await File.WriteAllBytesAsync(keyFile, key, Ct);
        return keyFile;
    }

    private EnclaveHostOptions Options(TextWriter output, params string[] arguments)
    {
        var options = new EnclaveHostOptions { Tee = TeeBackend.Simulation, SimulationStateDirectory = _temp.Combine("platform"), StandardOutput = output, StandardError = TextWriter.Null };
        foreach (string argument in arguments)
        {
            options.Arguments.Add(argument);
        }

        return options;
    }

    private static AttestedCertificateVerifier Verifier(SimulatedPlatform platform, byte[] uniqueId)
    {
        var policy = new AttestedTlsPolicy { UniqueId = uniqueId, AllowSimulation = true, Collateral = new SimulatedCollateralProvider(platform) };
        policy.Verifier.SimulationRoots.Add(platform.RootCertificate);
        return new AttestedCertificateVerifier(policy);
    }
}
