using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.Inference.Tensors;

namespace Confide.Inference.Tests.Support;

/// <summary>A KServe v2 REST client for the tests, written from the protocol text (it shares no code with the server's codec).</summary>
internal static class Rest
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>An input object with JSON data, flat or nested by the shape.</summary>
    public static JsonObject JsonInput(TestTensor tensor, bool nested = false, JsonObject? parameters = null)
    {
        JsonArray flat = Values(tensor);
        var input = new JsonObject
        {
            ["name"] = tensor.Name,
            ["shape"] = new JsonArray([.. tensor.Shape.Select(d => (JsonNode)d)]),
            ["datatype"] = tensor.Type.ToProtocolName(),
            ["data"] = nested && tensor.Shape.Length > 1 ? Nest(flat, tensor.Shape, 0, 0) : flat,
        };
        if (parameters is not null)
        {
            input["parameters"] = parameters;
        }

        return input;
    }

    /// <summary>An input object announcing binary data (the bytes go after the JSON).</summary>
    public static JsonObject BinaryInput(TestTensor tensor) => new()
    {
        ["name"] = tensor.Name,
        ["shape"] = new JsonArray([.. tensor.Shape.Select(d => (JsonNode)d)]),
        ["datatype"] = tensor.Type.ToProtocolName(),
        ["parameters"] = new JsonObject { ["binary_data_size"] = tensor.Data.Length },
    };

    public static JsonObject Request(params JsonObject[] inputs) => new() { ["inputs"] = new JsonArray(inputs) };

    public static Task<HttpResponseMessage> PostJsonAsync(HttpClient client, string path, JsonNode body) =>
        client.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), Ct);

    public static Task<HttpResponseMessage> PostRawAsync(HttpClient client, string path, string body) =>
        client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), Ct);

    /// <summary>POSTs JSON followed by binary chunks, with Inference-Header-Content-Length (unless told otherwise).</summary>
    public static Task<HttpResponseMessage> PostBinaryAsync(HttpClient client, string path, JsonNode header, IEnumerable<byte[]> chunks, string? headerLength = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        byte[] body = [.. json, .. chunks.SelectMany(c => c)];
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", headerLength ?? json.Length.ToString(CultureInfo.InvariantCulture));
        return client.PostAsync(path, content, Ct);
    }

    /// <summary>Reads a successful inference response, JSON or JSON + binary, into tensors by name.</summary>
    public static async Task<(JsonElement Json, Dictionary<string, TestTensor> Outputs)> ReadResponseAsync(HttpResponseMessage response)
    {
        byte[] body = await response.Content.ReadAsByteArrayAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
        int jsonLength = body.Length;
        if (response.Headers.TryGetValues("Inference-Header-Content-Length", out IEnumerable<string>? values))
        {
            jsonLength = int.Parse(values.Single(), CultureInfo.InvariantCulture);
            Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        }
        else
        {
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        }

        JsonElement json = JsonDocument.Parse(body.AsMemory(0, jsonLength)).RootElement.Clone();
        int offset = jsonLength;
        var outputs = new Dictionary<string, TestTensor>();
        foreach (JsonElement output in json.GetProperty("outputs").EnumerateArray())
        {
            string name = output.GetProperty("name").GetString()!;
            Assert.True(TensorDataTypes.TryParse(output.GetProperty("datatype").GetString(), out TensorDataType type));
            long[] shape = [.. output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())];
            byte[] data;
            if (output.TryGetProperty("parameters", out JsonElement parameters) && parameters.TryGetProperty("binary_data_size", out JsonElement size))
            {
                Assert.False(output.TryGetProperty("data", out _), "a binary output carries no JSON data");
                data = body.AsSpan(offset, size.GetInt32()).ToArray();
                offset += data.Length;
            }
            else
            {
                data = Parse(output.GetProperty("data"), type);
            }

            outputs[name] = new TestTensor(name, type, shape, data);
        }

        Assert.Equal(body.Length, offset);
        return (json, outputs);
    }

    /// <summary>Asserts an error response: the status and the <c>{"error": "..."}</c> body; returns the message.</summary>
    public static async Task<string> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        string body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using JsonDocument document = JsonDocument.Parse(body);
        Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        Assert.Single(document.RootElement.EnumerateObject());
        return document.RootElement.GetProperty("error").GetString()!;
    }

    public static JsonArray Values(TestTensor tensor)
    {
        var values = new JsonArray();
        if (tensor.Type == TensorDataType.Bytes)
        {
            foreach (string s in tensor.Strings)
            {
                values.Add(s);
            }

            return values;
        }

        int size = tensor.Type.ElementSize();
        for (int offset = 0; offset < tensor.Data.Length; offset += size)
        {
            ReadOnlySpan<byte> e = tensor.Data.AsSpan(offset, size);
            values.Add(tensor.Type switch
            {
                TensorDataType.Bool => JsonValue.Create(e[0] != 0),
                TensorDataType.UInt8 => JsonValue.Create(e[0]),
                TensorDataType.UInt16 => JsonValue.Create(BinaryPrimitives.ReadUInt16LittleEndian(e)),
                TensorDataType.UInt32 => JsonValue.Create(BinaryPrimitives.ReadUInt32LittleEndian(e)),
                TensorDataType.UInt64 => JsonValue.Create(BinaryPrimitives.ReadUInt64LittleEndian(e)),
                TensorDataType.Int8 => JsonValue.Create((sbyte)e[0]),
                TensorDataType.Int16 => JsonValue.Create(BinaryPrimitives.ReadInt16LittleEndian(e)),
                TensorDataType.Int32 => JsonValue.Create(BinaryPrimitives.ReadInt32LittleEndian(e)),
                TensorDataType.Int64 => JsonValue.Create(BinaryPrimitives.ReadInt64LittleEndian(e)),
                TensorDataType.Fp16 => JsonValue.Create((double)BinaryPrimitives.ReadHalfLittleEndian(e)),
                TensorDataType.Fp32 => JsonValue.Create(BinaryPrimitives.ReadSingleLittleEndian(e)),
                TensorDataType.Fp64 => JsonValue.Create(BinaryPrimitives.ReadDoubleLittleEndian(e)),
                _ => throw new ArgumentOutOfRangeException(nameof(tensor)),
            });
        }

        return values;
    }

    private static JsonArray Nest(JsonArray flat, long[] shape, int depth, int start)
    {
        var array = new JsonArray();
        long stride = shape.Skip(depth + 1).Aggregate(1L, (a, b) => a * b);
        for (int i = 0; i < shape[depth]; i++)
        {
            int begin = start + (int)(i * stride);
            if (depth == shape.Length - 1)
            {
                array.Add(flat[begin]!.DeepClone());
            }
            else
            {
                array.Add(Nest(flat, shape, depth + 1, begin));
            }
        }

        return array;
    }

    private static byte[] Parse(JsonElement data, TensorDataType type)
    {
        var leaves = new List<JsonElement>();
        Flatten(data, leaves);
        if (type == TensorDataType.Bytes)
        {
            return InferenceTensor.EncodeBytes([.. leaves.Select(l => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(l.GetString()!))]);
        }

        int size = type.ElementSize();
        byte[] bytes = new byte[leaves.Count * size];
        for (int i = 0; i < leaves.Count; i++)
        {
            Span<byte> e = bytes.AsSpan(i * size, size);
            JsonElement l = leaves[i];
            switch (type)
            {
                case TensorDataType.Bool: e[0] = l.GetBoolean() ? (byte)1 : (byte)0; break;
                case TensorDataType.UInt8: e[0] = l.GetByte(); break;
                case TensorDataType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(e, l.GetUInt16()); break;
                case TensorDataType.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(e, l.GetUInt32()); break;
                case TensorDataType.UInt64: BinaryPrimitives.WriteUInt64LittleEndian(e, l.GetUInt64()); break;
                case TensorDataType.Int8: e[0] = (byte)l.GetSByte(); break;
                case TensorDataType.Int16: BinaryPrimitives.WriteInt16LittleEndian(e, l.GetInt16()); break;
                case TensorDataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(e, l.GetInt32()); break;
                case TensorDataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(e, l.GetInt64()); break;
                case TensorDataType.Fp16: BinaryPrimitives.WriteHalfLittleEndian(e, Half.Parse(l.GetRawText(), CultureInfo.InvariantCulture)); break;
                case TensorDataType.Fp32: BinaryPrimitives.WriteSingleLittleEndian(e, l.GetSingle()); break;
                case TensorDataType.Fp64: BinaryPrimitives.WriteDoubleLittleEndian(e, l.GetDouble()); break;
                default: throw new ArgumentOutOfRangeException(nameof(type));
            }
        }

        return bytes;
    }

    private static void Flatten(JsonElement element, List<JsonElement> leaves)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement child in element.EnumerateArray())
            {
                Flatten(child, leaves);
            }
        }
        else
        {
            leaves.Add(element);
        }
    }
}

/// <summary>Bit-for-bit comparison of tensors.</summary>
internal static class Same
{
    public static void Tensor(TestTensor expected, TestTensor actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.True(expected.Data.AsSpan().SequenceEqual(actual.Data), $"output '{expected.Name}' differs from in-process ONNX Runtime ({expected.Data.Length} vs {actual.Data.Length} bytes)");
    }

    public static void Outputs(Dictionary<string, TestTensor> expected, Dictionary<string, TestTensor> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach ((string name, TestTensor tensor) in expected)
        {
            Tensor(tensor, actual[name]);
        }
    }
}
