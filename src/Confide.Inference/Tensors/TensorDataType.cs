using Microsoft.ML.OnnxRuntime.Tensors;

namespace Confide.Inference.Tensors;

/// <summary>The Open Inference Protocol tensor data types (BF16 is left out: ONNX Runtime's CPU kernels barely support it).</summary>
public enum TensorDataType
{
    Bool,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Int8,
    Int16,
    Int32,
    Int64,
    Fp16,
    Fp32,
    Fp64,

    /// <summary>Variable-length byte strings; ONNX <c>string</c> tensors.</summary>
    Bytes,
}

/// <summary>Protocol names, element sizes and the ONNX Runtime element types of <see cref="TensorDataType"/>.</summary>
public static class TensorDataTypes
{
    private static readonly string[] Names = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"];

    /// <summary>Every data type, in protocol order.</summary>
    public static IReadOnlyList<TensorDataType> All { get; } = Enum.GetValues<TensorDataType>();

    /// <summary>The protocol name: <c>FP32</c>, <c>BYTES</c>, ...</summary>
    public static string ToProtocolName(this TensorDataType type) => Names[(int)type];

    /// <summary>Parses a protocol name. The protocol's names are upper case and so is the match: "fp32" is not a data type.</summary>
    public static bool TryParse(string? name, out TensorDataType type)
    {
        int index = name is null ? -1 : Array.IndexOf(Names, name);
        type = index < 0 ? default : (TensorDataType)index;
        return index >= 0;
    }

    /// <summary>Bytes per element in the binary layout; 0 for <see cref="TensorDataType.Bytes"/>, whose elements vary.</summary>
    public static int ElementSize(this TensorDataType type) => type switch
    {
        TensorDataType.Bool or TensorDataType.UInt8 or TensorDataType.Int8 => 1,
        TensorDataType.UInt16 or TensorDataType.Int16 or TensorDataType.Fp16 => 2,
        TensorDataType.UInt32 or TensorDataType.Int32 or TensorDataType.Fp32 => 4,
        TensorDataType.UInt64 or TensorDataType.Int64 or TensorDataType.Fp64 => 8,
        TensorDataType.Bytes => 0,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown tensor data type."),
    };

    internal static TensorElementType ToOrt(this TensorDataType type) => type switch
    {
        TensorDataType.Bool => TensorElementType.Bool,
        TensorDataType.UInt8 => TensorElementType.UInt8,
        TensorDataType.UInt16 => TensorElementType.UInt16,
        TensorDataType.UInt32 => TensorElementType.UInt32,
        TensorDataType.UInt64 => TensorElementType.UInt64,
        TensorDataType.Int8 => TensorElementType.Int8,
        TensorDataType.Int16 => TensorElementType.Int16,
        TensorDataType.Int32 => TensorElementType.Int32,
        TensorDataType.Int64 => TensorElementType.Int64,
        TensorDataType.Fp16 => TensorElementType.Float16,
        TensorDataType.Fp32 => TensorElementType.Float,
        TensorDataType.Fp64 => TensorElementType.Double,
        TensorDataType.Bytes => TensorElementType.String,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown tensor data type."),
    };

    internal static bool TryFromOrt(TensorElementType type, out TensorDataType dataType)
    {
        (bool known, dataType) = type switch
        {
            TensorElementType.Bool => (true, TensorDataType.Bool),
            TensorElementType.UInt8 => (true, TensorDataType.UInt8),
            TensorElementType.UInt16 => (true, TensorDataType.UInt16),
            TensorElementType.UInt32 => (true, TensorDataType.UInt32),
            TensorElementType.UInt64 => (true, TensorDataType.UInt64),
            TensorElementType.Int8 => (true, TensorDataType.Int8),
            TensorElementType.Int16 => (true, TensorDataType.Int16),
            TensorElementType.Int32 => (true, TensorDataType.Int32),
            TensorElementType.Int64 => (true, TensorDataType.Int64),
            TensorElementType.Float16 => (true, TensorDataType.Fp16),
            TensorElementType.Float => (true, TensorDataType.Fp32),
            TensorElementType.Double => (true, TensorDataType.Fp64),
            TensorElementType.String => (true, TensorDataType.Bytes),
            _ => (false, default),
        };
        return known;
    }
}
