using Google.Protobuf;

namespace Confide.Cli.Commands;

/// <summary>
/// The demo's ONNX model, written here so that nothing is downloaded: <c>y = Relu(x · W + b)</c>
/// with x [N, 4], W [4, 3], b [3] (fixed weights), encoded as an ONNX ModelProto (IR 7, opset 13).
/// </summary>
internal static class DemoModel
{
    public const int Inputs = 4;
    public const int Outputs = 3;

    public static readonly float[] Weights = [0.5f, -1.0f, 0.25f, 1.5f, 0.75f, -0.5f, -0.25f, 2.0f, 1.0f, 0.125f, -0.75f, 0.5f];
    public static readonly float[] Bias = [0.1f, -0.2f, 0.3f];

    /// <summary>What the model computes, in plain C#, to compare the server's answer with.</summary>
    public static float[] Evaluate(float[] x)
    {
        int rows = x.Length / Inputs;
        float[] y = new float[rows * Outputs];
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < Outputs; o++)
            {
                float sum = 0;
                for (int i = 0; i < Inputs; i++)
                {
                    sum += x[r * Inputs + i] * Weights[i * Outputs + o];
                }

                y[r * Outputs + o] = MathF.Max(0, sum + Bias[o]);
            }
        }

        return y;
    }

    public static byte[] Build()
    {
        byte[] graph = Message(
            Bytes(1, Node("MatMul", ["x", "W"], "h")),
            Bytes(1, Node("Add", ["h", "b"], "z")),
            Bytes(1, Node("Relu", ["z"], "y")),
            String(2, "demo"),
            Bytes(5, Tensor("W", [Inputs, Outputs], Weights)),
            Bytes(5, Tensor("b", [Outputs], Bias)),
            Bytes(11, ValueInfo("x", Inputs)),
            Bytes(12, ValueInfo("y", Outputs)));
        return Message(Int(1, 7), String(2, "confide-demo"), Bytes(7, graph), Bytes(8, Message(String(1, ""), Int(2, 13))));
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
