using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Confide.Inference.Serving;
using Confide.Inference.Tensors;

namespace Confide.Inference.Http;

/// <summary>
/// The KServe v2 / Open Inference Protocol REST encoding: JSON tensors (nested or flat data) and
/// the binary tensor data extension (<c>Inference-Header-Content-Length</c>, <c>binary_data_size</c>,
/// <c>binary_data</c>, <c>binary_data_output</c>). Public so that another transport carrying the same
/// bodies (an encrypted channel, say) decodes and encodes them exactly as the REST surface does.
/// </summary>
public static class RestCodec
{
    /// <summary>The request and response header giving the length of the JSON part of a body with binary tensors.</summary>
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    /// <summary>Input and output parameter: the tensor's data is binary, this many bytes after the JSON.</summary>
    public const string BinaryDataSize = "binary_data_size";

    /// <summary>Requested-output parameter: return this output as binary data.</summary>
    public const string BinaryData = "binary_data";

    /// <summary>Request parameter: return every output as binary data unless the output says otherwise.</summary>
    public const string BinaryDataOutput = "binary_data_output";

    public const string JsonContentType = "application/json";

    public const string BinaryContentType = "application/octet-stream";

    private const int MaxJsonDepth = 64;

    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = false };

    /// <summary>
    /// Decodes an inference request body. <paramref name="jsonLength"/> is the value of
    /// <see cref="HeaderLengthHeader"/> (null when absent: the whole body is JSON). Binary input data
    /// is not copied: the tensors refer to <paramref name="body"/>.
    /// </summary>
    /// <exception cref="InferenceException">InvalidRequest (malformed) or InvalidInput (data that does not match its shape or type).</exception>
    public static InferenceRequest DecodeInferRequest(string modelName, string? modelVersion, ReadOnlyMemory<byte> body, long? jsonLength, string protocol = "rest")
    {
        ReadOnlyMemory<byte> json = body;
        ReadOnlyMemory<byte> binary = ReadOnlyMemory<byte>.Empty;
        if (jsonLength is not null)
        {
            if (jsonLength < 0 || jsonLength > body.Length)
            {
                throw InferenceException.Request($"{HeaderLengthHeader} is {jsonLength}, but the body is {body.Length} bytes.");
            }

            json = body[..(int)jsonLength];
            binary = body[(int)jsonLength..];
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException ex)
        {
            throw InferenceException.Request(jsonLength is null && body.Span.IndexOf((byte)0) >= 0
                ? $"The request body is not valid JSON ({ex.Message}); a body with binary tensor data needs the {HeaderLengthHeader} header."
                : $"The request body is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw InferenceException.Request($"The inference request must be a JSON object, not {Kind(root)}.");
            }

            string? id = null;
            IReadOnlyDictionary<string, InferenceParameter> parameters = Empty;
            JsonElement? inputs = null;
            JsonElement? outputs = null;
            foreach (JsonProperty member in Members(root, "the inference request"))
            {
                switch (member.Name)
                {
                    case "id":
                        id = String(member.Value, "'id'");
                        break;
                    case "parameters":
                        parameters = ReadParameters(member.Value, "the request");
                        break;
                    case "inputs":
                        inputs = Array(member.Value, "'inputs'");
                        break;
                    case "outputs":
                        outputs = Array(member.Value, "'outputs'");
                        break;
                    case "model_name":
                        // Triton's examples repeat the model in the body; it must agree with the URL.
                        if (String(member.Value, "'model_name'") != modelName)
                        {
                            throw InferenceException.Request($"The body names model '{member.Value.GetString()}' but the URL names '{modelName}'.");
                        }

                        break;
                    case "model_version":
                        string bodyVersion = String(member.Value, "'model_version'");
                        if (!string.IsNullOrEmpty(modelVersion) && bodyVersion != modelVersion)
                        {
                            throw InferenceException.Request($"The body names version '{bodyVersion}' but the URL names '{modelVersion}'.");
                        }

                        modelVersion = string.IsNullOrEmpty(modelVersion) ? bodyVersion : modelVersion;
                        break;
                    default:
                        throw InferenceException.Request($"Unknown member '{member.Name}' in the inference request (members: id, parameters, inputs, outputs).");
                }
            }

            CheckBool(parameters, BinaryDataOutput, "the request");
            if (inputs is null)
            {
                throw InferenceException.Request("The inference request has no 'inputs'.");
            }

            int binaryOffset = 0;
            var tensors = new List<InferenceTensor>(inputs.Value.GetArrayLength());
            int index = 0;
            foreach (JsonElement input in inputs.Value.EnumerateArray())
            {
                tensors.Add(ReadInput(input, index++, binary, jsonLength is not null, ref binaryOffset));
            }

            if (binaryOffset != binary.Length)
            {
                throw InferenceException.Request($"{binary.Length} bytes of binary data follow the JSON, but the inputs' {BinaryDataSize} parameters add up to {binaryOffset}.");
            }

            var requested = new List<RequestedOutput>();
            if (outputs is not null)
            {
                index = 0;
                foreach (JsonElement output in outputs.Value.EnumerateArray())
                {
                    requested.Add(ReadRequestedOutput(output, index++));
                }
            }

            return new InferenceRequest
            {
                ModelName = modelName,
                ModelVersion = string.IsNullOrEmpty(modelVersion) ? null : modelVersion,
                Id = id,
                Parameters = parameters,
                Inputs = tensors,
                Outputs = requested,
                Protocol = protocol,
            };
        }
    }

    /// <summary>
    /// Encodes an inference response for <paramref name="request"/>: outputs the request asks for as
    /// binary (<c>binary_data</c> on the output, else <c>binary_data_output</c> on the request) follow
    /// the JSON, in output order, and <see cref="RestResponse.JsonLength"/> is set.
    /// </summary>
    /// <exception cref="InferenceException">InvalidOutput: a BYTES output that is not UTF-8 text was asked for as JSON.</exception>
    public static RestResponse EncodeInferResponse(InferenceRequest request, InferenceResponse response)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(response);
        // Decoding refuses non-boolean values; a request built by another transport is read leniently rather than failing here.
        bool allBinary = request.Parameters.TryGetValue(BinaryDataOutput, out InferenceParameter all) && all.Kind == InferenceParameterKind.Bool && all.BoolValue;
        var perOutput = request.Outputs.ToDictionary(
            o => o.Name,
            o => o.Parameters.TryGetValue(BinaryData, out InferenceParameter p) && p.Kind == InferenceParameterKind.Bool ? p.BoolValue : (bool?)null,
            StringComparer.Ordinal);

        var buffer = new ArrayBufferWriter<byte>();
        var binary = new List<ReadOnlyMemory<byte>>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("model_name", response.ModelName);
            writer.WriteString("model_version", response.ModelVersion);
            if (response.Id is not null)
            {
                writer.WriteString("id", response.Id);
            }

            WriteParameters(writer, response.Parameters, except: BinaryDataOutput);
            writer.WriteStartArray("outputs");
            foreach (InferenceTensor output in response.Outputs)
            {
                bool asBinary = perOutput.TryGetValue(output.Name, out bool? explicitChoice) && explicitChoice is not null ? explicitChoice.Value : allBinary;
                writer.WriteStartObject();
                writer.WriteString("name", output.Name);
                writer.WriteString("datatype", output.DataType.ToProtocolName());
                writer.WriteStartArray("shape");
                foreach (long dimension in output.Shape)
                {
                    writer.WriteNumberValue(dimension);
                }

                writer.WriteEndArray();
                var parameters = output.Parameters.Where(p => p.Key is not (BinaryData or BinaryDataSize)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
                if (asBinary)
                {
                    parameters[BinaryDataSize] = InferenceParameter.FromInt64(output.Data.Length);
                    binary.Add(output.Data);
                }

                WriteParameters(writer, parameters, except: null);
                if (!asBinary)
                {
                    writer.WritePropertyName("data");
                    WriteData(writer, output);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        if (binary.Count == 0)
        {
            return new RestResponse(buffer.WrittenSpan.ToArray(), null);
        }

        int jsonLength = buffer.WrittenCount;
        byte[] body = new byte[jsonLength + binary.Sum(b => b.Length)];
        buffer.WrittenSpan.CopyTo(body);
        int offset = jsonLength;
        foreach (ReadOnlyMemory<byte> chunk in binary)
        {
            chunk.Span.CopyTo(body.AsSpan(offset));
            offset += chunk.Length;
        }

        return new RestResponse(body, jsonLength);
    }

    /// <summary>Server metadata: <c>{"name", "version", "extensions"}</c>.</summary>
    public static byte[] EncodeServerMetadata(ServerMetadata metadata) => Write(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("name", metadata.Name);
        writer.WriteString("version", metadata.Version);
        writer.WriteStartArray("extensions");
        foreach (string extension in metadata.Extensions)
        {
            writer.WriteStringValue(extension);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    });

    /// <summary>Model metadata: <c>{"name", "versions", "platform", "inputs", "outputs"}</c>, -1 for variable dimensions.</summary>
    public static byte[] EncodeModelMetadata(ModelMetadata metadata) => Write(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("name", metadata.Name);
        writer.WriteStartArray("versions");
        foreach (string version in metadata.Versions)
        {
            writer.WriteStringValue(version);
        }

        writer.WriteEndArray();
        writer.WriteString("platform", metadata.Platform);
        WriteTensorMetadata(writer, "inputs", metadata.Inputs);
        WriteTensorMetadata(writer, "outputs", metadata.Outputs);
        writer.WriteEndObject();
    });

    /// <summary>The protocol's error body, <c>{"error": "..."}</c>.</summary>
    public static byte[] EncodeError(string message) => Write(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("error", message);
        writer.WriteEndObject();
    });

    internal static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static readonly IReadOnlyDictionary<string, InferenceParameter> Empty = new Dictionary<string, InferenceParameter>();

    private static InferenceTensor ReadInput(JsonElement input, int index, ReadOnlyMemory<byte> binary, bool hasHeaderLength, ref int binaryOffset)
    {
        string where = $"inputs[{index}]";
        if (input.ValueKind != JsonValueKind.Object)
        {
            throw InferenceException.Request($"{where} must be an object, not {Kind(input)}.");
        }

        string? name = null;
        string? datatype = null;
        long[]? shape = null;
        IReadOnlyDictionary<string, InferenceParameter> parameters = Empty;
        JsonElement? data = null;
        foreach (JsonProperty member in Members(input, where))
        {
            switch (member.Name)
            {
                case "name":
                    name = String(member.Value, $"{where}.name");
                    break;
                case "datatype":
                    datatype = String(member.Value, $"{where}.datatype");
                    break;
                case "shape":
                    shape = ReadShape(member.Value, $"{where}.shape");
                    break;
                case "parameters":
                    parameters = ReadParameters(member.Value, where);
                    break;
                case "data":
                    data = member.Value;
                    break;
                default:
                    throw InferenceException.Request($"Unknown member '{member.Name}' in {where} (members: name, shape, datatype, parameters, data).");
            }
        }

        if (string.IsNullOrEmpty(name))
        {
            throw InferenceException.Request($"{where} has no 'name'.");
        }

        string role = $"Input '{name}'";
        if (datatype is null)
        {
            throw InferenceException.Request($"{role} has no 'datatype'.");
        }

        if (!TensorDataTypes.TryParse(datatype, out TensorDataType type))
        {
            throw InferenceException.Input($"{role} has datatype '{datatype}', which is not one of {string.Join(", ", TensorDataTypes.All.Select(t => t.ToProtocolName()))}.");
        }

        if (shape is null)
        {
            throw InferenceException.Request($"{role} has no 'shape'.");
        }

        if (parameters.TryGetValue(BinaryDataSize, out InferenceParameter size))
        {
            if (data is not null)
            {
                throw InferenceException.Request($"{role} has both 'data' and the {BinaryDataSize} parameter; give one.");
            }

            if (!hasHeaderLength)
            {
                throw InferenceException.Request($"{role} has binary data ({BinaryDataSize}) but the request has no {HeaderLengthHeader} header.");
            }

            ulong length = size.AsNonNegativeInteger() ?? throw InferenceException.Request($"{role}: {BinaryDataSize} must be a non-negative integer, not {size}.");
            if (length > (ulong)(binary.Length - binaryOffset))
            {
                throw InferenceException.Request($"{role} declares {length} bytes of binary data; only {binary.Length - binaryOffset} remain after the JSON and the inputs before it.");
            }

            ReadOnlyMemory<byte> slice = binary.Slice(binaryOffset, (int)length);
            binaryOffset += (int)length;
            return InferenceTensor.Create(name, type, shape, slice, parameters, role);
        }

        if (data is null)
        {
            throw InferenceException.Request($"{role} has neither 'data' nor the {BinaryDataSize} parameter.");
        }

        return InferenceTensor.Create(name, type, shape, ReadData(data.Value, type, shape, role), parameters, role);
    }

    private static RequestedOutput ReadRequestedOutput(JsonElement output, int index)
    {
        string where = $"outputs[{index}]";
        if (output.ValueKind != JsonValueKind.Object)
        {
            throw InferenceException.Request($"{where} must be an object, not {Kind(output)}.");
        }

        string? name = null;
        IReadOnlyDictionary<string, InferenceParameter> parameters = Empty;
        foreach (JsonProperty member in Members(output, where))
        {
            switch (member.Name)
            {
                case "name":
                    name = String(member.Value, $"{where}.name");
                    break;
                case "parameters":
                    parameters = ReadParameters(member.Value, where);
                    break;
                default:
                    throw InferenceException.Request($"Unknown member '{member.Name}' in {where} (members: name, parameters).");
            }
        }

        if (string.IsNullOrEmpty(name))
        {
            throw InferenceException.Request($"{where} has no 'name'.");
        }

        CheckBool(parameters, BinaryData, $"output '{name}'");
        return new RequestedOutput(name) { Parameters = parameters };
    }

    private static long[] ReadShape(JsonElement shape, string where)
    {
        Array(shape, where);
        var dimensions = new long[shape.GetArrayLength()];
        int i = 0;
        foreach (JsonElement dimension in shape.EnumerateArray())
        {
            if (dimension.ValueKind != JsonValueKind.Number || !long.TryParse(JsonMarshal.GetRawUtf8Value(dimension), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
            {
                throw InferenceException.Request($"{where}[{i}] must be an integer, not {Describe(dimension)}.");
            }

            if (value < 0)
            {
                throw InferenceException.Input($"{where}[{i}] is {value}; dimensions of a request's tensor are sizes, not -1.");
            }

            dimensions[i++] = value;
        }

        return dimensions;
    }

    /// <summary>Reads JSON tensor data, flat or nested exactly as the shape, into the binary layout.</summary>
    private static byte[] ReadData(JsonElement data, TensorDataType type, long[] shape, string role)
    {
        if (data.ValueKind != JsonValueKind.Array)
        {
            throw InferenceException.Input($"{role}: 'data' must be an array, not {Kind(data)}.");
        }

        long count = InferenceTensor.CountElements(shape, role);
        int length = data.GetArrayLength();
        bool nested = length > 0 && data[0].ValueKind == JsonValueKind.Array;
        if (nested)
        {
            CheckNesting(data, shape, 0, role);
        }
        else if (length != count)
        {
            throw InferenceException.Input($"{role} has shape {InferenceTensor.FormatShape(shape)} ({count} elements); its 'data' holds {length}.");
        }

        // count is at most the number of JSON values in the body, so this allocation is bounded by the body size.
        if (type == TensorDataType.Bytes)
        {
            var elements = new List<ReadOnlyMemory<byte>>((int)count);
            foreach (JsonElement leaf in Leaves(data))
            {
                elements.Add(ReadBytesElement(leaf, elements.Count, role));
            }

            return InferenceTensor.EncodeBytes(elements);
        }

        int size = type.ElementSize();
        byte[] buffer = new byte[checked((int)(count * size))];
        int index = 0;
        foreach (JsonElement leaf in Leaves(data))
        {
            WriteScalar(leaf, type, buffer.AsSpan(index * size, size), index, role);
            index++;
        }

        return buffer;
    }

    private static void CheckNesting(JsonElement array, long[] shape, int depth, string role)
    {
        if (depth >= shape.Length)
        {
            throw InferenceException.Input($"{role}: 'data' is nested deeper than its shape {InferenceTensor.FormatShape(shape)} (rank {shape.Length}).");
        }

        int length = array.GetArrayLength();
        if (length != shape[depth])
        {
            throw InferenceException.Input($"{role}: nested 'data' has {length} entries at depth {depth}, but shape {InferenceTensor.FormatShape(shape)} has {shape[depth]} there.");
        }

        foreach (JsonElement element in array.EnumerateArray())
        {
            bool isArray = element.ValueKind == JsonValueKind.Array;
            if (depth + 1 < shape.Length && !isArray)
            {
                throw InferenceException.Input($"{role}: nested 'data' has a value at depth {depth + 1}, but shape {InferenceTensor.FormatShape(shape)} has rank {shape.Length}; nest fully or give flat data.");
            }

            if (depth + 1 == shape.Length && isArray)
            {
                throw InferenceException.Input($"{role}: 'data' is nested deeper than its shape {InferenceTensor.FormatShape(shape)} (rank {shape.Length}).");
            }

            if (isArray)
            {
                CheckNesting(element, shape, depth + 1, role);
            }
        }
    }

    private static IEnumerable<JsonElement> Leaves(JsonElement array)
    {
        foreach (JsonElement element in array.EnumerateArray())
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement leaf in Leaves(element))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return element;
            }
        }
    }

    private static ReadOnlyMemory<byte> ReadBytesElement(JsonElement element, int index, string role)
    {
        if (element.ValueKind != JsonValueKind.String)
        {
            throw InferenceException.Input($"{role} element {index}: BYTES data are JSON strings, not {Describe(element)}.");
        }

        try
        {
            return Encoding.UTF8.GetBytes(element.GetString()!);
        }
        catch (InvalidOperationException ex)
        {
            throw InferenceException.Input($"{role} element {index}: the string is not valid Unicode ({ex.Message}).");
        }
    }

    private static void WriteScalar(JsonElement element, TensorDataType type, Span<byte> destination, int index, string role)
    {
        switch (type)
        {
            case TensorDataType.Bool:
                destination[0] = element.ValueKind switch
                {
                    JsonValueKind.True => 1,
                    JsonValueKind.False => 0,
                    _ => throw InferenceException.Input($"{role} element {index}: a BOOL is true or false, not {Describe(element)}."),
                };
                break;
            case TensorDataType.UInt8: WriteInteger<byte>(element, destination, type, index, role); break;
            case TensorDataType.UInt16: WriteInteger<ushort>(element, destination, type, index, role); break;
            case TensorDataType.UInt32: WriteInteger<uint>(element, destination, type, index, role); break;
            case TensorDataType.UInt64: WriteInteger<ulong>(element, destination, type, index, role); break;
            case TensorDataType.Int8: WriteInteger<sbyte>(element, destination, type, index, role); break;
            case TensorDataType.Int16: WriteInteger<short>(element, destination, type, index, role); break;
            case TensorDataType.Int32: WriteInteger<int>(element, destination, type, index, role); break;
            case TensorDataType.Int64: WriteInteger<long>(element, destination, type, index, role); break;
            case TensorDataType.Fp16: BinaryPrimitives.WriteHalfLittleEndian(destination, ReadFloat<Half>(element, type, index, role)); break;
            case TensorDataType.Fp32: BinaryPrimitives.WriteSingleLittleEndian(destination, ReadFloat<float>(element, type, index, role)); break;
            case TensorDataType.Fp64: BinaryPrimitives.WriteDoubleLittleEndian(destination, ReadFloat<double>(element, type, index, role)); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, "BYTES is not a fixed-size type.");
        }
    }

    private static void WriteInteger<T>(JsonElement element, Span<byte> destination, TensorDataType type, int index, string role)
        where T : IBinaryInteger<T>, IMinMaxValue<T>
    {
        if (element.ValueKind != JsonValueKind.Number || !T.TryParse(JsonMarshal.GetRawUtf8Value(element), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out T? value))
        {
            throw InferenceException.Input($"{role} element {index}: {Describe(element)} is not a {type.ToProtocolName()} (an integer from {T.MinValue} to {T.MaxValue}).");
        }

        value.WriteLittleEndian(destination);
    }

    private static T ReadFloat<T>(JsonElement element, TensorDataType type, int index, string role)
        where T : IFloatingPointIeee754<T>
    {
        if (element.ValueKind == JsonValueKind.String)
        {
            // JSON has no literals for these; the common spellings (Python's json, Triton) are strings.
            return element.GetString() switch
            {
                "NaN" => T.NaN,
                "Infinity" => T.PositiveInfinity,
                "-Infinity" => T.NegativeInfinity,
                _ => throw InferenceException.Input($"{role} element {index}: {Describe(element)} is not a number ({type.ToProtocolName()} takes numbers, or \"NaN\", \"Infinity\", \"-Infinity\")."),
            };
        }

        if (element.ValueKind != JsonValueKind.Number || !T.TryParse(JsonMarshal.GetRawUtf8Value(element), NumberStyles.Float, CultureInfo.InvariantCulture, out T? value))
        {
            throw InferenceException.Input($"{role} element {index}: {Describe(element)} is not a {type.ToProtocolName()} number.");
        }

        if (!T.IsFinite(value))
        {
            throw InferenceException.Input($"{role} element {index}: {Describe(element)} is out of the range of {type.ToProtocolName()}.");
        }

        return value;
    }

    private static void WriteData(Utf8JsonWriter writer, InferenceTensor tensor)
    {
        writer.WriteStartArray();
        ReadOnlySpan<byte> data = tensor.Data.Span;
        int size = tensor.DataType.ElementSize();
        switch (tensor.DataType)
        {
            case TensorDataType.Bytes:
                int index = 0;
                foreach (ReadOnlyMemory<byte> element in tensor.BytesElements())
                {
                    if (!System.Text.Unicode.Utf8.IsValid(element.Span))
                    {
                        throw InferenceException.Output($"Output '{tensor.Name}' BYTES element {index} is not UTF-8 text and cannot be a JSON string; request the output with \"{BinaryData}\": true.");
                    }

                    writer.WriteStringValue(element.Span);
                    index++;
                }

                break;
            default:
                for (int offset = 0; offset < data.Length; offset += size)
                {
                    WriteNumber(writer, tensor.DataType, data.Slice(offset, size));
                }

                break;
        }

        writer.WriteEndArray();
    }

    private static void WriteNumber(Utf8JsonWriter writer, TensorDataType type, ReadOnlySpan<byte> element)
    {
        switch (type)
        {
            case TensorDataType.Bool: writer.WriteBooleanValue(element[0] != 0); break;
            case TensorDataType.UInt8: writer.WriteNumberValue(element[0]); break;
            case TensorDataType.UInt16: writer.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(element)); break;
            case TensorDataType.UInt32: writer.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(element)); break;
            case TensorDataType.UInt64: writer.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(element)); break;
            case TensorDataType.Int8: writer.WriteNumberValue((sbyte)element[0]); break;
            case TensorDataType.Int16: writer.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(element)); break;
            case TensorDataType.Int32: writer.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(element)); break;
            case TensorDataType.Int64: writer.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(element)); break;
            // FP16 as the shortest FP32 text of its exact value: a client that reads it as float or double gets
            // the half exactly, with no double rounding from decimal through float to half.
            case TensorDataType.Fp16: WriteFloat(writer, (float)BinaryPrimitives.ReadHalfLittleEndian(element)); break;
            case TensorDataType.Fp32: WriteFloat(writer, BinaryPrimitives.ReadSingleLittleEndian(element)); break;
            case TensorDataType.Fp64: WriteFloat(writer, BinaryPrimitives.ReadDoubleLittleEndian(element)); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, "Not a fixed-size type.");
        }
    }

    /// <summary>Writes the shortest text that parses back to the same value, so JSON round-trips bit for bit.</summary>
    private static void WriteFloat<T>(Utf8JsonWriter writer, T value)
        where T : IFloatingPointIeee754<T>, IUtf8SpanFormattable
    {
        if (T.IsNaN(value))
        {
            writer.WriteStringValue("NaN");
            return;
        }

        if (T.IsInfinity(value))
        {
            writer.WriteStringValue(T.IsNegative(value) ? "-Infinity" : "Infinity");
            return;
        }

        Span<byte> text = stackalloc byte[64];
        if (!value.TryFormat(text, out int written, "R", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("A floating-point value did not fit 64 bytes of text.");
        }

        writer.WriteRawValue(text[..written], skipInputValidation: true);
    }

    private static void WriteTensorMetadata(Utf8JsonWriter writer, string property, IReadOnlyList<TensorMetadata> tensors)
    {
        writer.WriteStartArray(property);
        foreach (TensorMetadata tensor in tensors)
        {
            writer.WriteStartObject();
            writer.WriteString("name", tensor.Name);
            writer.WriteString("datatype", tensor.DataType.ToProtocolName());
            writer.WriteStartArray("shape");
            foreach (long dimension in tensor.Shape)
            {
                writer.WriteNumberValue(dimension);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    private static void WriteParameters(Utf8JsonWriter writer, IReadOnlyDictionary<string, InferenceParameter> parameters, string? except)
    {
        var written = parameters.Where(p => p.Key != except).ToList();
        if (written.Count == 0)
        {
            return;
        }

        writer.WriteStartObject("parameters");
        foreach ((string name, InferenceParameter value) in written)
        {
            writer.WritePropertyName(name);
            switch (value.Kind)
            {
                case InferenceParameterKind.Bool: writer.WriteBooleanValue(value.BoolValue); break;
                case InferenceParameterKind.Int64: writer.WriteNumberValue(value.Int64Value); break;
                case InferenceParameterKind.UInt64: writer.WriteNumberValue(value.UInt64Value); break;
                case InferenceParameterKind.Double: WriteFloat(writer, value.DoubleValue); break;
                default: writer.WriteStringValue(value.StringValue); break;
            }
        }

        writer.WriteEndObject();
    }

    private static Dictionary<string, InferenceParameter> ReadParameters(JsonElement parameters, string where)
    {
        if (parameters.ValueKind != JsonValueKind.Object)
        {
            throw InferenceException.Request($"The parameters of {where} must be an object, not {Kind(parameters)}.");
        }

        var result = new Dictionary<string, InferenceParameter>(StringComparer.Ordinal);
        foreach (JsonProperty parameter in Members(parameters, $"the parameters of {where}"))
        {
            JsonElement value = parameter.Value;
            result[parameter.Name] = value.ValueKind switch
            {
                JsonValueKind.True => InferenceParameter.FromBool(true),
                JsonValueKind.False => InferenceParameter.FromBool(false),
                JsonValueKind.String => InferenceParameter.FromString(value.GetString()!),
                JsonValueKind.Number => Number(value, parameter.Name, where),
                _ => throw InferenceException.Request($"Parameter '{parameter.Name}' of {where} must be a string, number or boolean, not {Kind(value)}."),
            };
        }

        return result;
    }

    private static InferenceParameter Number(JsonElement value, string name, string where)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8Value(value);
        if (raw.IndexOfAny(".eE"u8) < 0)
        {
            if (long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long signed))
            {
                return InferenceParameter.FromInt64(signed);
            }

            if (ulong.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out ulong unsigned))
            {
                return InferenceParameter.FromUInt64(unsigned);
            }

            throw InferenceException.Request($"Parameter '{name}' of {where} is an integer out of the 64-bit range.");
        }

        if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) || !double.IsFinite(number))
        {
            throw InferenceException.Request($"Parameter '{name}' of {where} is a number out of the 64-bit floating-point range.");
        }

        return InferenceParameter.FromDouble(number);
    }

    private static void CheckBool(IReadOnlyDictionary<string, InferenceParameter> parameters, string name, string where)
    {
        if (parameters.TryGetValue(name, out InferenceParameter value) && value.Kind != InferenceParameterKind.Bool)
        {
            throw InferenceException.Request($"Parameter '{name}' of {where} must be true or false, not {value}.");
        }
    }

    /// <summary>The members of an object, refusing a name given twice (JSON parsers disagree on which one wins).</summary>
    private static List<JsonProperty> Members(JsonElement element, string where)
    {
        var members = new List<JsonProperty>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty member in element.EnumerateObject())
        {
            if (!names.Add(member.Name))
            {
                throw InferenceException.Request($"Member '{member.Name}' appears twice in {where}.");
            }

            members.Add(member);
        }

        return members;
    }

    private static string String(JsonElement element, string where) =>
        element.ValueKind == JsonValueKind.String ? element.GetString()! : throw InferenceException.Request($"{where} must be a string, not {Kind(element)}.");

    private static JsonElement Array(JsonElement element, string where) =>
        element.ValueKind == JsonValueKind.Array ? element : throw InferenceException.Request($"{where} must be an array, not {Kind(element)}.");

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    /// <summary>A short description of a JSON value for an error: the value itself for scalars (it is the caller's own), the kind otherwise.</summary>
    private static string Describe(JsonElement element)
    {
        if (element.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
        {
            return Kind(element);
        }

        string text = Encoding.UTF8.GetString(JsonMarshal.GetRawUtf8Value(element));
        return text.Length > 40 ? text[..40] + "..." : text;
    }
}

/// <summary>An encoded REST response body; <see cref="JsonLength"/> is set when binary tensor data follows the JSON.</summary>
public sealed record RestResponse(byte[] Body, int? JsonLength)
{
    public string ContentType => JsonLength is null ? RestCodec.JsonContentType : RestCodec.BinaryContentType;
}
