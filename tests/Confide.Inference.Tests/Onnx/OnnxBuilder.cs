using Google.Protobuf;

namespace Confide.Inference.Tests.Onnx;

/// <summary>Writes ONNX models (ModelProto, IR version 8, opset 17) from a graph described in code.</summary>
internal sealed class OnnxBuilder
{
    private readonly GraphProto _graph;

    public OnnxBuilder(string name)
    {
        _graph = new GraphProto { Name = name };
    }

    /// <summary>A graph input; each dimension is a number (fixed) or a string (symbolic).</summary>
    public OnnxBuilder Input(string name, TensorProto.Types.DataType type, params object[] dimensions)
    {
        _graph.Input.Add(Value(name, type, dimensions));
        return this;
    }

    public OnnxBuilder Output(string name, TensorProto.Types.DataType type, params object[] dimensions)
    {
        _graph.Output.Add(Value(name, type, dimensions));
        return this;
    }

    public OnnxBuilder Initializer(string name, long[] dimensions, float[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dimensions);
        tensor.FloatData.AddRange(values);
        _graph.Initializer.Add(tensor);
        return this;
    }

    public OnnxBuilder Node(string opType, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return this;
    }

    public byte[] Build(long opset = 17)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "confide-inference-tests", ProducerVersion = "1", Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = opset });
        return model.ToByteArray();
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>Seeded uniform weights in [-scale, scale]: the same model every run.</summary>
    public static float[] Weights(Random random, int count, float scale) =>
        [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale))];

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, object[] dimensions)
    {
        var shape = new TensorShapeProto();
        foreach (object dimension in dimensions)
        {
            shape.Dim.Add(dimension switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"Dimension {dimension} is neither a size nor a symbol."),
            });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
