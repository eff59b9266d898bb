using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using Confide.Inference.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace Confide.Inference.Tests.Support;

/// <summary>A tensor as the tests hold it: type, shape and the data in the protocol's binary layout.</summary>
public sealed record TestTensor(string Name, TensorDataType Type, long[] Shape, byte[] Data)
{
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    public string[] Strings => Type == TensorDataType.Bytes
        ? [.. InferenceTensor.Create(Name, Type, Shape, Data).BytesElements().Select(e => Encoding.UTF8.GetString(e.Span))]
        : throw new InvalidOperationException("Not BYTES.");

    public static TestTensor FromStrings(string name, long[] shape, params string[] values) =>
        new(name, TensorDataType.Bytes, shape, InferenceTensor.EncodeBytes([.. values.Select(v => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(v))]));

    public static TestTensor FromFloats(string name, long[] shape, float[] values) =>
        new(name, TensorDataType.Fp32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
}

/// <summary>
/// In-process ONNX Runtime on the plaintext model, through ORT's typed API (not the server's byte
/// path): what the server's answers must equal bit for bit.
/// </summary>
internal static class Reference
{
    private static readonly ConcurrentDictionary<byte[], InferenceSession> Sessions = new(ReferenceEqualityComparer.Instance);

    public static Dictionary<string, TestTensor> Run(byte[] model, IEnumerable<TestTensor> inputs, params string[] outputs)
    {
        InferenceSession session = Sessions.GetOrAdd(model, m => new InferenceSession(m));
        TestTensor[] given = [.. inputs];
        string[] names = outputs.Length > 0 ? outputs : [.. session.OutputNames];
        var values = given.Select(ToOrt).ToList();
        try
        {
            using var runOptions = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> results = session.Run(runOptions, [.. given.Select(g => g.Name)], values, names);
            return names.Zip(results).ToDictionary(p => p.First, p => FromOrt(p.First, p.Second));
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private static OrtValue ToOrt(TestTensor tensor) => tensor.Type switch
    {
        TensorDataType.Bool => OrtValue.CreateTensorValueFromMemory(tensor.Data.Select(b => b != 0).ToArray(), tensor.Shape),
        TensorDataType.UInt8 => Typed<byte>(tensor),
        TensorDataType.UInt16 => Typed<ushort>(tensor),
        TensorDataType.UInt32 => Typed<uint>(tensor),
        TensorDataType.UInt64 => Typed<ulong>(tensor),
        TensorDataType.Int8 => Typed<sbyte>(tensor),
        TensorDataType.Int16 => Typed<short>(tensor),
        TensorDataType.Int32 => Typed<int>(tensor),
        TensorDataType.Int64 => Typed<long>(tensor),
        TensorDataType.Fp16 => Typed<Float16>(tensor),
        TensorDataType.Fp32 => Typed<float>(tensor),
        TensorDataType.Fp64 => Typed<double>(tensor),
        TensorDataType.Bytes => Strings(tensor),
        _ => throw new ArgumentOutOfRangeException(nameof(tensor)),
    };

    private static OrtValue Typed<T>(TestTensor tensor)
        where T : unmanaged => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, T>(tensor.Data).ToArray(), tensor.Shape);

    private static OrtValue Strings(TestTensor tensor)
    {
        OrtValue value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, tensor.Shape);
        string[] strings = tensor.Strings;
        for (int i = 0; i < strings.Length; i++)
        {
            value.StringTensorSetElementAt(strings[i].AsSpan(), i);
        }

        return value;
    }

