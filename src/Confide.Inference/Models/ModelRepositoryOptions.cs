using Confide.Inference.Keys;
using Microsoft.ML.OnnxRuntime;

namespace Confide.Inference.Models;

/// <summary>How a model repository loads its models.</summary>
public sealed class ModelRepositoryOptions
{
    /// <summary>Supplies the keys of encrypted models. Null: only plaintext models can load (and only if allowed).</summary>
    public IModelKeyProvider? KeyProvider { get; init; }

    /// <summary>
    /// Load plain <c>.onnx</c> files. Default false: outside development a model that is not
    /// encrypted is refused, so that weights never sit in the clear on the host's disk by mistake.
    /// </summary>
    public bool AllowPlaintextModels { get; init; }

    /// <summary>
    /// Refuse to start when any model version fails to load. Default true. False: a failed version
    /// is reported not ready (with its error) and the others are served.
    /// </summary>
    public bool FailOnLoadError { get; init; } = true;

    /// <summary>Largest model file accepted. Default 1 GiB; the format's ceiling is 2 GiB.</summary>
    public long MaxModelBytes { get; init; } = 1L << 30;

    /// <summary>
    /// Tunes each model's ONNX Runtime session (threads, optimization level). Null: ONNX Runtime's
    /// defaults. The options object is disposed after the session is made.
    /// </summary>
    public Action<SessionOptions>? ConfigureSession { get; init; }
}
