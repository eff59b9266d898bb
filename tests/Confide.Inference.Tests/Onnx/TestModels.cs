using Confide.Inference.Tensors;
using DataType = Confide.Inference.Tests.Onnx.TensorProto.Types.DataType;

namespace Confide.Inference.Tests.Onnx;

/// <summary>The models the tests serve, built in code with fixed seeds (nothing is downloaded).</summary>
internal static class TestModels
{
    public const int MlpInputs = 16;
    public const int MlpHidden = 32;
    public const int MlpOutputs = 8;

    /// <summary>x FP32 [N, 16] → MatMul+Add+Relu → "hidden" [N, 32] → MatMul+Add → "y" [N, 8].</summary>
    public static byte[] Mlp(int seed = 7)
    {
        var random = new Random(seed);
        return new OnnxBuilder("mlp")
            .Input("x", DataType.Float, "N", MlpInputs)
            .Initializer("w1", [MlpInputs, MlpHidden], OnnxBuilder.Weights(random, MlpInputs * MlpHidden, 0.5f))
            .Initializer("b1", [MlpHidden], OnnxBuilder.Weights(random, MlpHidden, 0.1f))
            .Initializer("w2", [MlpHidden, MlpOutputs], OnnxBuilder.Weights(random, MlpHidden * MlpOutputs, 0.5f))
            .Initializer("b2", [MlpOutputs], OnnxBuilder.Weights(random, MlpOutputs, 0.1f))
            .Node("MatMul", ["x", "w1"], ["h0"])
            .Node("Add", ["h0", "b1"], ["h1"])
            .Node("Relu", ["h1"], ["hidden"])
            .Node("MatMul", ["hidden", "w2"], ["h2"])
            .Node("Add", ["h2", "b2"], ["y"])
            .Output("y", DataType.Float, "N", MlpOutputs)
            .Output("hidden", DataType.Float, "N", MlpHidden)
            .Build();
    }

    /// <summary>
    /// image FP32 [N, 1, 8, 8] → Conv(4, 3x3, pad 1)+Relu → MaxPool 2x2 → Conv(8, 3x3, pad 1)+Relu →
    /// GlobalAveragePool → Flatten → Gemm → "logits" [N, 10].
    /// </summary>
    public static byte[] Cnn(int seed = 11)
    {
        var random = new Random(seed);
        return new OnnxBuilder("cnn")
            .Input("image", DataType.Float, "N", 1, 8, 8)
            .Initializer("k1", [4, 1, 3, 3], OnnxBuilder.Weights(random, 36, 0.5f))
            .Initializer("c1", [4], OnnxBuilder.Weights(random, 4, 0.1f))
            .Initializer("k2", [8, 4, 3, 3], OnnxBuilder.Weights(random, 288, 0.3f))
            .Initializer("c2", [8], OnnxBuilder.Weights(random, 8, 0.1f))
            .Initializer("fc", [10, 8], OnnxBuilder.Weights(random, 80, 0.5f))
            .Initializer("fcb", [10], OnnxBuilder.Weights(random, 10, 0.1f))
            .Node("Conv", ["image", "k1", "c1"], ["conv1"], OnnxBuilder.Ints("pads", 1, 1, 1, 1), OnnxBuilder.Ints("kernel_shape", 3, 3))
            .Node("Relu", ["conv1"], ["relu1"])
            .Node("MaxPool", ["relu1"], ["pool1"], OnnxBuilder.Ints("kernel_shape", 2, 2), OnnxBuilder.Ints("strides", 2, 2))
            .Node("Conv", ["pool1", "k2", "c2"], ["conv2"], OnnxBuilder.Ints("pads", 1, 1, 1, 1), OnnxBuilder.Ints("kernel_shape", 3, 3))
            .Node("Relu", ["conv2"], ["relu2"])
            .Node("GlobalAveragePool", ["relu2"], ["gap"])
            .Node("Flatten", ["gap"], ["flat"], OnnxBuilder.Int("axis", 1))
            .Node("Gemm", ["flat", "fc", "fcb"], ["logits"], OnnxBuilder.Int("transB", 1))
            .Output("logits", DataType.Float, "N", 10)
            .Build();
    }

