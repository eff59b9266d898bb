using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.Inference.Tensors;
using Confide.Inference.Tests.Onnx;
using Confide.Inference.Tests.Support;

namespace Confide.Inference.Tests;

/// <summary>KServe v2 REST inference, JSON and binary: every answer equals in-process ONNX Runtime bit for bit.</summary>
public sealed class RestInferenceTests(InferenceFixture fixture)
{
    private HttpClient Http => fixture.Http;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Mlp_json_outputs_equal_onnx_runtime(bool nested)
    {
        TestTensor x = TestData.Floats("x", [3, TestModels.MlpInputs], seed: 1);
        JsonObject request = Rest.Request(Rest.JsonInput(x, nested));
        request["id"] = "request-42";

        (JsonElement json, Dictionary<string, TestTensor> outputs) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(Http, "/v2/models/mlp/infer", request));

        Same.Outputs(Reference.Run(fixture.Mlp2, [x]), outputs);
        Assert.Equal("mlp", json.GetProperty("model_name").GetString());
        Assert.Equal("2", json.GetProperty("model_version").GetString());
        Assert.Equal("request-42", json.GetProperty("id").GetString());
        Assert.Equal(["y", "hidden"], json.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task Cnn_nested_json_equals_onnx_runtime()
    {
        TestTensor image = TestData.Floats("image", [2, 1, 8, 8], seed: 2);

        (_, Dictionary<string, TestTensor> outputs) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(Http, "/v2/models/cnn/infer", Rest.Request(Rest.JsonInput(image, nested: true))));

        Same.Outputs(Reference.Run(fixture.Cnn, [image]), outputs);
        Assert.Equal([2L, 10L], outputs["logits"].Shape);
    }

    [Fact]
    public async Task Every_datatype_round_trips_through_json()
    {
        TestTensor[] inputs = TypesInputs(seed: 3);

        (_, Dictionary<string, TestTensor> outputs) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(Http, "/v2/models/types/infer", Rest.Request([.. inputs.Select(i => Rest.JsonInput(i, nested: true))])));

