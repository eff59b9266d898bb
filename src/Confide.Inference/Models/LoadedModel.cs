using System.Text;
using Confide.Inference.Serving;
using Confide.Inference.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace Confide.Inference.Models;

/// <summary>
/// One model version with its ONNX Runtime session, made once at load and shared by every request:
/// <see cref="InferenceSession"/>'s Run is safe to call concurrently.
/// </summary>
public sealed class LoadedModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly Dictionary<string, TensorMetadata> _inputs;
    private readonly Dictionary<string, TensorMetadata> _outputs;

    private LoadedModel(ModelDescriptor descriptor, InferenceSession session, string fileSha256, IReadOnlyList<TensorMetadata> inputs, IReadOnlyList<TensorMetadata> outputs)
    {
        Descriptor = descriptor;
        _session = session;
        FileSha256 = fileSha256;
        Inputs = inputs;
        Outputs = outputs;
        _inputs = inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        _outputs = outputs.ToDictionary(o => o.Name, StringComparer.Ordinal);
    }

    public ModelDescriptor Descriptor { get; }

    public string Name => Descriptor.Name;

    public string Version => Descriptor.Version;

    /// <summary>
    /// SHA-256 (hex) of the model file as stored (the encrypted file for an encrypted model): what
    /// a client can expect the enclave to serve, as confonnx's "model hash" service identifier.
    /// </summary>
    public string FileSha256 { get; }

    public IReadOnlyList<TensorMetadata> Inputs { get; }

    public IReadOnlyList<TensorMetadata> Outputs { get; }

    public bool TryGetInput(string name, out TensorMetadata metadata) => _inputs.TryGetValue(name, out metadata!);

    public bool TryGetOutput(string name, out TensorMetadata metadata) => _outputs.TryGetValue(name, out metadata!);

    /// <summary>Makes the session from the model bytes and reads its metadata; refuses inputs and outputs that are not plain tensors of a protocol data type.</summary>
    internal static LoadedModel Create(ModelDescriptor descriptor, byte[] model, string fileSha256, Action<SessionOptions>? configure)
    {
        InferenceSession session;
        using (var options = new SessionOptions())
        {
            configure?.Invoke(options);
            try
            {
                session = new InferenceSession(model, options);
            }
            catch (OnnxRuntimeException ex)
            {
                throw new ModelLoadException(descriptor, ModelLoadError.InvalidModel, $"ONNX Runtime refused the model: {ex.Message}", ex);
            }
        }

        try
        {
            IReadOnlyList<TensorMetadata> inputs = Describe(descriptor, session.InputMetadata, session.InputNames, "input");
            IReadOnlyList<TensorMetadata> outputs = Describe(descriptor, session.OutputMetadata, session.OutputNames, "output");
            return new LoadedModel(descriptor, session, fileSha256, inputs, outputs);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static List<TensorMetadata> Describe(ModelDescriptor descriptor, IReadOnlyDictionary<string, NodeMetadata> metadata, IReadOnlyList<string> names, string role)
    {
        var tensors = new List<TensorMetadata>(names.Count);
        foreach (string name in names)
        {
            NodeMetadata node = metadata[name];
            if (!node.IsTensor || node.OnnxValueType != OnnxValueType.ONNX_TYPE_TENSOR)
            {
                throw new ModelLoadException(descriptor, ModelLoadError.UnsupportedModel, $"{role} '{name}' is a {node.OnnxValueType}; the inference protocol carries only tensors.");
            }

            if (!TensorDataTypes.TryFromOrt(node.ElementDataType, out TensorDataType type))
            {
                throw new ModelLoadException(descriptor, ModelLoadError.UnsupportedModel, $"{role} '{name}' has element type {node.ElementDataType}, which the inference protocol does not carry.");
            }

            long[] shape = [.. node.Dimensions.Select(d => d < 0 ? -1L : d)];
            string?[] symbolic = [.. node.Dimensions.Select((d, i) => d < 0 && i < node.SymbolicDimensions.Length && !string.IsNullOrEmpty(node.SymbolicDimensions[i]) ? node.SymbolicDimensions[i] : null)];
            tensors.Add(new TensorMetadata(name, type, shape) { SymbolicDimensions = symbolic });
        }

        return tensors;
    }

    /// <summary>
    /// Runs the model on inputs already checked against its metadata and returns the named outputs.
    /// Cancellation asks ONNX Runtime to stop (RunOptions.Terminate).
    /// </summary>
    internal InferenceTensor[] Run(IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string> outputNames, CancellationToken cancellationToken)
    {
        var values = new List<OrtValue>(inputs.Count);
        try
        {
            foreach (InferenceTensor input in inputs)
            {
                values.Add(ToOrtValue(input));
            }

            using var runOptions = new RunOptions();
            using CancellationTokenRegistration registration = cancellationToken.Register(() => runOptions.Terminate = true);
            using IDisposableReadOnlyCollection<OrtValue> results = _session.Run(runOptions, [.. inputs.Select(i => i.Name)], values, [.. outputNames]);
            var outputs = new InferenceTensor[outputNames.Count];
            int index = 0;
            foreach (OrtValue result in results)
            {
                outputs[index] = FromOrtValue(outputNames[index], result);
                index++;
            }

            return outputs;
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private static OrtValue ToOrtValue(InferenceTensor tensor)
    {
        long[] shape = [.. tensor.Shape];
        if (tensor.DataType == TensorDataType.Bytes)
        {
            OrtValue strings = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
            int index = 0;
            foreach (ReadOnlyMemory<byte> element in tensor.BytesElements())
            {
                strings.StringTensorSetElementAt(element.Span, index++);
            }

            return strings;
        }

        OrtValue value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, tensor.DataType.ToOrt(), shape);
        if (!tensor.Data.IsEmpty)
        {
            tensor.Data.Span.CopyTo(value.GetTensorMutableRawData());
        }

        return value;
    }

    private InferenceTensor FromOrtValue(string name, OrtValue value)
    {
        if (!value.IsTensor)
        {
            throw new InferenceException(InferenceError.ExecutionFailed, $"Model {Descriptor} produced a {value.OnnxType} for output '{name}', not a tensor.");
        }

        OrtTensorTypeAndShapeInfo info = value.GetTensorTypeAndShape();
        if (!TensorDataTypes.TryFromOrt(info.ElementDataType, out TensorDataType type))
        {
            throw new InferenceException(InferenceError.ExecutionFailed, $"Model {Descriptor} produced output '{name}' of element type {info.ElementDataType}, which the protocol cannot carry.");
        }

        long[] shape = info.Shape;
        byte[] data;
        if (type == TensorDataType.Bytes)
        {
            // ONNX Runtime's C# API reads string elements as UTF-16; inputs are UTF-8 checked, so this round-trips.
            var elements = new ReadOnlyMemory<byte>[checked((int)info.ElementCount)];
            for (int i = 0; i < elements.Length; i++)
            {
                elements[i] = Encoding.UTF8.GetBytes(value.GetStringElement(i));
            }

            data = InferenceTensor.EncodeBytes(elements);
        }
        else
        {
            data = info.ElementCount == 0 ? [] : value.GetTensorMutableRawData().ToArray();
        }

        return InferenceTensor.Create(name, type, shape, data, role: $"output '{name}'");
    }

    public void Dispose() => _session.Dispose();
}
