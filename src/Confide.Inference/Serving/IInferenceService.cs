namespace Confide.Inference.Serving;

/// <summary>
/// The transport-neutral core of the Open Inference Protocol. The REST and gRPC surfaces decode
/// their wire formats into these calls; another transport (an end-to-end encrypted channel, say)
/// does the same with an already-decoded request. Every refusal is an <see cref="InferenceException"/>
/// with a typed <see cref="InferenceError"/>.
/// </summary>
public interface IInferenceService
{
    /// <summary>True while the server can answer metadata and inference calls.</summary>
    bool IsLive { get; }

    /// <summary>True when every configured model version is loaded (or, with lenient loading, when at least one is).</summary>
    bool IsReady { get; }

    ServerMetadata GetServerMetadata();

    /// <exception cref="InferenceException">ModelNotFound, VersionNotFound.</exception>
    ModelMetadata GetModelMetadata(string name, string? version);

    /// <summary>Whether the version (or, with none given, any version) is loaded and ready.</summary>
    /// <exception cref="InferenceException">ModelNotFound, VersionNotFound.</exception>
    bool IsModelReady(string name, string? version);

    /// <summary>Validates the request against the model's metadata, runs it and returns the outputs.</summary>
    /// <exception cref="InferenceException">Any <see cref="InferenceError"/>.</exception>
    ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records, for metrics, a call the transport refused before it reached <see cref="InferAsync"/>
    /// (malformed body, too large). <paramref name="protocol"/> is the transport's fixed name.
    /// </summary>
    void RecordRejected(string protocol, InferenceError error);
}
