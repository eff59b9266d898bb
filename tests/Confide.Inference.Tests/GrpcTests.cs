using System.Runtime.InteropServices;
using Confide.Inference.Grpc.Protocol;
using Confide.Inference.Tensors;
using Confide.Inference.Tests.Onnx;
using Confide.Inference.Tests.Support;
using Google.Protobuf;
using Grpc.Core;

namespace Confide.Inference.Tests;

/// <summary>The KServe v2 gRPC API: typed and raw contents equal in-process ONNX Runtime bit for bit; refusals carry their status codes.</summary>
public sealed class GrpcTests(InferenceFixture fixture)
{
    private GRPCInferenceService.GRPCInferenceServiceClient Client => fixture.Grpc;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Health_and_metadata()
    {
        Assert.True((await Client.ServerLiveAsync(new ServerLiveRequest(), cancellationToken: Ct)).Live);
        Assert.True((await Client.ServerReadyAsync(new ServerReadyRequest(), cancellationToken: Ct)).Ready);
        Assert.True((await Client.ModelReadyAsync(new ModelReadyRequest { Name = "mlp" }, cancellationToken: Ct)).Ready);
        Assert.True((await Client.ModelReadyAsync(new ModelReadyRequest { Name = "mlp", Version = "1" }, cancellationToken: Ct)).Ready);

        ServerMetadataResponse server = await Client.ServerMetadataAsync(new ServerMetadataRequest(), cancellationToken: Ct);
        Assert.Equal("confide-inference", server.Name);
        Assert.Contains("binary_tensor_data", server.Extensions);

        ModelMetadataResponse cnn = await Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "cnn" }, cancellationToken: Ct);
        Assert.Equal("onnx_onnxv1", cnn.Platform);
        Assert.Equal(["1"], cnn.Versions);
        Assert.Equal("image", cnn.Inputs.Single().Name);
        Assert.Equal("FP32", cnn.Inputs.Single().Datatype);
        Assert.Equal([-1L, 1, 8, 8], cnn.Inputs.Single().Shape);
        Assert.Equal([-1L, 10], cnn.Outputs.Single().Shape);
    }

    [Fact]
    public async Task Typed_contents_equal_onnx_runtime_and_come_back_typed()
    {
        TestTensor image = TestData.Floats("image", [3, 1, 8, 8], seed: 20);
        var request = new ModelInferRequest { ModelName = "cnn", Id = "grpc-1" };
        request.Inputs.Add(Input(image, raw: false));
        request.Parameters["trace"] = new InferParameter { StringParam = "t-1" };

        ModelInferResponse response = await Client.ModelInferAsync(request, cancellationToken: Ct);

        Assert.Equal("grpc-1", response.Id);
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal("t-1", response.Parameters["trace"].StringParam);
        Assert.Empty(response.RawOutputContents);
        ModelInferResponse.Types.InferOutputTensor logits = Assert.Single(response.Outputs);
        Same.Tensor(Reference.Run(fixture.Cnn, [image])["logits"], TestTensor.FromFloats("logits", [.. logits.Shape], [.. logits.Contents.Fp32Contents]));
    }

    [Fact]
    public async Task Every_typed_datatype_round_trips()
    {
        TestTensor[] inputs = RestInferenceTests.TypesInputs(seed: 21, TensorDataTypes.All.Where(t => t != TensorDataType.Fp16));
        var request = new ModelInferRequest { ModelName = "typed" };
        request.Inputs.AddRange(inputs.Select(i => Input(i, raw: false)));

        ModelInferResponse response = await Client.ModelInferAsync(request, cancellationToken: Ct);

        Assert.Empty(response.RawOutputContents);
        Dictionary<string, TestTensor> expected = Reference.Run(fixture.Typed, inputs);
        Assert.Equal(expected.Count, response.Outputs.Count);
        foreach (ModelInferResponse.Types.InferOutputTensor output in response.Outputs)
        {
            Same.Tensor(expected[output.Name], FromContents(output));
        }
    }

    [Fact]
    public async Task Raw_contents_of_every_datatype_equal_onnx_runtime()
    {
        TestTensor[] inputs = RestInferenceTests.TypesInputs(seed: 22);
        var request = new ModelInferRequest { ModelName = "types", ModelVersion = "1" };
        request.Inputs.AddRange(inputs.Select(i => Input(i, raw: true)));
        request.RawInputContents.AddRange(inputs.Select(i => ByteString.CopyFrom(i.Data)));
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "half_as_float" });
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "out_bytes" });
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "out_fp16" });

        ModelInferResponse response = await Client.ModelInferAsync(request, cancellationToken: Ct);

        Dictionary<string, TestTensor> expected = Reference.Run(fixture.Types, inputs, "half_as_float", "out_bytes", "out_fp16");
        Assert.Equal(["half_as_float", "out_bytes", "out_fp16"], response.Outputs.Select(o => o.Name));
        for (int i = 0; i < response.Outputs.Count; i++)
        {
            ModelInferResponse.Types.InferOutputTensor output = response.Outputs[i];
            Assert.Null(output.Contents);
            Assert.True(TensorDataTypes.TryParse(output.Datatype, out TensorDataType type));
            Same.Tensor(expected[output.Name], new TestTensor(output.Name, type, [.. output.Shape], response.RawOutputContents[i].ToByteArray()));
        }
    }

    [Fact]
    public async Task Refusals_carry_their_status_codes()
    {
        TestTensor x = TestData.Floats("x", [1, TestModels.MlpInputs], seed: 23);
        ModelInferRequest Mlp(Action<ModelInferRequest>? change = null)
        {
            var request = new ModelInferRequest { ModelName = "mlp" };
            request.Inputs.Add(Input(x, raw: false));
            change?.Invoke(request);
            return request;
        }

        await Refused(StatusCode.NotFound, "Model 'nope' is not served here", Mlp(r => r.ModelName = "nope"));
        await Refused(StatusCode.NotFound, "Model 'mlp' has no version '5'", Mlp(r => r.ModelVersion = "5"));
        await Refused(StatusCode.InvalidArgument, "model_name is empty", Mlp(r => r.ModelName = string.Empty));
        await Refused(StatusCode.InvalidArgument, "Input 'x' of model 'mlp' is FP32; the request gives FP64", Mlp(r =>
        {
            r.Inputs[0].Datatype = "FP64";
            r.Inputs[0].Contents = new InferTensorContents();
            r.Inputs[0].Contents.Fp64Contents.AddRange(new double[16]);
        }));
        await Refused(StatusCode.InvalidArgument, "Input 'x' is FP32, whose contents go in fp32_contents; the request fills other fields", Mlp(r => r.Inputs[0].Contents.IntContents.Add(1)));
        await Refused(StatusCode.InvalidArgument, "Input 'x' has 32 elements by its shape; fp32_contents holds 16", Mlp(r => r.Inputs[0].Shape[0] = 2));
        await Refused(StatusCode.InvalidArgument, "has no contents (and the request has no raw_input_contents)", Mlp(r => r.Inputs[0].Contents = null));
        await Refused(StatusCode.InvalidArgument, "raw_input_contents has 2 entries for 1 inputs", Mlp(r =>
        {
            r.Inputs[0].Contents = null;
            r.RawInputContents.Add(ByteString.CopyFrom(x.Data));
            r.RawInputContents.Add(ByteString.Empty);
        }));
        await Refused(StatusCode.InvalidArgument, "has contents although the request uses raw_input_contents", Mlp(r => r.RawInputContents.Add(ByteString.CopyFrom(x.Data))));
        await Refused(StatusCode.InvalidArgument, "is 64 bytes of data; got 63", Mlp(r =>
        {
            r.Inputs[0].Contents = null;
            r.RawInputContents.Add(ByteString.CopyFrom(x.Data.AsSpan(1)));
        }));
        await Refused(StatusCode.InvalidArgument, "dimension 1 is -16", Mlp(r => r.Inputs[0].Shape[1] = -16));
        await Refused(StatusCode.InvalidArgument, "Model 'mlp' has no output 'z'", Mlp(r => r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "z" })));
        await Refused(StatusCode.InvalidArgument, "Model 'mlp' needs input 'x'", Mlp(r => r.Inputs.Clear()));

        var half = new ModelInferRequest { ModelName = "types" };
        half.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "in_fp16", Datatype = "FP16", Shape = { 1 }, Contents = new InferTensorContents { Fp32Contents = { 1f } } });
        await Refused(StatusCode.InvalidArgument, "FP16, which has no typed contents; send it in raw_input_contents", half);

        var int8 = new ModelInferRequest { ModelName = "typed" };
        int8.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "in_int8", Datatype = "INT8", Shape = { 2 }, Contents = new InferTensorContents { IntContents = { 1, 200 } } });
        await Refused(StatusCode.InvalidArgument, "element 1: 200 is out of the range of INT8 (-128 to 127)", int8);

        var uint16 = new ModelInferRequest { ModelName = "typed" };
        uint16.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "in_uint16", Datatype = "UINT16", Shape = { 1 }, Contents = new InferTensorContents { UintContents = { 70000 } } });
        await Refused(StatusCode.InvalidArgument, "70000 is out of the range of UINT16", uint16);

        var unknown = new ModelInferRequest { ModelName = "mlp" };
        unknown.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FLOAT", Shape = { 1, 16 } });
        await Refused(StatusCode.InvalidArgument, "datatype 'FLOAT', which is not one of", unknown);

        var big = new ModelInferRequest { ModelName = "mlp" };
        big.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 65537, 16 } });
        big.RawInputContents.Add(ByteString.CopyFrom(new byte[65537 * 16 * 4]));
        RpcException tooLarge = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(big, cancellationToken: Ct));
        Assert.Equal(StatusCode.ResourceExhausted, tooLarge.StatusCode);

        RpcException metadata = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "mlp", Version = "7" }, cancellationToken: Ct));
        Assert.Equal(StatusCode.NotFound, metadata.StatusCode);
        RpcException ready = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelReadyAsync(new ModelReadyRequest { Name = "nope" }, cancellationToken: Ct));
        Assert.Equal(StatusCode.NotFound, ready.StatusCode);
    }

    private async Task Refused(StatusCode code, string message, ModelInferRequest request)
    {
        RpcException refusal = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(request, cancellationToken: Ct));
        Assert.True(code == refusal.StatusCode, $"expected {code}, got {refusal.StatusCode}: {refusal.Status.Detail}");
        Assert.Contains(message, refusal.Status.Detail, StringComparison.Ordinal);
    }

    internal static ModelInferRequest.Types.InferInputTensor Input(TestTensor tensor, bool raw)
    {
        var input = new ModelInferRequest.Types.InferInputTensor { Name = tensor.Name, Datatype = tensor.Type.ToProtocolName() };
        input.Shape.AddRange(tensor.Shape);
        if (!raw)
        {
            input.Contents = ToContents(tensor);
        }

        return input;
    }

    private static InferTensorContents ToContents(TestTensor tensor)
    {
        var contents = new InferTensorContents();
        ReadOnlySpan<byte> data = tensor.Data;
        switch (tensor.Type)
        {
            case TensorDataType.Bool: contents.BoolContents.AddRange(tensor.Data.Select(b => b != 0)); break;
            case TensorDataType.UInt8: contents.UintContents.AddRange(tensor.Data.Select(b => (uint)b)); break;
            case TensorDataType.UInt16: contents.UintContents.AddRange(MemoryMarshal.Cast<byte, ushort>(data).ToArray().Select(v => (uint)v)); break;
            case TensorDataType.UInt32: contents.UintContents.AddRange(MemoryMarshal.Cast<byte, uint>(data).ToArray()); break;
            case TensorDataType.UInt64: contents.Uint64Contents.AddRange(MemoryMarshal.Cast<byte, ulong>(data).ToArray()); break;
            case TensorDataType.Int8: contents.IntContents.AddRange(tensor.Data.Select(b => (int)(sbyte)b)); break;
            case TensorDataType.Int16: contents.IntContents.AddRange(MemoryMarshal.Cast<byte, short>(data).ToArray().Select(v => (int)v)); break;
            case TensorDataType.Int32: contents.IntContents.AddRange(MemoryMarshal.Cast<byte, int>(data).ToArray()); break;
            case TensorDataType.Int64: contents.Int64Contents.AddRange(MemoryMarshal.Cast<byte, long>(data).ToArray()); break;
            case TensorDataType.Fp32: contents.Fp32Contents.AddRange(MemoryMarshal.Cast<byte, float>(data).ToArray()); break;
            case TensorDataType.Fp64: contents.Fp64Contents.AddRange(MemoryMarshal.Cast<byte, double>(data).ToArray()); break;
            case TensorDataType.Bytes: contents.BytesContents.AddRange(tensor.Strings.Select(ByteString.CopyFromUtf8)); break;
            default: throw new ArgumentOutOfRangeException(nameof(tensor));
        }

        return contents;
    }

    private static TestTensor FromContents(ModelInferResponse.Types.InferOutputTensor output)
    {
        Assert.True(TensorDataTypes.TryParse(output.Datatype, out TensorDataType type));
        InferTensorContents c = output.Contents;
        byte[] data = type switch
        {
            TensorDataType.Bool => [.. c.BoolContents.Select(b => b ? (byte)1 : (byte)0)],
            TensorDataType.UInt8 => [.. c.UintContents.Select(v => (byte)v)],
            TensorDataType.UInt16 => MemoryMarshal.AsBytes(c.UintContents.Select(v => (ushort)v).ToArray().AsSpan()).ToArray(),
            TensorDataType.UInt32 => MemoryMarshal.AsBytes(c.UintContents.ToArray().AsSpan()).ToArray(),
            TensorDataType.UInt64 => MemoryMarshal.AsBytes(c.Uint64Contents.ToArray().AsSpan()).ToArray(),
            TensorDataType.Int8 => [.. c.IntContents.Select(v => (byte)(sbyte)v)],
            TensorDataType.Int16 => MemoryMarshal.AsBytes(c.IntContents.Select(v => (short)v).ToArray().AsSpan()).ToArray(),
            TensorDataType.Int32 => MemoryMarshal.AsBytes(c.IntContents.ToArray().AsSpan()).ToArray(),
            TensorDataType.Int64 => MemoryMarshal.AsBytes(c.Int64Contents.ToArray().AsSpan()).ToArray(),
            TensorDataType.Fp32 => MemoryMarshal.AsBytes(c.Fp32Contents.ToArray().AsSpan()).ToArray(),
            TensorDataType.Fp64 => MemoryMarshal.AsBytes(c.Fp64Contents.ToArray().AsSpan()).ToArray(),
            TensorDataType.Bytes => InferenceTensor.EncodeBytes([.. c.BytesContents.Select(b => b.Memory)]),
            _ => throw new ArgumentOutOfRangeException(nameof(output)),
        };
        return new TestTensor(output.Name, type, [.. output.Shape], data);
    }
}
