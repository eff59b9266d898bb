using Confide.Inference.Tensors;

namespace Confide.Inference.Serving;

/// <summary>
/// A decoded inference request, independent of the transport that carried it (REST JSON, REST
/// binary, gRPC, or an encrypted channel that decodes one of these).
/// </summary>
public sealed record InferenceRequest
{
    private static readonly IReadOnlyDictionary<string, InferenceParameter> NoParameters = new Dictionary<string, InferenceParameter>();

    public required string ModelName { get; init; }

    /// <summary>Null or empty: the highest ready version.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>Echoed in the response when given.</summary>
    public string? Id { get; init; }

    /// <summary>Request parameters; those the server does not consume are echoed in the response.</summary>
    public IReadOnlyDictionary<string, InferenceParameter> Parameters { get; init; } = NoParameters;

    public required IReadOnlyList<InferenceTensor> Inputs { get; init; }

    /// <summary>The outputs to return, in this order; empty: every output of the model, in the model's order.</summary>
    public IReadOnlyList<RequestedOutput> Outputs { get; init; } = [];

    /// <summary>The transport's name for metrics ("rest", "grpc", ...): never data, never a caller-chosen string.</summary>
    public string Protocol { get; init; } = "direct";
}

/// <summary>An output the caller asks for, with its parameters (e.g. <c>binary_data</c>).</summary>
public sealed record RequestedOutput(string Name)
{
    private static readonly IReadOnlyDictionary<string, InferenceParameter> NoParameters = new Dictionary<string, InferenceParameter>();

    public IReadOnlyDictionary<string, InferenceParameter> Parameters { get; init; } = NoParameters;
}

/// <summary>The result of an inference: the outputs in the order requested (or the model's order).</summary>
public sealed record InferenceResponse
{
    private static readonly IReadOnlyDictionary<string, InferenceParameter> NoParameters = new Dictionary<string, InferenceParameter>();

    public required string ModelName { get; init; }

    public required string ModelVersion { get; init; }

    public string? Id { get; init; }

    public IReadOnlyDictionary<string, InferenceParameter> Parameters { get; init; } = NoParameters;

    public required IReadOnlyList<InferenceTensor> Outputs { get; init; }
}

/// <summary>An input or output of a model as metadata reports it; -1 marks a dimension of variable size.</summary>
public sealed record TensorMetadata(string Name, TensorDataType DataType, IReadOnlyList<long> Shape)
{
    /// <summary>The names ONNX gives the variable dimensions (null where a dimension is fixed or unnamed).</summary>
    public IReadOnlyList<string?> SymbolicDimensions { get; init; } = [];
}

/// <summary>Model metadata: the versions served and the tensors of the version asked about.</summary>
public sealed record ModelMetadata(string Name, IReadOnlyList<string> Versions, string Platform, IReadOnlyList<TensorMetadata> Inputs, IReadOnlyList<TensorMetadata> Outputs);

/// <summary>Server metadata: name, version and the protocol extensions supported.</summary>
public sealed record ServerMetadata(string Name, string Version, IReadOnlyList<string> Extensions);
