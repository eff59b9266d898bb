using Google.Protobuf;

namespace Confide.Inference.Samples;

/// <summary>
/// Writes small dense ONNX models in code (IR 7, opset 13) for demos and benchmarks, so that nothing
/// is downloaded: layers of <c>Relu(x · W + b)</c> over float tensors with a symbolic batch dimension.
/// The input is named <c>x</c> and the output <c>y</c>.
/// </summary>
public static class DenseModel
{
    /// <summary>A model of <paramref name="layers"/> given as (weights [in × out], bias [out]) pairs.</summary>
    public static byte[] Build(int inputs, IReadOnlyList<(float[] Weights, float[] Bias)> layers)
    {
        var fields = new List<byte[]>();
        string current = "x";
        int width = inputs;
        for (int i = 0; i < layers.Count; i++)
        {
            (float[] weights, float[] bias) = layers[i];
            int outputs = bias.Length;
            if (weights.Length != width * outputs)
            {
                throw new ArgumentException($"Layer {i}: {weights.Length} weights for {width} inputs and {outputs} outputs.", nameof(layers));
            }

            string output = i == layers.Count - 1 ? "y" : $"a{i}";
            fields.Add(Bytes(1, Node("MatMul", [current, $"W{i}"], $"h{i}")));
            fields.Add(Bytes(1, Node("Add", [$"h{i}", $"b{i}"], $"z{i}")));
            fields.Add(Bytes(1, Node("Relu", [$"z{i}"], output)));
            fields.Add(Bytes(5, Tensor($"W{i}", [width, outputs], weights)));
            fields.Add(Bytes(5, Tensor($"b{i}", [outputs], bias)));
            current = output;
            width = outputs;
        }

        fields.Add(String(2, "dense"));
        fields.Add(Bytes(11, ValueInfo("x", inputs)));
        fields.Add(Bytes(12, ValueInfo("y", width)));
        return Message(Int(1, 7), String(2, "confide"), Bytes(7, Message([.. fields])), Bytes(8, Message(String(1, ""), Int(2, 13))));
    }

    /// <summary>A model of <paramref name="widths"/>.Length layers with seeded random weights (uniform, scaled to keep activations bounded).</summary>
    public static byte[] Random(int inputs, int[] widths, int seed)
    {
        var random = new System.Random(seed);
        var layers = new List<(float[], float[])>();
        int width = inputs;
        foreach (int outputs in widths)
        {
            float scale = 1f / MathF.Sqrt(width);
            layers.Add(([.. Enumerable.Range(0, width * outputs).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale)], [.. Enumerable.Range(0, outputs).Select(_ => (float)(random.NextDouble() * 0.1))]));
            width = outputs;
        }

        return Build(inputs, layers);
    }

    private static byte[] Node(string op, string[] inputs, string output) =>
        Message([.. inputs.Select(i => String(1, i)), String(2, output), String(3, op + "_" + output), String(4, op)]);

    private static byte[] Tensor(string name, long[] dims, float[] values) =>
        Message([.. dims.Select(d => Int(1, d)), Int(2, 1 /* FLOAT */), String(8, name), Bytes(9, [.. values.SelectMany(BitConverter.GetBytes)])]);

    /// <summary>A float tensor of shape [N, <paramref name="width"/>] (N symbolic).</summary>
    private static byte[] ValueInfo(string name, int width)
    {
        byte[] shape = Message(Bytes(1, Message(String(2, "N"))), Bytes(1, Message(Int(1, width))));
        return Message(String(1, name), Bytes(2, Message(Bytes(1, Message(Int(1, 1), Bytes(2, shape))))));
    }

    private static byte[] Message(params byte[][] fields) => [.. fields.SelectMany(f => f)];

    private static byte[] Int(int field, long value) => Encode(output =>
    {
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt64(value);
    });

    private static byte[] String(int field, string value) => Encode(output =>
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
    });

    private static byte[] Bytes(int field, byte[] value) => Encode(output =>
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(value));
    });

    private static byte[] Encode(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            write(output);
        }

        return buffer.ToArray();
    }
}
