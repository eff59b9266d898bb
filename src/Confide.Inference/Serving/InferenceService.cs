using System.Diagnostics;
using System.Text.Unicode;
using Confide.Inference.Metrics;
using Confide.Inference.Models;
using Confide.Inference.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace Confide.Inference.Serving;

/// <summary>
/// The inference core over a <see cref="ModelRepository"/>: every request is checked against the
/// model's metadata (names, data types, ranks, fixed and shared symbolic dimensions) before ONNX
/// Runtime sees it, so that bad input gets a precise typed error rather than a runtime failure.
/// </summary>
public sealed class InferenceService : IInferenceService, IDisposable
{
    /// <summary>The protocol extensions this server implements (server metadata).</summary>
    public static readonly IReadOnlyList<string> Extensions = ["binary_tensor_data"];

    private const string Platform = "onnx_onnxv1";

    private readonly ModelRepository _repository;
    private readonly InferenceServiceOptions _options;
    private readonly InferenceMetrics? _metrics;
    private readonly SemaphoreSlim _slots;
    private volatile bool _stopping;

    public InferenceService(ModelRepository repository, InferenceServiceOptions? options = null, InferenceMetrics? metrics = null)
    {
        _repository = repository ?? throw new ArgumentNullException(nameof(repository));
        _options = options ?? new InferenceServiceOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxConcurrentInferences, 1);
        _metrics = metrics;
        _slots = new SemaphoreSlim(_options.MaxConcurrentInferences);
    }

    public ModelRepository Repository => _repository;

    public bool IsLive => !_stopping;

    public bool IsReady => !_stopping && _repository.AnyReady;

    /// <summary>Refuses new inferences from now on (shutdown): they get <see cref="InferenceError.Unavailable"/>.</summary>
    public void Stop() => _stopping = true;

    public ServerMetadata GetServerMetadata() => new(_options.ServerName, _options.ServerVersion, Extensions);

    public ModelMetadata GetModelMetadata(string name, string? version)
    {
        LoadedModel model = _repository.Resolve(name, version);
        return new ModelMetadata(model.Name, [.. _repository.VersionsOf(name).Select(v => v.Descriptor.Version)], Platform, model.Inputs, model.Outputs);
    }

    public bool IsModelReady(string name, string? version)
    {
        if (string.IsNullOrEmpty(version))
        {
            _repository.Find(name, null);
            return _repository.VersionsOf(name).Any(v => v.IsReady);
        }

        return _repository.Find(name, version).IsReady;
    }

    public void RecordRejected(string protocol, InferenceError error) => _metrics?.RecordRejected(protocol, error);

    public async ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        long started = Stopwatch.GetTimestamp();
        string modelLabel = InferenceMetrics.UnknownModel;
        string versionLabel = string.Empty;
        try
        {
            if (_stopping)
            {
                throw new InferenceException(InferenceError.Unavailable, "The server is shutting down.");
            }

            LoadedModel model = _repository.Resolve(request.ModelName, request.ModelVersion);
            (modelLabel, versionLabel) = (model.Name, model.Version);
            IReadOnlyList<InferenceTensor> inputs = CheckInputs(model, request.Inputs);
            IReadOnlyList<string> outputs = CheckOutputs(model, request.Outputs);

            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            InferenceTensor[] results;
            try
            {
                results = Run(model, inputs, outputs, cancellationToken);
            }
            finally
            {
                _slots.Release();
            }

            var requested = request.Outputs.ToDictionary(o => o.Name, o => o.Parameters, StringComparer.Ordinal);
            var response = new InferenceResponse
            {
                ModelName = model.Name,
                ModelVersion = model.Version,
                Id = request.Id,
                Parameters = request.Parameters,
                Outputs = [.. results.Select(r => requested.TryGetValue(r.Name, out var parameters) ? r.WithParameters(parameters) : r)],
            };
            _metrics?.RecordInference(request.Protocol, modelLabel, versionLabel, null, Stopwatch.GetElapsedTime(started));
            return response;
        }
        catch (InferenceException ex)
        {
            _metrics?.RecordInference(request.Protocol, modelLabel, versionLabel, ex.Error, Stopwatch.GetElapsedTime(started));
            throw;
        }
        catch (OperationCanceledException)
        {
            _metrics?.RecordInference(request.Protocol, modelLabel, versionLabel, InferenceError.Unavailable, Stopwatch.GetElapsedTime(started));
            throw;
        }
    }

    private static InferenceTensor[] Run(LoadedModel model, IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string> outputs, CancellationToken cancellationToken)
    {
        try
        {
            return model.Run(inputs, outputs, cancellationToken);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        // ONNX Runtime keeps its error code internal; its message starts with "[ErrorCode:<name>]".
        catch (OnnxRuntimeException ex) when (ex.Message.StartsWith("[ErrorCode:InvalidArgument]", StringComparison.Ordinal))
        {
            // Inputs passed every metadata check, but their values are out of the model's domain (a Gather index out of range, say).
            throw new InferenceException(InferenceError.InvalidInput, $"Model '{model.Name}' version {model.Version} refused the input values: {ex.Message}", ex);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InferenceException(InferenceError.ExecutionFailed, $"Model '{model.Name}' version {model.Version} failed to run: {ex.Message}", ex);
        }
    }

    /// <summary>Checks the inputs against the model's metadata; returns them in the request's order.</summary>
    private static IReadOnlyList<InferenceTensor> CheckInputs(LoadedModel model, IReadOnlyList<InferenceTensor> inputs)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var symbols = new Dictionary<string, (long Size, string Input)>(StringComparer.Ordinal);
        foreach (InferenceTensor input in inputs)
        {
            if (!model.TryGetInput(input.Name, out TensorMetadata expected))
            {
                throw InferenceException.Input($"Model '{model.Name}' has no input '{input.Name}'; its inputs are {Names(model.Inputs)}.");
            }

            if (!seen.Add(input.Name))
            {
                throw InferenceException.Input($"Input '{input.Name}' is given more than once.");
            }

            if (input.DataType != expected.DataType)
            {
                throw InferenceException.Input($"Input '{input.Name}' of model '{model.Name}' is {expected.DataType.ToProtocolName()}; the request gives {input.DataType.ToProtocolName()}.");
            }

            if (input.Shape.Count != expected.Shape.Count)
            {
                throw InferenceException.Input($"Input '{input.Name}' of model '{model.Name}' has shape {InferenceTensor.FormatShape(expected.Shape)} (rank {expected.Shape.Count}); the request's shape {InferenceTensor.FormatShape(input.Shape)} has rank {input.Shape.Count}.");
            }

            for (int i = 0; i < expected.Shape.Count; i++)
            {
                if (expected.Shape[i] >= 0 && expected.Shape[i] != input.Shape[i])
                {
                    throw InferenceException.Input($"Input '{input.Name}' of model '{model.Name}' has shape {InferenceTensor.FormatShape(expected.Shape)}; the request's shape {InferenceTensor.FormatShape(input.Shape)} differs in dimension {i}.");
                }

                string? symbol = i < expected.SymbolicDimensions.Count ? expected.SymbolicDimensions[i] : null;
                if (symbol is null)
                {
                    continue;
                }

                if (symbols.TryGetValue(symbol, out var bound) && bound.Size != input.Shape[i])
                {
                    throw InferenceException.Input($"Dimension '{symbol}' of model '{model.Name}' is {bound.Size} in input '{bound.Input}' but {input.Shape[i]} in input '{input.Name}'.");
                }

                symbols[symbol] = (input.Shape[i], input.Name);
            }

            if (input.DataType == TensorDataType.Bytes)
            {
                int index = 0;
                foreach (ReadOnlyMemory<byte> element in input.BytesElements())
                {
                    if (!Utf8.IsValid(element.Span))
                    {
                        throw InferenceException.Input($"Input '{input.Name}' BYTES element {index} is not valid UTF-8; ONNX string tensors carry UTF-8 text.");
                    }

                    index++;
                }
            }
        }

        TensorMetadata? missing = model.Inputs.FirstOrDefault(i => !seen.Contains(i.Name));
        if (missing is not null)
        {
            throw InferenceException.Input($"Model '{model.Name}' needs input '{missing.Name}' ({missing.DataType.ToProtocolName()} {InferenceTensor.FormatShape(missing.Shape)}), which the request lacks.");
        }

        return inputs;
    }

    private static IReadOnlyList<string> CheckOutputs(LoadedModel model, IReadOnlyList<RequestedOutput> requested)
    {
        if (requested.Count == 0)
        {
            return [.. model.Outputs.Select(o => o.Name)];
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (RequestedOutput output in requested)
        {
            if (!model.TryGetOutput(output.Name, out _))
            {
                throw InferenceException.Output($"Model '{model.Name}' has no output '{output.Name}'; its outputs are {Names(model.Outputs)}.");
            }

            if (!seen.Add(output.Name))
            {
                throw InferenceException.Output($"Output '{output.Name}' is requested more than once.");
            }
        }

        return [.. requested.Select(o => o.Name)];
    }

    private static string Names(IEnumerable<TensorMetadata> tensors) => string.Join(", ", tensors.Select(t => $"'{t.Name}'"));

    public void Dispose() => _slots.Dispose();
}
