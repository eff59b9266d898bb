using System.Buffers.Binary;

namespace Confide.Inference.Tensors;

/// <summary>
/// A named tensor as the protocol carries it: data type, shape, and the data in the binary tensor
/// layout every transport shares: row-major, little-endian, no padding; BOOL one byte 0 or 1;
/// BYTES elements each a 4-byte little-endian length followed by that many bytes. Instances are
/// only made through <see cref="Create"/>, which checks that the data matches the shape exactly.
/// </summary>
public sealed class InferenceTensor
{
    private static readonly IReadOnlyDictionary<string, InferenceParameter> NoParameters = new Dictionary<string, InferenceParameter>();

    private InferenceTensor(string name, TensorDataType dataType, long[] shape, long elementCount, ReadOnlyMemory<byte> data, IReadOnlyDictionary<string, InferenceParameter> parameters)
    {
        Name = name;
        DataType = dataType;
        Shape = shape;
        ElementCount = elementCount;
        Data = data;
        Parameters = parameters;
    }

    public string Name { get; }

    public TensorDataType DataType { get; }

    public IReadOnlyList<long> Shape { get; }

    /// <summary>The product of the shape (1 for a scalar, shape []).</summary>
    public long ElementCount { get; }

    /// <summary>The tensor data in the binary layout (see the type's remarks).</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The tensor's parameters as the caller sent them (inputs) or as the server returns them (outputs).</summary>
    public IReadOnlyDictionary<string, InferenceParameter> Parameters { get; }

    /// <summary>
    /// Makes a tensor after checking that <paramref name="data"/> holds exactly the elements
    /// <paramref name="shape"/> calls for. <paramref name="role"/> names the tensor in errors
    /// (e.g. "input 'x'").
    /// </summary>
    /// <exception cref="InferenceException">InvalidInput: a negative dimension, or data of the wrong length or form.</exception>
    public static InferenceTensor Create(string name, TensorDataType dataType, IReadOnlyList<long> shape, ReadOnlyMemory<byte> data, IReadOnlyDictionary<string, InferenceParameter>? parameters = null, string? role = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        role ??= $"tensor '{name}'";
        long count = CountElements(shape, role);
        int size = dataType.ElementSize();
        if (size > 0)
        {
            long expected = count > long.MaxValue / size ? long.MaxValue : count * size;
            if (data.Length != expected)
            {
                throw InferenceException.Input($"{role} has shape {FormatShape(shape)} of {dataType.ToProtocolName()}, which is {expected} bytes of data; got {data.Length}.");
            }

            if (dataType == TensorDataType.Bool)
            {
                int bad = data.Span.IndexOfAnyExcept((byte)0, (byte)1);
                if (bad >= 0)
                {
                    throw InferenceException.Input($"{role} BOOL element {bad} is the byte {data.Span[bad]}; a BOOL is the byte 0 or 1.");
                }
            }
        }
        else
        {
            ValidateBytes(data.Span, count, role);
        }

        return new InferenceTensor(name, dataType, [.. shape], count, data, parameters ?? NoParameters);
    }

    /// <summary>The same tensor with other parameters (the data is shared, not copied).</summary>
    public InferenceTensor WithParameters(IReadOnlyDictionary<string, InferenceParameter> parameters) =>
        new(Name, DataType, [.. Shape], ElementCount, Data, parameters);

    /// <summary>The elements of a BYTES tensor, in order.</summary>
    public IEnumerable<ReadOnlyMemory<byte>> BytesElements()
    {
        if (DataType != TensorDataType.Bytes)
        {
            throw new InvalidOperationException($"Tensor '{Name}' is {DataType.ToProtocolName()}, not BYTES.");
        }

        int offset = 0;
        while (offset < Data.Length)
        {
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(Data.Span[offset..]);
            yield return Data.Slice(offset + 4, length);
            offset += 4 + length;
        }
    }

    /// <summary>Lays BYTES elements out as the binary layout: a 4-byte little-endian length before each.</summary>
    public static byte[] EncodeBytes(IReadOnlyList<ReadOnlyMemory<byte>> elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        long total = 0;
        foreach (ReadOnlyMemory<byte> element in elements)
        {
            total += 4 + element.Length;
        }

        byte[] data = new byte[checked((int)total)];
        int offset = 0;
        foreach (ReadOnlyMemory<byte> element in elements)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(offset), (uint)element.Length);
            element.Span.CopyTo(data.AsSpan(offset + 4));
            offset += 4 + element.Length;
        }

        return data;
    }

    /// <summary>The product of a shape, refusing negative dimensions and overflow.</summary>
    public static long CountElements(IReadOnlyList<long> shape, string role)
    {
        long count = 1;
        for (int i = 0; i < shape.Count; i++)
        {
            if (shape[i] < 0)
            {
                throw InferenceException.Input($"{role} has shape {FormatShape(shape)}: dimension {i} is negative.");
            }

            if (shape[i] != 0 && count > long.MaxValue / shape[i])
            {
                throw InferenceException.Input($"{role} has shape {FormatShape(shape)}, more elements than can be addressed.");
            }

            count *= shape[i];
        }

        return count;
    }

    /// <summary>A shape as the protocol writes it: <c>[2, 3]</c>.</summary>
    public static string FormatShape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    private static void ValidateBytes(ReadOnlySpan<byte> data, long count, string role)
    {
        long elements = 0;
        int offset = 0;
        while (offset < data.Length)
        {
            if (data.Length - offset < 4)
            {
                throw InferenceException.Input($"{role} BYTES data ends inside the length prefix of element {elements}.");
            }

            uint length = BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
            if (length > (uint)(data.Length - offset - 4))
            {
                throw InferenceException.Input($"{role} BYTES element {elements} declares {length} bytes; only {data.Length - offset - 4} remain.");
            }

            offset += 4 + (int)length;
            elements++;
            if (elements > count)
            {
                break;
            }
        }

        if (elements != count)
        {
            throw InferenceException.Input($"{role} shape calls for {count} BYTES elements; the data holds {(elements > count ? "more" : elements.ToString(System.Globalization.CultureInfo.InvariantCulture))}.");
        }
    }
}
