using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Confide.Tls.EndToEnd;

/// <summary>
/// The end-to-end routes under a prefix (e.g. <c>/v2/e2e</c>): <c>GET key</c> (the attested key),
/// <c>POST sessions</c> (<c>{"key": base64 client SPKI}</c> → <c>{"session", "random", "confirmation"}</c>)
/// and <c>POST sessions/{id}</c> (a sealed message → the sealed answer). Whatever a relay sees here
/// is ciphertext, the server's public key and its evidence.
/// </summary>
public static class EndToEndEndpoints
{
    public static IEndpointRouteBuilder MapEndToEnd(this IEndpointRouteBuilder routes, string prefix, EndToEndServer server, Func<EndToEndRequest, CancellationToken, Task<EndToEndResponse>> dispatch, long maxMessageBytes = 16 * 1024 * 1024)
    {
        prefix = prefix.TrimEnd('/');
        routes.MapGet(prefix + "/key", () => Results.Text(server.KeyDocument().ToJsonString(), "application/json"));
        routes.MapPost(prefix + "/sessions", (Func<HttpContext, Task<IResult>>)(async context =>
        {
            try
            {
                byte[] body = await ReadAsync(context, 64 * 1024).ConfigureAwait(false);
                byte[] clientKey = Convert.FromBase64String(JsonNode.Parse(body)?["key"]?.GetValue<string>() ?? throw new FormatException("'key' is required"));
                (byte[] id, byte[] random, byte[] confirmation) = server.CreateSession(clientKey);
                return Results.Json(new { session = Convert.ToHexStringLower(id), random = Convert.ToBase64String(random), confirmation = Convert.ToBase64String(confirmation) });
            }
            catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
            {
                return Error(StatusCodes.Status400BadRequest, $"The body must be {{\"key\": <base64 DER SubjectPublicKeyInfo of a P-256 key>}}: {ex.Message}");
            }
            catch (EndToEndException ex)
            {
                return Refusal(ex);
            }
        }));
        routes.MapPost(prefix + "/sessions/{id}", (Func<HttpContext, string, Task<IResult>>)(async (context, id) =>
        {
            try
            {
                byte[] message = await ReadAsync(context, maxMessageBytes).ConfigureAwait(false);
                byte[] answer = await server.HandleAsync(id, message, async (plaintext, ct) =>
                {
                    EndToEndRequest request = EndToEndRequest.Decode(plaintext);
                    return (await dispatch(request, ct).ConfigureAwait(false)).Encode();
                }, context.RequestAborted).ConfigureAwait(false);
                return Results.Bytes(answer, "application/octet-stream");
            }
            catch (EndToEndException ex)
            {
                return Refusal(ex);
            }
        }));
        return routes;
    }

    private static IResult Refusal(EndToEndException ex) => Error(ex.Error switch
    {
        EndToEndError.UnknownSession => StatusCodes.Status404NotFound,
        EndToEndError.Replayed or EndToEndError.OutOfOrder => StatusCodes.Status409Conflict,
        EndToEndError.UntrustedServer => StatusCodes.Status400BadRequest,
        _ when ex.Message.Contains("exceeds", StringComparison.Ordinal) => StatusCodes.Status413PayloadTooLarge,
        _ => StatusCodes.Status400BadRequest,
    }, $"{ex.Error}: {ex.Message}");

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);

    private static async Task<byte[]> ReadAsync(HttpContext context, long limit)
    {
        if (context.Request.ContentLength > limit)
        {
            throw new EndToEndException(EndToEndError.Malformed, $"The body exceeds {limit} bytes.");
        }

        using var buffer = new MemoryStream();
        byte[] chunk = new byte[64 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new EndToEndException(EndToEndError.Malformed, $"The body exceeds {limit} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
