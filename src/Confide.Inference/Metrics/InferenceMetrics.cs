using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Confide.Inference.Metrics;

/// <summary>
/// The server's instruments (meter <see cref="MeterName"/>): requests and errors by model, version,
/// protocol and outcome, and a latency histogram per model. Labels carry only what the operator
/// configured (model names and versions that exist) and fixed words: never tensor data, never a
/// name a caller made up (an unknown model is counted under <see cref="UnknownModel"/>).
/// </summary>
public sealed class InferenceMetrics : IDisposable
{
    public const string MeterName = "Confide.Inference";

    /// <summary>The model label of a request for a model that is not served.</summary>
    public const string UnknownModel = "";

    private static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Counter<long> _requests;
    private readonly Counter<long> _errors;
    private readonly Histogram<double> _duration;

    /// <param name="readyVersions">Reports the number of ready model versions for a gauge.</param>
    public InferenceMetrics(Func<int>? readyVersions = null)
    {
        // One meter per server: an exporter can tell its own instruments from another server's in the same process.
        Meter = new Meter(MeterName, typeof(InferenceMetrics).Assembly.GetName().Version?.ToString());
        _requests = Meter.CreateCounter<long>("confide.inference.requests", "{request}", "Inference requests handled, by model, version, protocol and outcome.");
        _errors = Meter.CreateCounter<long>("confide.inference.errors", "{request}", "Inference requests refused or failed, by model, version, protocol and error.");
        _duration = Meter.CreateHistogram<double>("confide.inference.request.duration", "s", "Time to validate and run an inference request, by model and version.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        if (readyVersions is not null)
        {
            Meter.CreateObservableGauge("confide.inference.models.ready", readyVersions, "{version}", "Model versions loaded and ready.");
        }
    }

    /// <summary>The meter behind the instruments, for an exporter to subscribe to.</summary>
    public Meter Meter { get; }

    /// <summary>Records an inference call that reached the core: success (error null) or a typed refusal.</summary>
    public void RecordInference(string protocol, string model, string version, InferenceError? error, TimeSpan elapsed)
    {
        var tags = new TagList
        {
            { "model", model },
            { "version", version },
            { "protocol", protocol },
            { "outcome", error is null ? "ok" : Label(error.Value) },
        };
        _requests.Add(1, tags);
        _duration.Record(elapsed.TotalSeconds, new TagList { { "model", model }, { "version", version } });
        if (error is not null)
        {
            _errors.Add(1, new TagList { { "model", model }, { "version", version }, { "protocol", protocol }, { "error", Label(error.Value) } });
        }
    }

    /// <summary>Records a call the transport refused before the core saw it (malformed, too large).</summary>
    public void RecordRejected(string protocol, InferenceError error)
    {
        _requests.Add(1, new TagList { { "model", UnknownModel }, { "version", "" }, { "protocol", protocol }, { "outcome", Label(error) } });
        _errors.Add(1, new TagList { { "model", UnknownModel }, { "version", "" }, { "protocol", protocol }, { "error", Label(error) } });
    }

    /// <summary>The label of an error: snake case of its name (<c>invalid_input</c>).</summary>
    public static string Label(InferenceError error) => error switch
    {
        InferenceError.ModelNotFound => "model_not_found",
        InferenceError.VersionNotFound => "version_not_found",
        InferenceError.ModelNotReady => "model_not_ready",
        InferenceError.InvalidRequest => "invalid_request",
        InferenceError.InvalidInput => "invalid_input",
        InferenceError.InvalidOutput => "invalid_output",
        InferenceError.RequestTooLarge => "request_too_large",
        InferenceError.ExecutionFailed => "execution_failed",
        InferenceError.Unavailable => "unavailable",
        _ => "other",
    };

    public void Dispose() => Meter.Dispose();
}