        Dictionary<string, TestTensor> expected = Reference.Run(fixture.Types, inputs);
        Same.Outputs(expected, outputs);
        foreach (TestTensor input in inputs)
        {
            Assert.Equal(input.Data, outputs[TestModels.Out(input.Type)].Data);
        }
    }

    [Fact]
    public async Task Every_datatype_round_trips_as_binary_both_ways()
    {
        TestTensor[] inputs = TypesInputs(seed: 4);
        JsonObject request = Rest.Request([.. inputs.Select(Rest.BinaryInput)]);
        request["parameters"] = new JsonObject { ["binary_data_output"] = true };

        HttpResponseMessage response = await Rest.PostBinaryAsync(Http, "/v2/models/types/infer", request, inputs.Select(i => i.Data));
        (JsonElement json, Dictionary<string, TestTensor> outputs) = await Rest.ReadResponseAsync(response);

        Same.Outputs(Reference.Run(fixture.Types, inputs), outputs);
        Assert.All(json.GetProperty("outputs").EnumerateArray(), o => Assert.False(o.TryGetProperty("data", out _)));
        Assert.False(json.TryGetProperty("parameters", out _), "binary_data_output is consumed, not echoed");
    }

    [Fact]
    public async Task Json_and_binary_mix_per_input_and_per_output()
    {
        TestTensor[] inputs = TypesInputs(seed: 5);
        // Even-numbered inputs as JSON, odd ones as binary; binary_data per output overrides binary_data_output.
        JsonObject[] objects = [.. inputs.Select((t, i) => i % 2 == 0 ? Rest.JsonInput(t) : Rest.BinaryInput(t))];
        JsonObject request = Rest.Request(objects);
        request["parameters"] = new JsonObject { ["binary_data_output"] = true, ["trace"] = "abc", ["priority"] = 3 };
        request["outputs"] = new JsonArray(
            new JsonObject { ["name"] = "out_fp16", ["parameters"] = new JsonObject { ["binary_data"] = false } },
            new JsonObject { ["name"] = "out_bytes" },
            new JsonObject { ["name"] = "half_as_float", ["parameters"] = new JsonObject { ["binary_data"] = true, ["note"] = "kept" } });

        HttpResponseMessage response = await Rest.PostBinaryAsync(Http, "/v2/models/types/infer", request, inputs.Where((_, i) => i % 2 == 1).Select(t => t.Data));
        (JsonElement json, Dictionary<string, TestTensor> outputs) = await Rest.ReadResponseAsync(response);

        Same.Outputs(Reference.Run(fixture.Types, inputs, "out_fp16", "out_bytes", "half_as_float"), outputs);
        JsonElement[] written = [.. json.GetProperty("outputs").EnumerateArray()];
        Assert.Equal(["out_fp16", "out_bytes", "half_as_float"], written.Select(o => o.GetProperty("name").GetString()));
        Assert.True(written[0].TryGetProperty("data", out _));
        Assert.False(written[1].TryGetProperty("data", out _));
        Assert.Equal("kept", written[2].GetProperty("parameters").GetProperty("note").GetString());
        Assert.False(written[2].GetProperty("parameters").TryGetProperty("binary_data", out _));
        JsonElement parameters = json.GetProperty("parameters");
        Assert.Equal("abc", parameters.GetProperty("trace").GetString());
        Assert.Equal(3, parameters.GetProperty("priority").GetInt32());
    }

    [Fact]
    public async Task Requested_outputs_come_back_alone_and_in_order()
    {
        TestTensor x = TestData.Floats("x", [1, TestModels.MlpInputs], seed: 6);
        JsonObject request = Rest.Request(Rest.JsonInput(x));
        request["outputs"] = new JsonArray(new JsonObject { ["name"] = "hidden" });

        (JsonElement json, Dictionary<string, TestTensor> outputs) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(Http, "/v2/models/mlp/versions/1/infer", request));

        Same.Outputs(Reference.Run(fixture.Mlp1, [x], "hidden"), outputs);
        Assert.Equal("1", json.GetProperty("model_version").GetString());
        Assert.False(json.TryGetProperty("id", out _));
    }

    [Fact]
    public async Task Versions_are_served_separately_and_the_default_is_the_highest()
    {
        TestTensor x = TestData.Floats("x", [2, TestModels.MlpInputs], seed: 7);
        JsonObject request = Rest.Request(Rest.JsonInput(x));

        (_, var v1) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(Http, "/v2/models/mlp/versions/1/infer", request));
        (_, var v2) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(Http, "/v2/models/mlp/versions/2/infer", request));
        (_, var latest) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(Http, "/v2/models/mlp/infer", request));

        Same.Outputs(Reference.Run(fixture.Mlp1, [x]), v1);
        Same.Outputs(Reference.Run(fixture.Mlp2, [x]), v2);
        Same.Outputs(v2, latest);
        Assert.False(v1["y"].Data.AsSpan().SequenceEqual(v2["y"].Data));
    }

    [Fact]
    public async Task Embedding_lookup_and_empty_tensors_work()
    {
        var ids = new TestTensor("ids", TensorDataType.Int64, [3], [.. BitConverter.GetBytes(2L), .. BitConverter.GetBytes(0L), .. BitConverter.GetBytes(3L)]);
        (_, var outputs) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(Http, "/v2/models/embedding/infer", Rest.Request(Rest.JsonInput(ids))));
        Same.Outputs(Reference.Run(fixture.Embedding, [ids]), outputs);

        var none = new TestTensor("ids", TensorDataType.Int64, [0], []);
        (_, outputs) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(Http, "/v2/models/embedding/infer", Rest.Request(Rest.JsonInput(none))));
        Assert.Equal([0L, 3L], outputs["vectors"].Shape);
        Assert.Empty(outputs["vectors"].Data);
    }

    [Fact]
    public async Task Special_floating_point_values_travel_as_strings()
    {
        var a = TestTensor.FromFloats("a", [1, 4], [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f]);
        var b = TestTensor.FromFloats("b", [1, 4], [1, 1, 1, -0f]);
        JsonObject request = Rest.Request(Rest.JsonInput(a), Rest.JsonInput(b));
        request["inputs"]![0]!["data"] = new JsonArray("NaN", "Infinity", "-Infinity", -0.0);

        HttpResponseMessage response = await Rest.PostJsonAsync(Http, "/v2/models/pair/infer", request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("[\"NaN\",\"Infinity\",\"-Infinity\",-0]", json.RootElement.GetProperty("outputs")[0].GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task Health_metadata_and_readiness()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal("{\"live\":true}", await Http.GetStringAsync("/v2/health/live", ct));
        Assert.Equal("{\"ready\":true}", await Http.GetStringAsync("/v2/health/ready", ct));

        using JsonDocument server = JsonDocument.Parse(await Http.GetStringAsync("/v2", ct));
        Assert.Equal("confide-inference", server.RootElement.GetProperty("name").GetString());
        Assert.Equal(["binary_tensor_data"], server.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));

        using JsonDocument mlp = JsonDocument.Parse(await Http.GetStringAsync("/v2/models/mlp", ct));
        Assert.Equal("""{"name":"mlp","versions":["1","2"],"platform":"onnx_onnxv1","inputs":[{"name":"x","datatype":"FP32","shape":[-1,16]}],"outputs":[{"name":"y","datatype":"FP32","shape":[-1,8]},{"name":"hidden","datatype":"FP32","shape":[-1,32]}]}""", mlp.RootElement.GetRawText());
        using JsonDocument types = JsonDocument.Parse(await Http.GetStringAsync("/v2/models/types/versions/1", ct));
        Assert.Equal(TensorDataTypes.All.Select(t => t.ToProtocolName()), types.RootElement.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("datatype").GetString()));
        Assert.Equal("[2,2]", types.RootElement.GetProperty("inputs").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "in_fp64").GetProperty("shape").GetRawText());

        Assert.Equal("{\"name\":\"mlp\",\"ready\":true}", await Http.GetStringAsync("/v2/models/mlp/ready", ct));
        Assert.Equal("{\"name\":\"mlp\",\"ready\":true}", await Http.GetStringAsync("/v2/models/mlp/versions/1/ready", ct));
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("/v2/models/mlp/versions/3/ready", ct)).StatusCode);
    }

    /// <summary>One input per data type for the "types" model: [2, 2] for FP64, [5] for the others.</summary>
    internal static TestTensor[] TypesInputs(int seed, IEnumerable<TensorDataType>? types = null) =>
        [.. (types ?? TensorDataTypes.All).Select((t, i) => TestData.Random(TestModels.In(t), t, t == TensorDataType.Fp64 ? [2, 2] : [5], seed * 100 + i))];
}
