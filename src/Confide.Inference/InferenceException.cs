namespace Confide.Inference;

/// <summary>
/// Why an inference-protocol call was refused. Each transport maps these to its own status:
/// REST to an HTTP status with <c>{"error": "..."}</c>, gRPC to a status code (docs/inference.md).
/// </summary>
public enum InferenceError
{
    /// <summary>No model of that name is served. HTTP 404, gRPC NotFound.</summary>
    ModelNotFound,

    /// <summary>The model is served, but not in that version. HTTP 404, gRPC NotFound.</summary>
    VersionNotFound,

    /// <summary>The model version exists but failed to load (lenient loading). HTTP 503, gRPC Unavailable.</summary>
    ModelNotReady,

    /// <summary>The request is malformed: not JSON, wrong member types, bad binary framing, an unknown member. HTTP 400, gRPC InvalidArgument.</summary>
    InvalidRequest,

    /// <summary>An input does not fit the model: unknown, missing or repeated name, wrong datatype or shape, data that does not match the shape. HTTP 400, gRPC InvalidArgument.</summary>
    InvalidInput,

    /// <summary>A requested output is unknown or repeated, or cannot be returned in the requested form. HTTP 400, gRPC InvalidArgument.</summary>
    InvalidOutput,

    /// <summary>The request body is larger than the server accepts. HTTP 413, gRPC ResourceExhausted.</summary>
    RequestTooLarge,

    /// <summary>The model failed while running on inputs that passed every check. HTTP 500, gRPC Internal.</summary>
    ExecutionFailed,

    /// <summary>The server is shutting down or the call was cancelled. HTTP 503, gRPC Cancelled/Unavailable.</summary>
    Unavailable,
}

/// <summary>An inference-protocol refusal with a typed reason and a message safe to return to the caller.</summary>
public sealed class InferenceException(InferenceError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public InferenceError Error { get; } = error;

    /// <summary>The HTTP status the REST surface answers with.</summary>
    public int HttpStatus => Error switch
    {
        InferenceError.ModelNotFound or InferenceError.VersionNotFound => 404,
        InferenceError.RequestTooLarge => 413,
        InferenceError.ExecutionFailed => 500,
        InferenceError.ModelNotReady or InferenceError.Unavailable => 503,
        _ => 400,
    };

    internal static InferenceException Request(string message) => new(InferenceError.InvalidRequest, message);

    internal static InferenceException Input(string message) => new(InferenceError.InvalidInput, message);

    internal static InferenceException Output(string message) => new(InferenceError.InvalidOutput, message);
}
