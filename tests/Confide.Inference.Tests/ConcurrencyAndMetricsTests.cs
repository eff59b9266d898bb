using System.Net;
using System.Text.Json.Nodes;
using Confide.Inference.Grpc.Protocol;
using Confide.Inference.Tests.Onnx;
using Confide.Inference.Tests.Support;
using Google.Protobuf;

namespace Confide.Inference.Tests;

/// <summary>Concurrent requests over every transport share the sessions and stay exact; metrics count them without leaking data.</summary>
public sealed class ConcurrencyAndMetricsTests(InferenceFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Concurrent_requests_over_rest_binary_and_grpc_are_each_exact()
    {
        const int Requests = 48;
        var tasks = Enumerable.Range(0, Requests).Select(async i =>
        {
            bool cnn = i % 2 == 0;
            TestTensor input = cnn
                ? TestData.Floats("image", [1 + (i % 3), 1, 8, 8], seed: 1000 + i)
                : TestData.Floats("x", [1 + (i % 5), TestModels.MlpInputs], seed: 1000 + i);
            string model = cnn ? "cnn" : "mlp";
            Dictionary<string, TestTensor> expected = Reference.Run(cnn ? fixture.Cnn : fixture.Mlp2, [input]);
            switch (i % 3)
            {
                case 0:
                    (_, var json) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(fixture.Http, $"/v2/models/{model}/infer", Rest.Request(Rest.JsonInput(input))));
                    Same.Outputs(expected, json);
                    break;
                case 1:
                    JsonObject request = Rest.Request(Rest.BinaryInput(input));
                    request["parameters"] = new JsonObject { ["binary_data_output"] = true };
                    (_, var binary) = await Rest.ReadResponseAsync(await Rest.PostBinaryAsync(fixture.Http, $"/v2/models/{model}/infer", request, [input.Data]));
                    Same.Outputs(expected, binary);
                    break;
                default:
                    var grpc = new ModelInferRequest { ModelName = model };
                    grpc.Inputs.Add(GrpcTests.Input(input, raw: true));
                    grpc.RawInputContents.Add(ByteString.CopyFrom(input.Data));
                    ModelInferResponse response = await fixture.Grpc.ModelInferAsync(grpc, cancellationToken: Ct);
                    Same.Outputs(expected, response.Outputs.Select((o, k) => new TestTensor(o.Name, Confide.Inference.Tensors.TensorDataType.Fp32, [.. o.Shape], response.RawOutputContents[k].ToByteArray())).ToDictionary(t => t.Name));
                    break;
            }
        });

        await Task.WhenAll(tasks);
    }

    [Fact]
    public async Task Metrics_count_requests_and_errors_per_model_without_tensor_data()
    {
        // Distinctive values that must never reach the metrics port.
        const string SecretId = "secret-request-id-7f3a";
        const string SecretModel = "secret-model-name-91b2";
        var x = TestTensor.FromFloats("x", [1, TestModels.MlpInputs], [.. Enumerable.Range(0, TestModels.MlpInputs).Select(i => 4242.4243f + i)]);
        JsonObject request = Rest.Request(Rest.JsonInput(x));
        request["id"] = SecretId;
        await Rest.ReadResponseAsync(await Rest.PostJsonAsync(fixture.Http, "/v2/models/mlp/versions/1/infer", request));
        await Rest.ErrorAsync(await Rest.PostRawAsync(fixture.Http, "/v2/models/mlp/versions/1/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,2],\"datatype\":\"FP32\",\"data\":[8686.868686,5]}]}"), HttpStatusCode.BadRequest);
        await Rest.ErrorAsync(await Rest.PostRawAsync(fixture.Http, $"/v2/models/{SecretModel}/infer", "{\"inputs\":[]}"), HttpStatusCode.NotFound);
        await Rest.ErrorAsync(await Rest.PostRawAsync(fixture.Http, "/v2/models/mlp/infer", "{not json"), HttpStatusCode.BadRequest);
        var grpc = new ModelInferRequest { ModelName = "cnn", Id = SecretId };
        grpc.Inputs.Add(GrpcTests.Input(TestData.Floats("image", [1, 1, 8, 8], seed: 77), raw: false));
        await fixture.Grpc.ModelInferAsync(grpc, cancellationToken: Ct);

        using var client = new HttpClient { BaseAddress = fixture.Server.MetricsUrl };
        HttpResponseMessage scrape = await client.GetAsync("/metrics", Ct);
        string text = await scrape.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.StartsWith("text/plain", scrape.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Contains("# TYPE confide_inference_requests_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE confide_inference_errors_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE confide_inference_request_duration_seconds histogram", text, StringComparison.Ordinal);
        Sample(text, "confide_inference_requests_total", "model=\"mlp\"", "version=\"1\"", "protocol=\"rest\"", "outcome=\"ok\"");
        Sample(text, "confide_inference_requests_total", "model=\"mlp\"", "version=\"1\"", "protocol=\"rest\"", "outcome=\"invalid_input\"");
        Sample(text, "confide_inference_requests_total", "model=\"cnn\"", "protocol=\"grpc\"", "outcome=\"ok\"");
        Sample(text, "confide_inference_errors_total", "model=\"mlp\"", "error=\"invalid_input\"");
        Sample(text, "confide_inference_errors_total", "model=\"\"", "error=\"model_not_found\"");
        Sample(text, "confide_inference_errors_total", "model=\"\"", "protocol=\"rest\"", "error=\"invalid_request\"");
        Sample(text, "confide_inference_request_duration_seconds_bucket", "model=\"mlp\"", "version=\"1\"", "le=\"+Inf\"");
        Sample(text, "confide_inference_request_duration_seconds_count", "model=\"cnn\"");
        Assert.Contains(text.Split('\n'), line => line.StartsWith("confide_inference_models_ready{", StringComparison.Ordinal) && line.EndsWith("} 7", StringComparison.Ordinal));

        foreach (string secret in new[] { SecretId, SecretModel, "4242.42", "4243.42", "8686.86" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }

    /// <summary>Asserts a sample of <paramref name="metric"/> with all <paramref name="labels"/> and a positive value.</summary>
    private static void Sample(string text, string metric, params string[] labels)
    {
        bool found = text.Split('\n').Any(line =>
            line.StartsWith(metric + "{", StringComparison.Ordinal)
            && labels.All(l => line.Contains(l, StringComparison.Ordinal))
            && double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.True(found, $"no sample {metric} with {string.Join(", ", labels)} > 0 in:\n{text}");
    }

    [Fact]
    public async Task The_metrics_port_serves_health_and_nothing_else()
    {
        using var client = new HttpClient { BaseAddress = fixture.Server.MetricsUrl };
        Assert.Equal("live\n", await client.GetStringAsync("/healthz", Ct));
        Assert.Equal("ready\n", await client.GetStringAsync("/readyz", Ct));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v2", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v2/models/mlp", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("/v2/models/mlp/infer", new StringContent("{}"), Ct)).StatusCode);
    }
}