    /// <summary>The ONNX element type of each protocol data type.</summary>
    public static DataType Onnx(TensorDataType type) => type switch
    {
        TensorDataType.Bool => DataType.Bool,
        TensorDataType.UInt8 => DataType.Uint8,
        TensorDataType.UInt16 => DataType.Uint16,
        TensorDataType.UInt32 => DataType.Uint32,
        TensorDataType.UInt64 => DataType.Uint64,
        TensorDataType.Int8 => DataType.Int8,
        TensorDataType.Int16 => DataType.Int16,
        TensorDataType.Int32 => DataType.Int32,
        TensorDataType.Int64 => DataType.Int64,
        TensorDataType.Fp16 => DataType.Float16,
        TensorDataType.Fp32 => DataType.Float,
        TensorDataType.Fp64 => DataType.Double,
        TensorDataType.Bytes => DataType.String,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Input name "in_&lt;type&gt;" and output "out_&lt;type&gt;" for each data type (lower-case protocol name).</summary>
    public static string In(TensorDataType type) => "in_" + type.ToProtocolName().ToLowerInvariant();

    public static string Out(TensorDataType type) => "out_" + type.ToProtocolName().ToLowerInvariant();

    /// <summary>
    /// Every protocol data type: Identity from "in_T" [n_T] to "out_T" (FP64 fixed at [2, 2]),
    /// plus Cast FP16→FP32 ("half_as_float"), Cast INT64→FP64 ("long_as_double") and Not BOOL ("not_bool").
    /// </summary>
    public static byte[] Types() => Types(TensorDataTypes.All);

    /// <summary>Identity for each of <paramref name="types"/>; the casts only for the types present.</summary>
    public static byte[] Types(IEnumerable<TensorDataType> types)
    {
        TensorDataType[] present = [.. types];
        var builder = new OnnxBuilder("types");
        foreach (TensorDataType type in present)
        {
            object[] shape = type == TensorDataType.Fp64 ? [2, 2] : ["n_" + type.ToProtocolName().ToLowerInvariant()];
            builder.Input(In(type), Onnx(type), shape)
                .Node("Identity", [In(type)], [Out(type)])
                .Output(Out(type), Onnx(type), shape);
        }

        if (present.Contains(TensorDataType.Fp16))
        {
            builder.Node("Cast", [In(TensorDataType.Fp16)], ["half_as_float"], OnnxBuilder.Int("to", (long)DataType.Float))
                .Output("half_as_float", DataType.Float, "n_fp16");
        }

        if (present.Contains(TensorDataType.Int64))
        {
            builder.Node("Cast", [In(TensorDataType.Int64)], ["long_as_double"], OnnxBuilder.Int("to", (long)DataType.Double))
                .Output("long_as_double", DataType.Double, "n_int64");
        }

        if (present.Contains(TensorDataType.Bool))
        {
            builder.Node("Not", [In(TensorDataType.Bool)], ["not_bool"])
                .Output("not_bool", DataType.Bool, "n_bool");
        }

        return builder.Build();
    }

    /// <summary>a [N, 4] + b [N, 4] → "sum": two inputs that share the symbolic dimension N.</summary>
    public static byte[] Pair() => new OnnxBuilder("pair")
        .Input("a", DataType.Float, "N", 4)
        .Input("b", DataType.Float, "N", 4)
        .Node("Add", ["a", "b"], ["sum"])
        .Output("sum", DataType.Float, "N", 4)
        .Build();

    /// <summary>
    /// Gather of a [4, 3] FP32 table by INT64 indices "ids" [k]: indices out of range are a runtime
    /// error of the input's values, which no metadata check can catch.
    /// </summary>
    public static byte[] Embedding()
    {
        return new OnnxBuilder("embedding")
            .Input("ids", DataType.Int64, "k")
            .Initializer("table", [4, 3], [.. Enumerable.Range(0, 12).Select(i => (float)i)])
            .Node("Gather", ["table", "ids"], ["vectors"], OnnxBuilder.Int("axis", 0))
            .Output("vectors", DataType.Float, "k", 3)
            .Build();
    }
}
