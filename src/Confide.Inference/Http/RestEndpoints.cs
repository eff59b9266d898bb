using System.Globalization;
using Confide.Inference.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Confide.Inference.Http;

/// <summary>
/// The KServe v2 REST routes (docs/inference.md) over an <see cref="IInferenceService"/>. Every
/// refusal is <c>{"error": "..."}</c> with 400, 404, 413 or 503; a 500 only for a model that fails
/// on inputs that passed every check, or a bug.
/// </summary>
public static class RestEndpoints
{
    /// <summary>The protocol label REST requests carry in metrics.</summary>
    public const string Protocol = "rest";

    public static IEndpointRouteBuilder MapInferenceRest(this IEndpointRouteBuilder routes, IInferenceService service, long maxRequestBytes)
    {
        ArgumentNullException.ThrowIfNull(service);
        routes.MapGet("/v2/health/live", (Func<HttpContext, Task>)(context =>
            Json(context, service.IsLive ? 200 : 400, RestCodec.Write(w => { w.WriteStartObject(); w.WriteBoolean("live", service.IsLive); w.WriteEndObject(); }))));
        routes.MapGet("/v2/health/ready", (Func<HttpContext, Task>)(context =>
        {
            bool ready = service.IsReady;
            return Json(context, ready ? 200 : 400, RestCodec.Write(w => { w.WriteStartObject(); w.WriteBoolean("ready", ready); w.WriteEndObject(); }));
        }));
        routes.MapGet("/v2", (Func<HttpContext, Task>)(context => Json(context, 200, RestCodec.EncodeServerMetadata(service.GetServerMetadata()))));
        routes.MapGet("/v2/models/{name}", (Func<HttpContext, Task>)(context => Guard(context, () => Metadata(context, service, version: null))));
        routes.MapGet("/v2/models/{name}/versions/{version}", (Func<HttpContext, Task>)(context => Guard(context, () => Metadata(context, service, Route(context, "version")))));
        routes.MapGet("/v2/models/{name}/ready", (Func<HttpContext, Task>)(context => Guard(context, () => Ready(context, service, version: null))));
        routes.MapGet("/v2/models/{name}/versions/{version}/ready", (Func<HttpContext, Task>)(context => Guard(context, () => Ready(context, service, Route(context, "version")))));
        routes.MapPost("/v2/models/{name}/infer", (Func<HttpContext, Task>)(context => InferAsync(context, service, maxRequestBytes, version: null)));
        routes.MapPost("/v2/models/{name}/versions/{version}/infer", (Func<HttpContext, Task>)(context => InferAsync(context, service, maxRequestBytes, Route(context, "version"))));
        return routes;
    }

    /// <summary>Writes the protocol's error body.</summary>
    public static Task WriteErrorAsync(HttpContext context, int status, string message) => Json(context, status, RestCodec.EncodeError(message));

    private static Task Metadata(HttpContext context, IInferenceService service, string? version) =>
        Json(context, 200, RestCodec.EncodeModelMetadata(service.GetModelMetadata(Route(context, "name"), version)));

    private static Task Ready(HttpContext context, IInferenceService service, string? version)
    {
        string name = Route(context, "name");
        bool ready = service.IsModelReady(name, version);
        return Json(context, ready ? 200 : 400, RestCodec.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteBoolean("ready", ready);
            w.WriteEndObject();
        }));
    }

    private static async Task InferAsync(HttpContext context, IInferenceService service, long limit, string? version)
    {
        InferenceRequest request;
        try
        {
            long? jsonLength = HeaderLength(context);
            byte[] body = await ReadBodyAsync(context, limit).ConfigureAwait(false);
            request = RestCodec.DecodeInferRequest(Route(context, "name"), version, body, jsonLength, Protocol);
        }
        catch (InferenceException ex)
        {
            service.RecordRejected(Protocol, ex.Error);
            await WriteErrorAsync(context, ex.HttpStatus, ex.Message).ConfigureAwait(false);
            return;
        }
        catch (BadHttpRequestException ex)
        {
            service.RecordRejected(Protocol, InferenceError.InvalidRequest);
            await WriteErrorAsync(context, ex.StatusCode == 413 ? 413 : 400, $"The request body could not be read: {ex.Message}").ConfigureAwait(false);
            return;
        }

        await Guard(context, async () =>
        {
            InferenceResponse response = await service.InferAsync(request, context.RequestAborted).ConfigureAwait(false);
            RestResponse encoded = RestCodec.EncodeInferResponse(request, response);
            if (encoded.JsonLength is int length)
            {
                context.Response.Headers[RestCodec.HeaderLengthHeader] = length.ToString(CultureInfo.InvariantCulture);
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = encoded.ContentType;
            context.Response.ContentLength = encoded.Body.Length;
            await context.Response.Body.WriteAsync(encoded.Body, context.RequestAborted).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    private static async Task Guard(HttpContext context, Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (InferenceException ex) when (!context.Response.HasStarted)
        {
            await WriteErrorAsync(context, ex.HttpStatus, ex.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away; there is nobody to answer.
        }
    }

    private static long? HeaderLength(HttpContext context)
    {
        string? value = context.Request.Headers[RestCodec.HeaderLengthHeader];
        if (value is null)
        {
            return null;
        }

        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long length))
        {
            throw InferenceException.Request($"{RestCodec.HeaderLengthHeader} must be a non-negative integer, not '{(value.Length > 20 ? value[..20] + "..." : value)}'.");
        }

        return length;
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context, long limit)
    {
        long? declared = context.Request.ContentLength;
        if (declared > limit)
        {
            throw TooLarge(declared.Value, limit);
        }

        // Content-Length (checked above) sizes the buffer exactly; a chunked body grows up to the limit.
        using var buffer = declared is long known ? new MemoryStream(checked((int)known)) : new MemoryStream();
        byte[] chunk = new byte[64 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw TooLarge(buffer.Length + read, limit);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
    }

    private static InferenceException TooLarge(long size, long limit) =>
        new(InferenceError.RequestTooLarge, $"The request body is {(size > limit ? "more than " + limit.ToString(CultureInfo.InvariantCulture) : size.ToString(CultureInfo.InvariantCulture))} bytes; this server accepts at most {limit}.");

    private static async Task Json(HttpContext context, int status, byte[] body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private static string Route(HttpContext context, string name) => context.Request.RouteValues[name] as string ?? string.Empty;
}
