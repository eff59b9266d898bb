namespace Confide.Inference.Serving;

/// <summary>How the inference core answers metadata calls and how much work it takes on at once.</summary>
public sealed class InferenceServiceOptions
{
    /// <summary>The server name in server metadata.</summary>
    public string ServerName { get; init; } = "confide-inference";

    /// <summary>The server version in server metadata (default: this assembly's version).</summary>
    public string ServerVersion { get; init; } = typeof(InferenceService).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>
    /// Inferences run at once; more wait their turn. Default: the processor count (an enclave has a
    /// fixed number of threads, and ONNX Runtime already spreads one run over the cores).
    /// </summary>
    public int MaxConcurrentInferences { get; init; } = Environment.ProcessorCount;
}
