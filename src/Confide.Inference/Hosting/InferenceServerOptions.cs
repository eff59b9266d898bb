using System.Security.Cryptography.X509Certificates;
using Confide.Inference.Models;
using Confide.Inference.Serving;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Confide.Inference.Hosting;

/// <summary>What an inference server serves, where, and the hooks another layer (attested TLS, an encrypted channel) plugs into.</summary>
public sealed class InferenceServerOptions
{
    /// <summary>Model versions to serve (added to those found in <see cref="ModelDirectory"/>).</summary>
    public IList<ModelDescriptor> Models { get; init; } = [];

    /// <summary>A model repository directory to scan (<see cref="ModelRepository.Scan"/>), or null.</summary>
    public string? ModelDirectory { get; init; }

    /// <summary>How models load: key provider, plaintext policy, session tuning.</summary>
    public ModelRepositoryOptions Repository { get; init; } = new();

    /// <summary>Server metadata and concurrency of the inference core.</summary>
    public InferenceServiceOptions Service { get; init; } = new();

    /// <summary>
    /// The data endpoints: http or https URLs with an IP address (or localhost); port 0 picks a free
    /// port, reported in <see cref="InferenceServer.Urls"/>. Default: on 127.0.0.1, ports chosen at
    /// run time, a cleartext HTTP/1.1 endpoint for REST and a cleartext HTTP/2 endpoint for gRPC
    /// (Kestrel cannot offer both on one cleartext port; over https one endpoint serves both).
    /// </summary>
    public IList<InferenceEndpoint> Endpoints { get; init; } =
        [new(new Uri("http://127.0.0.1:0"), HttpProtocols.Http1), new(new Uri("http://127.0.0.1:0"), HttpProtocols.Http2)];

    /// <summary>The certificate for https data endpoints, unless <see cref="ConfigureDataListener"/> sets up TLS itself.</summary>
    public X509Certificate2? TlsCertificate { get; init; }

    /// <summary>
    /// Called for each data endpoint after its protocols (and, with <see cref="TlsCertificate"/>, its
    /// TLS) are set: the place to call an attested-TLS <c>UseAttestedTls</c> or add connection middleware.
    /// </summary>
    public Action<InferenceEndpoint, ListenOptions>? ConfigureDataListener { get; init; }

    /// <summary>Adds services to the data application (before it is built).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>Maps further routes on the data port (an encrypted inference route, say) with the inference core.</summary>
    public Action<IEndpointRouteBuilder, IInferenceService>? MapEndpoints { get; init; }

    /// <summary>Serve the KServe v2 REST API. Default true.</summary>
    public bool EnableRest { get; init; } = true;

    /// <summary>Serve the KServe v2 gRPC API (needs HTTP/2 on the endpoint). Default true.</summary>
    public bool EnableGrpc { get; init; } = true;

    /// <summary>
    /// The metrics and health endpoint (<c>/metrics</c>, <c>/healthz</c>, <c>/readyz</c>), on its own
    /// port so that it can be exposed to monitoring without exposing inference. Null: none.
    /// </summary>
    public Uri? MetricsUrl { get; init; } = new("http://127.0.0.1:0");

    /// <summary>Largest request body (REST) or message (gRPC). Default 64 MiB; larger gets 413 / ResourceExhausted.</summary>
    public long MaxRequestBytes { get; init; } = 64L * 1024 * 1024;
}

/// <summary>A data endpoint: URL and HTTP versions.</summary>
/// <param name="Protocols">
/// Null: HTTP/1.1 and HTTP/2 over https (ALPN picks per connection), HTTP/1.1 over http. A
/// cleartext endpoint offers one version: Http1 (REST clients) or Http2 (gRPC clients, which speak
/// HTTP/2 with prior knowledge); Kestrel cannot tell them apart on one cleartext port.
/// </param>
public sealed record InferenceEndpoint(Uri Url, HttpProtocols? Protocols = null)
{
    /// <summary>The HTTP versions this endpoint offers.</summary>
    public HttpProtocols EffectiveProtocols => Protocols ?? (Url.Scheme == Uri.UriSchemeHttps ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1);

    /// <summary>True if gRPC clients can use it (it offers HTTP/2).</summary>
    public bool ServesGrpc => EffectiveProtocols.HasFlag(HttpProtocols.Http2);

    /// <summary>True if HTTP/1.1 REST clients can use it.</summary>
    public bool ServesHttp1 => EffectiveProtocols.HasFlag(HttpProtocols.Http1);
}
