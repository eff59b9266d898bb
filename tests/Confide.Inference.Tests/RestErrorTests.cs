using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Confide.Inference.Tensors;
using Confide.Inference.Tests.Onnx;
using Confide.Inference.Tests.Support;

namespace Confide.Inference.Tests;

/// <summary>Every kind of bad REST input gets the protocol's error body with a precise message and a 4xx status; never a 500.</summary>
public sealed class RestErrorTests(InferenceFixture fixture)
{
    private const string X16 = "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]";

    private HttpClient Http => fixture.Http;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    // Unknown model or version: 404.
    [InlineData("/v2/models/nope/infer", "{\"inputs\":[]}", 404, "Model 'nope' is not served here")]
    [InlineData("/v2/models/mlp/versions/9/infer", "{\"inputs\":[]}", 404, "Model 'mlp' has no version '9'; it has 1, 2")]
    [InlineData("/v2/models/mlp/versions/latest/infer", "{\"inputs\":[]}", 404, "no version 'latest'")]
    // Malformed requests.
    [InlineData("/v2/models/mlp/infer", "{\"inputs\": [", 400, "not valid JSON")]
    [InlineData("/v2/models/mlp/infer", "", 400, "not valid JSON")]
    [InlineData("/v2/models/mlp/infer", "[1,2]", 400, "must be a JSON object, not an array")]
    [InlineData("/v2/models/mlp/infer", "{}", 400, "has no 'inputs'")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":{}}", 400, "'inputs' must be an array, not an object")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[], \"ouputs\":[]}", 400, "Unknown member 'ouputs'")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[], \"inputs\":[]}", 400, "Member 'inputs' appears twice")]
    [InlineData("/v2/models/mlp/infer", "{\"id\":7,\"inputs\":[]}", 400, "'id' must be a string, not a number")]
    [InlineData("/v2/models/mlp/infer", "{\"model_name\":\"cnn\",\"inputs\":[]}", 400, "names model 'cnn' but the URL names 'mlp'")]
    [InlineData("/v2/models/mlp/infer", "{\"parameters\":{\"p\":[1]},\"inputs\":[]}", 400, "Parameter 'p' of the request must be a string, number or boolean")]
    [InlineData("/v2/models/mlp/infer", "{\"parameters\":{\"binary_data_output\":1},\"inputs\":[]}", 400, "'binary_data_output' of the request must be true or false")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[7]}", 400, "inputs[0] must be an object, not a number")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + X16 + "}]}", 400, "inputs[0] has no 'name'")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"data\":" + X16 + "}]}", 400, "Input 'x' has no 'shape'")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"data\":" + X16 + "}]}", 400, "Input 'x' has no 'datatype'")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\"}]}", 400, "has neither 'data' nor the binary_data_size parameter")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + X16 + ",\"extra\":1}]}", 400, "Unknown member 'extra' in inputs[0]")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,\"16\"],\"datatype\":\"FP32\",\"data\":" + X16 + "}]}", 400, "inputs[0].shape[1] must be an integer")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16.5],\"datatype\":\"FP32\",\"data\":" + X16 + "}]}", 400, "inputs[0].shape[1] must be an integer")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[-1,16],\"datatype\":\"FP32\",\"data\":" + X16 + "}]}", 400, "inputs[0].shape[0] is -1")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + X16 + "}],\"outputs\":[{\"name\":\"y\",\"parameters\":{\"binary_data\":\"yes\"}}]}", 400, "'binary_data' of output 'y' must be true or false")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + X16 + "}],\"outputs\":[{}]}", 400, "outputs[0] has no 'name'")]
    // Inputs that do not fit the model.
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP8\",\"data\":" + X16 + "}]}", 400, "datatype 'FP8', which is not one of BOOL, UINT8")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"fp32\",\"data\":" + X16 + "}]}", 400, "datatype 'fp32'")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP64\",\"data\":" + X16 + "}]}", 400, "Input 'x' of model 'mlp' is FP32; the request gives FP64")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[16],\"datatype\":\"FP32\",\"data\":" + X16 + "}]}", 400, "has shape [-1, 16] (rank 2); the request's shape [16] has rank 1")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,8],\"datatype\":\"FP32\",\"data\":" + X16 + "}]}", 400, "differs in dimension 1")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,16],\"datatype\":\"FP32\",\"data\":" + X16 + "}]}", 400, "has shape [2, 16] (32 elements); its 'data' holds 16")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":[[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0]]}]}", 400, "nested 'data' has 2 entries at depth 0, but shape [1, 16] has 1 there")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,16],\"datatype\":\"FP32\",\"data\":[" + X16 + ",1]}]}", 400, "has a value at depth 1")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":[[[0],0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]]}]}", 400, "nested deeper than its shape")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":{}}]}", 400, "'data' must be an array, not an object")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":[0,0,0,\"one\",0,0,0,0,0,0,0,0,0,0,0,0]}]}", 400, "element 3: \"one\" is not a number")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":[0,0,0,true,0,0,0,0,0,0,0,0,0,0,0,0]}]}", 400, "element 3: true is not a FP32 number")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":[0,0,0,1e39,0,0,0,0,0,0,0,0,0,0,0,0]}]}", 400, "element 3: 1e39 is out of the range of FP32")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"y\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + X16 + "}]}", 400, "Model 'mlp' has no input 'y'; its inputs are 'x'")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[]}", 400, "Model 'mlp' needs input 'x' (FP32 [-1, 16]), which the request lacks")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + X16 + "},{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + X16 + "}]}", 400, "Input 'x' is given more than once")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + X16 + "}],\"outputs\":[{\"name\":\"z\"}]}", 400, "Model 'mlp' has no output 'z'; its outputs are 'y', 'hidden'")]
    [InlineData("/v2/models/mlp/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + X16 + "}],\"outputs\":[{\"name\":\"y\"},{\"name\":\"y\"}]}", 400, "Output 'y' is requested more than once")]
    [InlineData("/v2/models/pair/infer", "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]},{\"name\":\"b\",\"shape\":[2,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4,5,6,7,8]}]}", 400, "Dimension 'N' of model 'pair' is 1 in input 'a' but 2 in input 'b'")]
    [InlineData("/v2/models/typed/infer", "{\"inputs\":[{\"name\":\"in_int8\",\"shape\":[1],\"datatype\":\"INT8\",\"data\":[300]}]}", 400, "element 0: 300 is not a INT8 (an integer from -128 to 127)")]
    [InlineData("/v2/models/typed/infer", "{\"inputs\":[{\"name\":\"in_uint16\",\"shape\":[1],\"datatype\":\"UINT16\",\"data\":[-1]}]}", 400, "element 0: -1 is not a UINT16")]
    [InlineData("/v2/models/typed/infer", "{\"inputs\":[{\"name\":\"in_int32\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[1.5]}]}", 400, "element 0: 1.5 is not a INT32")]
    [InlineData("/v2/models/typed/infer", "{\"inputs\":[{\"name\":\"in_uint64\",\"shape\":[1],\"datatype\":\"UINT64\",\"data\":[18446744073709551616]}]}", 400, "is not a UINT64")]
    [InlineData("/v2/models/typed/infer", "{\"inputs\":[{\"name\":\"in_bool\",\"shape\":[1],\"datatype\":\"BOOL\",\"data\":[1]}]}", 400, "a BOOL is true or false, not 1")]
    [InlineData("/v2/models/typed/infer", "{\"inputs\":[{\"name\":\"in_bytes\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[5]}]}", 400, "BYTES data are JSON strings, not 5")]
    [InlineData("/v2/models/types/infer", "{\"inputs\":[{\"name\":\"in_fp16\",\"shape\":[1],\"datatype\":\"FP16\",\"data\":[70000]}]}", 400, "70000 is out of the range of FP16")]
    public async Task Bad_requests_get_a_precise_protocol_error(string path, string body, int status, string message)
    {
        string error = await Rest.ErrorAsync(await Rest.PostRawAsync(Http, path, body), (HttpStatusCode)status);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Binary_framing_errors_are_named()
    {
        TestTensor x = TestData.Floats("x", [1, TestModels.MlpInputs], seed: 9);
        JsonObject request = Rest.Request(Rest.BinaryInput(x));
        const string Path = "/v2/models/mlp/infer";

        Assert.Contains("binary data follow the JSON, but the inputs' binary_data_size parameters add up to 64",
            await Rest.ErrorAsync(await Rest.PostBinaryAsync(Http, Path, request, [x.Data, [1, 2, 3]]), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("declares 64 bytes of binary data; only 60 remain",
            await Rest.ErrorAsync(await Rest.PostBinaryAsync(Http, Path, request, [x.Data[..60]]), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("Inference-Header-Content-Length is 100000, but the body is",
            await Rest.ErrorAsync(await Rest.PostBinaryAsync(Http, Path, request, [x.Data], headerLength: "100000"), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("Inference-Header-Content-Length must be a non-negative integer, not 'ten'",
            await Rest.ErrorAsync(await Rest.PostBinaryAsync(Http, Path, request, [x.Data], headerLength: "ten"), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("the request has no Inference-Header-Content-Length header",
            await Rest.ErrorAsync(await Rest.PostJsonAsync(Http, Path, request), HttpStatusCode.BadRequest), StringComparison.Ordinal);

        // The header length cuts the JSON short.
        Assert.Contains("not valid JSON",
            await Rest.ErrorAsync(await Rest.PostBinaryAsync(Http, Path, request, [x.Data], headerLength: "10"), HttpStatusCode.BadRequest), StringComparison.Ordinal);

        // Both data and binary_data_size.
        JsonObject both = Rest.Request(Rest.JsonInput(x, parameters: new JsonObject { ["binary_data_size"] = 64 }));
        Assert.Contains("has both 'data' and the binary_data_size parameter",
            await Rest.ErrorAsync(await Rest.PostBinaryAsync(Http, Path, both, [x.Data]), HttpStatusCode.BadRequest), StringComparison.Ordinal);

        // A negative size.
        JsonObject negative = Rest.Request(Rest.BinaryInput(x));
        negative["inputs"]![0]!["parameters"]!["binary_data_size"] = -4;
        Assert.Contains("binary_data_size must be a non-negative integer, not -4",
            await Rest.ErrorAsync(await Rest.PostBinaryAsync(Http, Path, negative, [x.Data]), HttpStatusCode.BadRequest), StringComparison.Ordinal);

        // A binary body without the header at all: the JSON parser meets the binary bytes.
        var content = new ByteArrayContent([.. Encoding.UTF8.GetBytes(request.ToJsonString()), 0, 1, 2]);
        Assert.Contains("needs the Inference-Header-Content-Length header",
            await Rest.ErrorAsync(await Http.PostAsync(Path, content, Ct), HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Binary_tensor_contents_are_checked()
    {
        var flag = new TestTensor(TestModels.In(TensorDataType.Bool), TensorDataType.Bool, [3], [0, 2, 1]);
        Assert.Contains("BOOL element 1 is the byte 2",
            await Rest.ErrorAsync(await Rest.PostBinaryAsync(Http, "/v2/models/typed/infer", Rest.Request(Rest.BinaryInput(flag)), [flag.Data]), HttpStatusCode.BadRequest), StringComparison.Ordinal);

        byte[] invalidUtf8 = InferenceTensor.EncodeBytes([new byte[] { 0xC3, 0x28 }]);
        TestTensor[] inputs = RestInferenceTests.TypesInputs(seed: 10, TensorDataTypes.All.Where(t => t != TensorDataType.Fp16));
        inputs = [.. inputs.Select(i => i.Type == TensorDataType.Bytes ? i with { Shape = [1], Data = invalidUtf8 } : i)];
        Assert.Contains("BYTES element 0 is not valid UTF-8",
            await Rest.ErrorAsync(await Rest.PostBinaryAsync(Http, "/v2/models/typed/infer", Rest.Request([.. inputs.Select(Rest.BinaryInput)]), inputs.Select(i => i.Data)), HttpStatusCode.BadRequest), StringComparison.Ordinal);

        var truncated = new TestTensor(TestModels.In(TensorDataType.Bytes), TensorDataType.Bytes, [2], [.. BitConverter.GetBytes(3), .. "abc"u8.ToArray(), .. BitConverter.GetBytes(10), .. "xy"u8.ToArray()]);
        Assert.Contains("BYTES element 1 declares 10 bytes; only 2 remain",
            await Rest.ErrorAsync(await Rest.PostBinaryAsync(Http, "/v2/models/typed/infer", Rest.Request(Rest.BinaryInput(truncated)), [truncated.Data]), HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Out_of_range_values_the_model_refuses_are_a_client_error()
    {
        var ids = new TestTensor("ids", TensorDataType.Int64, [1], BitConverter.GetBytes(99L));
        string error = await Rest.ErrorAsync(await Rest.PostJsonAsync(Http, "/v2/models/embedding/infer", Rest.Request(Rest.JsonInput(ids))), HttpStatusCode.BadRequest);
        Assert.Contains("Model 'embedding' version 1 refused the input values", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversized_bodies_get_413_with_or_without_a_content_length()
    {
        byte[] big = new byte[InferenceFixture.MaxRequestBytes + 1];
        big.AsSpan().Fill((byte)' ');
        string declared = await Rest.ErrorAsync(await Http.PostAsync("/v2/models/mlp/infer", new ByteArrayContent(big), Ct), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains($"this server accepts at most {InferenceFixture.MaxRequestBytes}", declared, StringComparison.Ordinal);

        // Chunked: no Content-Length, so the limit is enforced while reading.
        var chunked = new StreamContent(new MemoryStream(big));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/mlp/infer") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        string streamed = await Rest.ErrorAsync(await Http.SendAsync(request, Ct), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("this server accepts at most", streamed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metadata_and_unknown_routes_answer_with_the_error_body()
    {
        Assert.Contains("Model 'nope' is not served here", await Rest.ErrorAsync(await Http.GetAsync("/v2/models/nope", Ct), HttpStatusCode.NotFound), StringComparison.Ordinal);
        Assert.Contains("has no version '3'", await Rest.ErrorAsync(await Http.GetAsync("/v2/models/mlp/versions/3", Ct), HttpStatusCode.NotFound), StringComparison.Ordinal);
        Assert.Contains("not served here", await Rest.ErrorAsync(await Http.GetAsync("/v2/models/nope/ready", Ct), HttpStatusCode.NotFound), StringComparison.Ordinal);
        Assert.Contains("No route GET /v3", await Rest.ErrorAsync(await Http.GetAsync("/v3", Ct), HttpStatusCode.NotFound), StringComparison.Ordinal);
        Assert.Contains("No route GET /metrics", await Rest.ErrorAsync(await Http.GetAsync("/metrics", Ct), HttpStatusCode.NotFound), StringComparison.Ordinal);
    }
}
