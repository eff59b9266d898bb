using System.Buffers.Binary;
using Confide.Inference.Grpc.Protocol;
using Confide.Inference.Serving;
using Confide.Inference.Tensors;
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace Confide.Inference.Grpc;

/// <summary>
/// Converts the gRPC messages of the Open Inference Protocol to and from the transport-neutral
/// request and response. Public so that another transport carrying the protobuf messages can reuse it.
/// </summary>
/// <remarks>
/// A response uses <c>raw_output_contents</c> when the request used <c>raw_input_contents</c> or an
/// output is FP16 (which has no typed contents); otherwise typed <c>contents</c>. The protocol lets
/// a response use one form only, so the choice is for all outputs.
/// </remarks>
public static class GrpcCodec
{
    /// <summary>Decodes a ModelInferRequest, checking that each input's contents match its datatype and shape.</summary>
    /// <exception cref="InferenceException">InvalidRequest or InvalidInput.</exception>
    public static InferenceRequest DecodeInferRequest(ModelInferRequest request, string protocol = "grpc")
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.ModelName))
        {
            throw InferenceException.Request("model_name is empty.");
        }

        bool raw = request.RawInputContents.Count > 0;
        if (raw && request.RawInputContents.Count != request.Inputs.Count)
        {
            throw InferenceException.Request($"raw_input_contents has {request.RawInputContents.Count} entries for {request.Inputs.Count} inputs; give one per input, in order.");
        }

        var inputs = new List<InferenceTensor>(request.Inputs.Count);
        for (int i = 0; i < request.Inputs.Count; i++)
        {
            ModelInferRequest.Types.InferInputTensor input = request.Inputs[i];
            if (string.IsNullOrEmpty(input.Name))
            {
                throw InferenceException.Request($"inputs[{i}] has no name.");
            }

            string role = $"Input '{input.Name}'";
            if (!TensorDataTypes.TryParse(input.Datatype, out TensorDataType type))
            {
                throw InferenceException.Input($"{role} has datatype '{input.Datatype}', which is not one of {string.Join(", ", TensorDataTypes.All.Select(t => t.ToProtocolName()))}.");
            }

            foreach ((long dimension, int axis) in input.Shape.Select((d, a) => (d, a)))
            {
                if (dimension < 0)
                {
                    throw InferenceException.Input($"{role} shape dimension {axis} is {dimension}; dimensions of a request's tensor are sizes, not -1.");
                }
            }

            var parameters = ReadParameters(input.Parameters);
            ReadOnlyMemory<byte> data;
            if (raw)
            {
                if (input.Contents is not null && HasAny(input.Contents))
                {
                    throw InferenceException.Request($"{role} has contents although the request uses raw_input_contents; use one form for all inputs.");
                }

                data = request.RawInputContents[i].Memory;
            }
            else
            {
                if (input.Contents is null)
                {
                    throw InferenceException.Input($"{role} has no contents (and the request has no raw_input_contents).");
                }

                long count = InferenceTensor.CountElements(input.Shape, role);
                data = FromContents(input.Contents, type, count, role);
            }

            inputs.Add(InferenceTensor.Create(input.Name, type, input.Shape, data, parameters, role));
        }

        var outputs = new List<RequestedOutput>(request.Outputs.Count);
        foreach (ModelInferRequest.Types.InferRequestedOutputTensor output in request.Outputs)
        {
            if (string.IsNullOrEmpty(output.Name))
            {
                throw InferenceException.Request("A requested output has no name.");
            }

            outputs.Add(new RequestedOutput(output.Name) { Parameters = ReadParameters(output.Parameters) });
        }

        return new InferenceRequest
        {
            ModelName = request.ModelName,
            ModelVersion = string.IsNullOrEmpty(request.ModelVersion) ? null : request.ModelVersion,
            Id = string.IsNullOrEmpty(request.Id) ? null : request.Id,
            Parameters = ReadParameters(request.Parameters),
            Inputs = inputs,
            Outputs = outputs,
            Protocol = protocol,
        };
    }

    /// <summary>Encodes a response; <paramref name="raw"/> forces raw_output_contents (see the type's remarks for the default).</summary>
    public static ModelInferResponse EncodeInferResponse(InferenceResponse response, bool raw)
    {
        ArgumentNullException.ThrowIfNull(response);
        raw |= response.Outputs.Any(o => o.DataType == TensorDataType.Fp16);
        var message = new ModelInferResponse
        {
            ModelName = response.ModelName,
            ModelVersion = response.ModelVersion,
            Id = response.Id ?? string.Empty,
        };
        WriteParameters(message.Parameters, response.Parameters);
        foreach (InferenceTensor output in response.Outputs)
        {
            var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = output.DataType.ToProtocolName() };
            tensor.Shape.AddRange(output.Shape);
            WriteParameters(tensor.Parameters, output.Parameters);
            if (raw)
            {
                message.RawOutputContents.Add(ByteString.CopyFrom(output.Data.Span));
            }
            else
            {
                tensor.Contents = ToContents(output);
            }

            message.Outputs.Add(tensor);
        }

        return message;
    }

    /// <summary>Model metadata as the protocol's message.</summary>
    public static ModelMetadataResponse EncodeModelMetadata(ModelMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var message = new ModelMetadataResponse { Name = metadata.Name, Platform = metadata.Platform };
        message.Versions.AddRange(metadata.Versions);
        message.Inputs.AddRange(metadata.Inputs.Select(Tensor));
        message.Outputs.AddRange(metadata.Outputs.Select(Tensor));
        return message;

        static ModelMetadataResponse.Types.TensorMetadata Tensor(TensorMetadata t)
        {
            var tensor = new ModelMetadataResponse.Types.TensorMetadata { Name = t.Name, Datatype = t.DataType.ToProtocolName() };
            tensor.Shape.AddRange(t.Shape);
            return tensor;
        }
    }

    private static bool HasAny(InferTensorContents c) => Total(c) > 0;

    private static long Total(InferTensorContents c) =>
        (long)c.BoolContents.Count + c.IntContents.Count + c.Int64Contents.Count + c.UintContents.Count + c.Uint64Contents.Count + c.Fp32Contents.Count + c.Fp64Contents.Count + c.BytesContents.Count;

    private static byte[] FromContents(InferTensorContents contents, TensorDataType type, long count, string role)
    {
        (string field, int length) = type switch
        {
            TensorDataType.Bool => ("bool_contents", contents.BoolContents.Count),
            TensorDataType.Int8 or TensorDataType.Int16 or TensorDataType.Int32 => ("int_contents", contents.IntContents.Count),
            TensorDataType.Int64 => ("int64_contents", contents.Int64Contents.Count),
            TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 => ("uint_contents", contents.UintContents.Count),
            TensorDataType.UInt64 => ("uint64_contents", contents.Uint64Contents.Count),
            TensorDataType.Fp32 => ("fp32_contents", contents.Fp32Contents.Count),
            TensorDataType.Fp64 => ("fp64_contents", contents.Fp64Contents.Count),
            TensorDataType.Bytes => ("bytes_contents", contents.BytesContents.Count),
            _ => throw InferenceException.Input($"{role} is {type.ToProtocolName()}, which has no typed contents; send it in raw_input_contents."),
        };

        if (Total(contents) != length)
        {
            throw InferenceException.Input($"{role} is {type.ToProtocolName()}, whose contents go in {field}; the request fills other fields.");
        }

        if (length != count)
        {
            throw InferenceException.Input($"{role} has {count} elements by its shape; {field} holds {length}.");
        }

        int size = type.ElementSize();
        if (type == TensorDataType.Bytes)
        {
            return InferenceTensor.EncodeBytes([.. contents.BytesContents.Select(b => b.Memory)]);
        }

        byte[] data = new byte[checked(length * size)];
        Span<byte> span = data;
        for (int i = 0; i < length; i++)
        {
            Span<byte> element = span.Slice(i * size, size);
            switch (type)
            {
                case TensorDataType.Bool: element[0] = contents.BoolContents[i] ? (byte)1 : (byte)0; break;
                case TensorDataType.Int8: element[0] = unchecked((byte)(sbyte)Ranged(contents.IntContents[i], sbyte.MinValue, sbyte.MaxValue, type, i, role)); break;
                case TensorDataType.Int16: BinaryPrimitives.WriteInt16LittleEndian(element, (short)Ranged(contents.IntContents[i], short.MinValue, short.MaxValue, type, i, role)); break;
                case TensorDataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(element, contents.IntContents[i]); break;
                case TensorDataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(element, contents.Int64Contents[i]); break;
                case TensorDataType.UInt8: element[0] = (byte)Ranged(contents.UintContents[i], 0, byte.MaxValue, type, i, role); break;
                case TensorDataType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(element, (ushort)Ranged(contents.UintContents[i], 0, ushort.MaxValue, type, i, role)); break;
                case TensorDataType.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(element, contents.UintContents[i]); break;
                case TensorDataType.UInt64: BinaryPrimitives.WriteUInt64LittleEndian(element, contents.Uint64Contents[i]); break;
                case TensorDataType.Fp32: BinaryPrimitives.WriteSingleLittleEndian(element, contents.Fp32Contents[i]); break;
                case TensorDataType.Fp64: BinaryPrimitives.WriteDoubleLittleEndian(element, contents.Fp64Contents[i]); break;
                default: throw new InvalidOperationException("Unreachable: no typed contents.");
            }
        }

        return data;
    }

    private static long Ranged(long value, long min, long max, TensorDataType type, int index, string role) =>
        value >= min && value <= max ? value : throw InferenceException.Input($"{role} element {index}: {value} is out of the range of {type.ToProtocolName()} ({min} to {max}).");

    private static InferTensorContents ToContents(InferenceTensor tensor)
    {
        var contents = new InferTensorContents();
        ReadOnlySpan<byte> data = tensor.Data.Span;
        int size = tensor.DataType.ElementSize();
        if (tensor.DataType == TensorDataType.Bytes)
        {
            contents.BytesContents.AddRange(tensor.BytesElements().Select(e => ByteString.CopyFrom(e.Span)));
            return contents;
        }

        for (int offset = 0; offset < data.Length; offset += size)
        {
            ReadOnlySpan<byte> e = data.Slice(offset, size);
            switch (tensor.DataType)
            {
                case TensorDataType.Bool: contents.BoolContents.Add(e[0] != 0); break;
                case TensorDataType.Int8: contents.IntContents.Add((sbyte)e[0]); break;
                case TensorDataType.Int16: contents.IntContents.Add(BinaryPrimitives.ReadInt16LittleEndian(e)); break;
                case TensorDataType.Int32: contents.IntContents.Add(BinaryPrimitives.ReadInt32LittleEndian(e)); break;
                case TensorDataType.Int64: contents.Int64Contents.Add(BinaryPrimitives.ReadInt64LittleEndian(e)); break;
                case TensorDataType.UInt8: contents.UintContents.Add(e[0]); break;
                case TensorDataType.UInt16: contents.UintContents.Add(BinaryPrimitives.ReadUInt16LittleEndian(e)); break;
                case TensorDataType.UInt32: contents.UintContents.Add(BinaryPrimitives.ReadUInt32LittleEndian(e)); break;
                case TensorDataType.UInt64: contents.Uint64Contents.Add(BinaryPrimitives.ReadUInt64LittleEndian(e)); break;
                case TensorDataType.Fp32: contents.Fp32Contents.Add(BinaryPrimitives.ReadSingleLittleEndian(e)); break;
                case TensorDataType.Fp64: contents.Fp64Contents.Add(BinaryPrimitives.ReadDoubleLittleEndian(e)); break;
                default: throw new InvalidOperationException($"{tensor.DataType} has no typed contents.");
            }
        }

        return contents;
    }

    private static Dictionary<string, InferenceParameter> ReadParameters(MapField<string, InferParameter> parameters)
    {
        var result = new Dictionary<string, InferenceParameter>(StringComparer.Ordinal);
        foreach ((string name, InferParameter value) in parameters)
        {
            result[name] = value.ParameterChoiceCase switch
            {
                InferParameter.ParameterChoiceOneofCase.BoolParam => InferenceParameter.FromBool(value.BoolParam),
                InferParameter.ParameterChoiceOneofCase.Int64Param => InferenceParameter.FromInt64(value.Int64Param),
                InferParameter.ParameterChoiceOneofCase.StringParam => InferenceParameter.FromString(value.StringParam),
                InferParameter.ParameterChoiceOneofCase.DoubleParam => InferenceParameter.FromDouble(value.DoubleParam),
                InferParameter.ParameterChoiceOneofCase.Uint64Param => InferenceParameter.FromUInt64(value.Uint64Param),
                _ => throw InferenceException.Request($"Parameter '{name}' has no value."),
            };
        }

        return result;
    }

    private static void WriteParameters(MapField<string, InferParameter> target, IReadOnlyDictionary<string, InferenceParameter> parameters)
    {
        foreach ((string name, InferenceParameter value) in parameters)
        {
            target[name] = value.Kind switch
            {
                InferenceParameterKind.Bool => new InferParameter { BoolParam = value.BoolValue },
                InferenceParameterKind.Int64 => new InferParameter { Int64Param = value.Int64Value },
                InferenceParameterKind.UInt64 => new InferParameter { Uint64Param = value.UInt64Value },
                InferenceParameterKind.Double => new InferParameter { DoubleParam = value.DoubleValue },
                _ => new InferParameter { StringParam = value.StringValue },
            };
        }
    }
}
