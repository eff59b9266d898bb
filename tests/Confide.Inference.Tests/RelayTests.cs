using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Confide.Inference.Tests.Onnx;
using Confide.Inference.Tests.Support;

namespace Confide.Inference.Tests;

/// <summary>
/// Client, untrusted relay and server as three processes on 127.0.0.1 (the confide command): the
/// relay records every byte it forwards, and neither the input nor the output appears in it.
/// </summary>
public sealed class RelayTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly CliProcesses _cli = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_untrusted_relay_sees_no_plaintext_input_or_output_of_end_to_end_inference()
    {
        string simulation = _temp.Combine("simulation");
        string repository = _temp.Combine("models");
        Directory.CreateDirectory(Path.Combine(repository, "mlp", "1"));
        byte[] model = TestModels.Mlp(seed: 33);
        string onnx = _temp.Combine("mlp.onnx");
        await File.WriteAllBytesAsync(onnx, model, Ct);
        await _cli.RunAsync(simulation, Ct, "model", "keygen", "--out", _temp.Combine("model.key"));
        await _cli.RunAsync(simulation, Ct, "model", "encrypt", "--key", _temp.Combine("model.key"), "--out", Path.Combine(repository, "mlp", "1", "model.confide"), onnx);

        Process server = _cli.Start(simulation, "inference", "serve", "--models", repository, "--urls", "http://127.0.0.1:0", "--grpc-urls", "none", "--metrics-urls", "none",
            "--data-dir", _temp.Combine("server"), "--import-key", _temp.Combine("model.key"), "--tee", "simulation", "--allow-simulation", "--e2e");
        string enclave = (await ReadFieldAsync(server, "enclave: mrenclave ")).Split(' ')[0];
        string rest = await ReadFieldAsync(server, "rest: ");

        string recording = _temp.Combine("relay.bin");
        Process relay = _cli.Start(simulation, "relay", "--listen", "127.0.0.1:0", "--target", new Uri(rest).Authority, "--record", recording);
        string relayEndpoint = (await ReadFieldAsync(relay, "relay: ")).Split(' ')[0];

        // Distinctive input values, and the output the model gives for them.
        float[] values = [.. Enumerable.Range(0, TestModels.MlpInputs).Select(i => 1234.5678f + i)];
        TestTensor x = TestTensor.FromFloats("x", [1, TestModels.MlpInputs], values);
        JsonObject request = Rest.Request(Rest.JsonInput(x));
        string input = _temp.Combine("request.json");
        await File.WriteAllTextAsync(input, request.ToJsonString(), Ct);
        (int exit, string output, string errors) = await _cli.RunAsync(simulation, Ct, "infer", "--url", "http://" + relayEndpoint, "--model", "mlp", "--input", input, "--expect-enclave", enclave, "--allow-simulation", "--e2e");
        Assert.True(exit == 0, errors);
        Assert.Contains("end-to-end encrypted", errors, StringComparison.Ordinal);

        JsonObject answer = JsonNode.Parse(output)!.AsObject();
        float[] y = [.. answer["outputs"]!.AsArray().Single(o => (string?)o!["name"] == "y")!["data"]!.AsArray().Select(v => (float)v!)];
        Assert.Equal(Reference.Run(model, [x])["y"].Data, y.SelectMany(BitConverter.GetBytes).ToArray());

        byte[] recorded = await File.ReadAllBytesAsync(recording, Ct);
        Assert.True(recorded.Length > 1000, $"the relay recorded only {recorded.Length} bytes");
        string text = Encoding.Latin1.GetString(recorded);
        Assert.DoesNotContain("1234.5678", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"inputs\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"outputs\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain(y[0].ToString("R", System.Globalization.CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
        Assert.False(Contains(recorded, BitConverter.GetBytes(values[0])), "a raw input float crossed the relay");
        Assert.Contains("/v2/e2e/sessions", text, StringComparison.Ordinal); // it did relay the traffic
    }

    public void Dispose()
    {
        _cli.Dispose();
        _temp.Dispose();
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    private static async Task<string> ReadFieldAsync(Process process, string prefix)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..];
            }
        }

        throw new InvalidOperationException($"The process exited without printing '{prefix}': {await process.StandardError.ReadToEndAsync(Ct)}");
    }
}