    private static TestTensor FromOrt(string name, OrtValue value)
    {
        OrtTensorTypeAndShapeInfo info = value.GetTensorTypeAndShape();
        Assert.True(TensorDataTypes.TryParse(Map(info.ElementDataType), out TensorDataType type));
        byte[] data = type switch
        {
            TensorDataType.Bytes => InferenceTensor.EncodeBytes([.. value.GetStringTensorAsArray().Select(s => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(s))]),
            TensorDataType.Bool => [.. value.GetTensorDataAsSpan<bool>().ToArray().Select(b => b ? (byte)1 : (byte)0)],
            TensorDataType.UInt8 => Bytes<byte>(value),
            TensorDataType.UInt16 => Bytes<ushort>(value),
            TensorDataType.UInt32 => Bytes<uint>(value),
            TensorDataType.UInt64 => Bytes<ulong>(value),
            TensorDataType.Int8 => Bytes<sbyte>(value),
            TensorDataType.Int16 => Bytes<short>(value),
            TensorDataType.Int32 => Bytes<int>(value),
            TensorDataType.Int64 => Bytes<long>(value),
            TensorDataType.Fp16 => Bytes<Float16>(value),
            TensorDataType.Fp32 => Bytes<float>(value),
            TensorDataType.Fp64 => Bytes<double>(value),
            _ => throw new ArgumentOutOfRangeException(nameof(value)),
        };
        return new TestTensor(name, type, info.Shape, data);
    }

    private static byte[] Bytes<T>(OrtValue value)
        where T : unmanaged => MemoryMarshal.AsBytes(value.GetTensorDataAsSpan<T>()).ToArray();

    private static string Map(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType type) => type switch
    {
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Bool => "BOOL",
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.UInt8 => "UINT8",
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.UInt16 => "UINT16",
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.UInt32 => "UINT32",
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.UInt64 => "UINT64",
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int8 => "INT8",
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int16 => "INT16",
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int32 => "INT32",
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64 => "INT64",
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float16 => "FP16",
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float => "FP32",
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Double => "FP64",
        Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.String => "BYTES",
        _ => "?",
    };
}

/// <summary>Seeded random tensors of every data type, including the awkward values (negative zero, extremes, subnormals).</summary>
internal static class TestData
{
    public static TestTensor Random(string name, TensorDataType type, long[] shape, int seed)
    {
        var random = new Random(seed);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (type == TensorDataType.Bytes)
        {
            string[] words = ["", "confide", "enclave", "Grüße", "日本語", "a\"quote\\", "tab\tnew\nline", "emoji 🙂"];
            return TestTensor.FromStrings(name, shape, [.. Enumerable.Range(0, (int)count).Select(i => words[random.Next(words.Length)] + i)]);
        }

        if (type == TensorDataType.Bool)
        {
            return new TestTensor(name, type, shape, [.. Enumerable.Range(0, (int)count).Select(_ => (byte)random.Next(2))]);
        }

        byte[] data = new byte[count * type.ElementSize()];
        random.NextBytes(data);
        if (type is TensorDataType.Fp16 or TensorDataType.Fp32 or TensorDataType.Fp64)
        {
            // Random bits include NaN and infinities, which JSON cannot carry as numbers; use finite values,
            // with the edge cases in front.
            int size = type.ElementSize();
            for (long i = 0; i < count; i++)
            {
                Span<byte> element = data.AsSpan((int)(i * size), size);
                double value = i switch
                {
                    0 => -0.0,
                    1 => type == TensorDataType.Fp16 ? 65504 : type == TensorDataType.Fp32 ? float.MaxValue : double.MaxValue,
                    2 => type == TensorDataType.Fp16 ? 5.96e-08 : type == TensorDataType.Fp32 ? float.Epsilon : double.Epsilon,
                    3 => 0.1,
                    _ => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-8, 8)),
                };
                switch (type)
                {
                    case TensorDataType.Fp16: System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(element, (Half)value); break;
                    case TensorDataType.Fp32: System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(element, (float)value); break;
                    default: System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(element, value); break;
                }
            }
        }

        return new TestTensor(name, type, shape, data);
    }

    /// <summary>FP32 values in [-1, 1], as a model's real inputs would be.</summary>
    public static TestTensor Floats(string name, long[] shape, int seed)
    {
        var random = new Random(seed);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        return TestTensor.FromFloats(name, shape, [.. Enumerable.Range(0, (int)count).Select(_ => (float)(random.NextDouble() * 2 - 1))]);
    }
}
