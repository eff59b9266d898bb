using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace Confide.Ledger.Node.Http;

/// <summary>
/// What every caller of a ledger service does alike (users, members, joining nodes): TLS with the
/// service identity pinned, resending what the service did not run, and reading CCF's errors.
/// </summary>
internal static class ServiceHttp
{
    private static readonly TimeSpan DefaultRetryDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>An HTTP client that accepts only nodes whose certificate <paramref name="service"/> issued (no CA involved).</summary>
    public static HttpClient CreatePinnedClient(X509Certificate2 service, X509Certificate2? clientCertificate = null, TimeSpan? timeout = null) => new(new SocketsHttpHandler
    {
        SslOptions =
        {
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 node && ServiceIdentity.IsIssuedBy(node, service),
            ClientCertificates = clientCertificate is null ? null : [clientCertificate],
        },
    })
    { Timeout = timeout ?? TimeSpan.FromSeconds(60) };

    /// <summary>
    /// Sends a request made by <paramref name="request"/>, again while the answer is 503 or no
    /// connection could be made, until <paramref name="retryFor"/> has passed. Both are safe to
    /// resend: a node answers 503 before it runs anything, and a request that never reached a node
    /// ran nowhere. (A connection lost after sending is not resent: the request may have run.)
    /// </summary>
    public static async Task<HttpResponseMessage> SendWithRetriesAsync(HttpClient http, Func<HttpRequestMessage> request, TimeSpan retryFor, TimeProvider time, CancellationToken cancellationToken)
    {
        DateTimeOffset giveUp = time.GetUtcNow() + retryFor;
        while (true)
        {
            using HttpRequestMessage message = request();
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(message, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError && time.GetUtcNow() < giveUp)
            {
                await Task.Delay(DefaultRetryDelay, time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || time.GetUtcNow() >= giveUp)
            {
                return response;
            }

            TimeSpan delay = RetryDelay(response);
            response.Dispose();
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The service's Retry-After, bounded so that a caller neither spins nor sleeps through an election.</summary>
    public static TimeSpan RetryDelay(HttpResponseMessage response)
    {
        TimeSpan? asked = response.Headers.RetryAfter?.Delta;
        return asked is { } delay ? TimeSpan.FromMilliseconds(Math.Clamp(delay.TotalMilliseconds / 4, 50, 1000)) : DefaultRetryDelay;
    }

    /// <summary>CCF's <c>{"error": {"code", "message"}}</c>, or the status and body when the answer is not that.</summary>
    public static (string Code, string Message) ParseError(HttpResponseMessage response, byte[] content)
    {
        JsonNode? parsed = null;
        try
        {
            parsed = content.Length == 0 ? null : JsonNode.Parse(content);
        }
        catch (System.Text.Json.JsonException)
        {
            // Reported as it is below.
        }

        return (Text(parsed?["error"]?["code"]) ?? response.ReasonPhrase ?? "Error", Text(parsed?["error"]?["message"]) ?? Encoding.UTF8.GetString(content));
    }

    /// <summary>A JSON string's value; null for anything else.</summary>
    public static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue(out string? text) ? text : null;
}
