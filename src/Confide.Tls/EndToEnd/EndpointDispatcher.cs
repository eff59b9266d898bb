using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Routing.Template;

namespace Confide.Tls.EndToEnd;

/// <summary>
/// Runs an opened end-to-end request against the application's own endpoints, in process: the
/// route is matched among the endpoints of an <see cref="IEndpointRouteBuilder"/> and its
/// delegate runs on a fresh <see cref="HttpContext"/> whose body is the request's. The plaintext
/// never touches a socket; every route of the server is reachable the same way as over TLS.
/// </summary>
public static class EndpointDispatcher
{
    /// <param name="routes">The application's routes (the end-to-end routes themselves are never dispatched to).</param>
    /// <param name="services">The application's services, for the handlers.</param>
    /// <param name="excludedPrefix">A path prefix not reachable this way (the end-to-end routes).</param>
    public static Func<EndToEndRequest, CancellationToken, Task<EndToEndResponse>> Create(IEndpointRouteBuilder routes, IServiceProvider services, string excludedPrefix)
    {
        // A data source may build its endpoints anew at every read (minimal APIs do: ~ms each), so
        // the route table is read once, at the first request, when every route is mapped.
        var table = new Lazy<(RouteEndpoint Endpoint, TemplateMatcher Matcher, IHttpMethodMetadata? Methods)[]>(() =>
            [.. routes.DataSources.SelectMany(source => source.Endpoints).OfType<RouteEndpoint>()
                .Select(e => (e, new TemplateMatcher(TemplateParser.Parse(e.RoutePattern.RawText ?? string.Empty), new RouteValueDictionary()), e.Metadata.GetMetadata<IHttpMethodMetadata>()))]);
        return async (request, cancellationToken) =>
        {
            string path = request.Path.Split('?', 2)[0];
            if (path.StartsWith(excludedPrefix, StringComparison.OrdinalIgnoreCase))
            {
                return Text(StatusCodes.Status404NotFound, "The end-to-end routes cannot be reached through an end-to-end message.");
            }

            foreach ((RouteEndpoint endpoint, TemplateMatcher matcher, IHttpMethodMetadata? methods) in table.Value)
            {
                if (methods is not null && !methods.HttpMethods.Contains(request.Method, StringComparer.OrdinalIgnoreCase))
                {
                    continue;
                }

                var values = new RouteValueDictionary();
                if (!matcher.TryMatch(path, values) || !ConstraintsHold(endpoint.RoutePattern, values))
                {
                    continue;
                }

                var context = new DefaultHttpContext { RequestServices = services };
                context.Request.Method = request.Method;
                context.Request.Path = path;
                context.Request.Scheme = "https";
                context.Request.ContentType = request.ContentType;
                context.Request.ContentLength = request.Body.Length;
                context.Request.Body = new MemoryStream(request.Body, writable: false);
                context.Request.RouteValues = values;
                context.RequestAborted = cancellationToken;
                var response = new MemoryStream();
                context.Response.Body = response;
                context.SetEndpoint(endpoint);
                await endpoint.RequestDelegate!(context).ConfigureAwait(false);
                return new EndToEndResponse(context.Response.StatusCode, context.Response.ContentType ?? "application/octet-stream", response.ToArray());
            }

            return Text(StatusCodes.Status404NotFound, $"No route for {request.Method} {path}.");
        };
    }

    private static bool ConstraintsHold(RoutePattern pattern, RouteValueDictionary values) =>
        pattern.ParameterPolicies.Count == 0 || pattern.Parameters.All(p => values.ContainsKey(p.Name) || p.IsOptional || p.Default is not null);

    private static EndToEndResponse Text(int status, string message) =>
        new(status, "application/json", System.Text.Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new { error = message })));
}
