using System.Net;
using Confide.Inference.Grpc;
using Confide.Inference.Http;
using Confide.Inference.Metrics;
using Confide.Inference.Models;
using Confide.Inference.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Confide.Inference.Hosting;

/// <summary>
/// The inference server: the model repository, the KServe v2 REST and gRPC APIs on the data
/// endpoints, and Prometheus metrics with health checks on a separate port that carries no data.
/// </summary>
public sealed class InferenceServer : IAsyncDisposable
{
    private readonly WebApplication _data;
    private readonly WebApplication? _metricsApp;
    private readonly InferenceService _service;
    private readonly InferenceMetrics _metrics;
    private bool _disposed;

    private InferenceServer(WebApplication data, WebApplication? metricsApp, InferenceService service, InferenceMetrics metrics, IReadOnlyList<Uri> urls, Uri? metricsUrl)
    {
        _data = data;
        _metricsApp = metricsApp;
        _service = service;
        _metrics = metrics;
        Urls = urls;
        MetricsUrl = metricsUrl;
    }

    /// <summary>The data endpoints' URLs with their ports resolved, in the order configured.</summary>
    public IReadOnlyList<Uri> Urls { get; }

    /// <summary>The first data endpoint offering HTTP/1.1 (for REST clients), or null.</summary>
    public Uri? RestUrl { get; private init; }

    /// <summary>The first data endpoint offering HTTP/2 (for gRPC clients), or null.</summary>
    public Uri? GrpcUrl { get; private init; }

    /// <summary>The metrics endpoint's URL (port resolved), or null if disabled.</summary>
    public Uri? MetricsUrl { get; }

    /// <summary>The inference core, for transports hosted elsewhere.</summary>
    public IInferenceService Service => _service;

    public ModelRepository Repository => _service.Repository;

    /// <summary>Loads the models, then starts listening.</summary>
    /// <exception cref="ArgumentException">A bad endpoint URL, no models, https without a certificate or listener hook.</exception>
    /// <exception cref="ModelLoadException">A model failed to load (and failures are fatal).</exception>
    public static async Task<InferenceServer> StartAsync(InferenceServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Endpoints.Count == 0)
        {
            throw new ArgumentException("An inference server needs at least one data endpoint.", nameof(options));
        }

        var endpoints = options.Endpoints.Select(e => (Endpoint: e, Address: ListenAddress(e.Url, options, e))).ToList();
        IPAddress? metricsAddress = options.MetricsUrl is null ? null : ListenAddress(options.MetricsUrl, options, endpoint: null);
        if (options.MaxRequestBytes < 1)
        {
            throw new ArgumentException("MaxRequestBytes must be positive.", nameof(options));
        }

        var descriptors = new List<ModelDescriptor>(options.Models);
        if (options.ModelDirectory is not null)
        {
            descriptors.AddRange(ModelRepository.Scan(options.ModelDirectory));
        }

        ModelRepository repository = await ModelRepository.LoadAsync(descriptors, options.Repository, cancellationToken).ConfigureAwait(false);
        var metrics = new InferenceMetrics(() => repository.AllVersions.Count(v => v.IsReady));
        var service = new InferenceService(repository, options.Service, metrics);
        WebApplication? data = null;
        WebApplication? metricsApp = null;
        try
        {
            var listeners = new ListenOptions[endpoints.Count];
            data = BuildData(options, service, endpoints, listeners);
            ListenOptions? metricsListener = null;
            if (metricsAddress is not null)
            {
                metricsApp = BuildMetrics(options, service, metrics, metricsAddress, l => metricsListener = l);
            }

            await data.StartAsync(cancellationToken).ConfigureAwait(false);
            if (metricsApp is not null)
            {
                await metricsApp.StartAsync(cancellationToken).ConfigureAwait(false);
            }

            // Kestrel writes the bound port back into each ListenOptions, so port 0 resolves per endpoint.
            Uri[] urls = [.. endpoints.Select((e, i) => Resolved(e.Endpoint.Url, listeners[i]))];
            Uri? metricsUrl = options.MetricsUrl is null ? null : Resolved(options.MetricsUrl, metricsListener!);
            return new InferenceServer(data, metricsApp, service, metrics, urls, metricsUrl)
            {
                RestUrl = urls.Where((_, i) => endpoints[i].Endpoint.ServesHttp1).FirstOrDefault(),
                GrpcUrl = urls.Where((_, i) => endpoints[i].Endpoint.ServesGrpc).FirstOrDefault(),
            };
        }
        catch
        {
            await StopAsync(data).ConfigureAwait(false);
            await StopAsync(metricsApp).ConfigureAwait(false);
            service.Dispose();
            metrics.Dispose();
            repository.Dispose();
            throw;
        }
    }

    private static WebApplication BuildData(InferenceServerOptions options, InferenceService service, List<(InferenceEndpoint Endpoint, IPAddress Address)> endpoints, ListenOptions[] listeners)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The REST handler enforces MaxRequestBytes itself so that an oversized body gets the protocol's 413 body.
            kestrel.Limits.MaxRequestBodySize = null;
            for (int i = 0; i < endpoints.Count; i++)
            {
                int index = i;
                (InferenceEndpoint endpoint, IPAddress address) = endpoints[i];
                kestrel.Listen(address, endpoint.Url.Port, listen =>
                {
                    listen.Protocols = endpoint.EffectiveProtocols;
                    if (endpoint.Url.Scheme == Uri.UriSchemeHttps && options.TlsCertificate is not null)
                    {
                        listen.UseHttps(options.TlsCertificate);
                    }

                    options.ConfigureDataListener?.Invoke(endpoint, listen);
                    listeners[index] = listen;
                });
            }
        });
        builder.Services.AddSingleton<IInferenceService>(service);
        if (options.EnableGrpc)
        {
            builder.Services.AddGrpc(grpc =>
            {
                grpc.MaxReceiveMessageSize = (int)Math.Min(options.MaxRequestBytes, int.MaxValue);
                grpc.MaxSendMessageSize = null;
                grpc.EnableDetailedErrors = false;
            });
        }

        options.ConfigureServices?.Invoke(builder.Services);
        WebApplication app = builder.Build();
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !context.Response.HasStarted)
            {
                // A bug, not bad input (every refusal is typed): still the protocol's body, and no details.
                await RestEndpoints.WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "Internal server error.").ConfigureAwait(false);
            }
        });
        if (options.EnableRest)
        {
            app.MapInferenceRest(service, options.MaxRequestBytes);
        }

        if (options.EnableGrpc)
        {
            app.MapGrpcService<GrpcInferenceService>();
        }

        options.MapEndpoints?.Invoke(app, service);
        app.MapFallback((Func<HttpContext, Task>)(context =>
            RestEndpoints.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No route {context.Request.Method} {context.Request.Path} (the KServe v2 API is under /v2).")));
        return app;
    }

    private static WebApplication BuildMetrics(InferenceServerOptions options, InferenceService service, InferenceMetrics metrics, IPAddress address, Action<ListenOptions> capture)
    {
        Uri url = options.MetricsUrl!;
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 1024;
            kestrel.Listen(address, url.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                if (url.Scheme == Uri.UriSchemeHttps)
                {
                    listen.UseHttps(options.TlsCertificate!);
                }

                capture(listen);
            });
        });
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(options.Service.ServerName, serviceVersion: options.Service.ServerVersion))
            .WithMetrics(meters => meters
                .AddMeter(InferenceMetrics.MeterName)
                // Another server in the same process has a meter of the same name: export only this one's.
                .AddView(instrument => ReferenceEquals(instrument.Meter, metrics.Meter) ? null : MetricStreamConfiguration.Drop)
                .AddPrometheusExporter());
        WebApplication app = builder.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", (Func<HttpContext, Task>)(context => Plain(context, service.IsLive ? 200 : 503, service.IsLive ? "live" : "not live")));
        app.MapGet("/readyz", (Func<HttpContext, Task>)(context => Plain(context, service.IsReady ? 200 : 503, service.IsReady ? "ready" : "not ready")));
        app.MapFallback((Func<HttpContext, Task>)(context => Plain(context, 404, "not found")));
        return app;
    }

    private static Task Plain(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text + "\n", context.RequestAborted);
    }

    private static IPAddress ListenAddress(Uri url, InferenceServerOptions options, InferenceEndpoint? endpoint)
    {
        ArgumentNullException.ThrowIfNull(url);
        bool isMetrics = endpoint is null;
        string what = isMetrics ? "The metrics URL" : "A data endpoint URL";
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps) || url.AbsolutePath != "/" || url.Query.Length > 0)
        {
            throw new ArgumentException($"{what} '{url}' must be http:// or https:// with a host and port only, e.g. http://127.0.0.1:8000.", nameof(options));
        }

        IPAddress address = url.IsLoopback && !IPAddress.TryParse(url.Host, out _) ? IPAddress.Loopback
            : IPAddress.TryParse(url.Host.Trim('[', ']'), out IPAddress? parsed) ? parsed
            : throw new ArgumentException($"{what} '{url}' must name an IP address (or localhost), not a host name.", nameof(options));

        if (endpoint is not null && url.Scheme == Uri.UriSchemeHttp && endpoint.EffectiveProtocols == HttpProtocols.Http1AndHttp2)
        {
            throw new ArgumentException($"{what} '{url}' is cleartext and offers HTTP/1.1 and HTTP/2; Kestrel can offer only one of them without TLS. Use Http1 (REST) or Http2 (gRPC), or https.", nameof(options));
        }

        if (url.Scheme == Uri.UriSchemeHttps && options.TlsCertificate is null && (isMetrics || options.ConfigureDataListener is null))
        {
            throw new ArgumentException($"{what} '{url}' is https, but no TlsCertificate is given{(isMetrics ? string.Empty : " and no ConfigureDataListener sets up TLS")}.", nameof(options));
        }

        return address;
    }

    private static Uri Resolved(Uri configured, ListenOptions listener) =>
        new UriBuilder(configured.Scheme, configured.Host, listener.IPEndPoint?.Port ?? configured.Port).Uri;

    private static async Task StopAsync(WebApplication? app)
    {
        if (app is null)
        {
            return;
        }

        try
        {
            await app.StopAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await app.DisposeAsync().ConfigureAwait(false);
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _data.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _service.Stop();
        await StopAsync(_data).ConfigureAwait(false);
        await StopAsync(_metricsApp).ConfigureAwait(false);
        _service.Dispose();
        _metrics.Dispose();
        _service.Repository.Dispose();
    }
}
