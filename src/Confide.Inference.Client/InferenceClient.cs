using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.Tls.EndToEnd;
using Confide.Tls.Hosting;
using Confide.Tls.Verification;

namespace Confide.Inference.Client;

/// <summary>
/// A client of the confidential inference server speaking the Open Inference Protocol (KServe v2
/// REST, JSON tensors). Nothing is sent before the server's enclave is verified: over attested TLS
/// the handshake fails first; in end-to-end mode the server's key is verified before a session is
/// made. Requests and answers are the protocol's JSON documents.
/// </summary>
public sealed class InferenceClient : IDisposable
{
    private readonly Uri _endpoint;
    private readonly InferenceClientOptions _options;
    private readonly HttpClient _http;
    private readonly EndToEndClient? _endToEnd;

    /// <exception cref="ArgumentException">An http endpoint without end-to-end mode: nothing would protect or verify the requests.</exception>
    public InferenceClient(Uri endpoint, InferenceClientOptions options)
    {
        if (!options.EndToEnd && endpoint.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"'{endpoint}' is not https: without end-to-end mode the requests are protected, and the enclave verified, only by attested TLS.", nameof(endpoint));
        }

        _endpoint = new Uri(endpoint.ToString().TrimEnd('/') + "/");
        _options = options;
        HttpMessageHandler handler = options.Handler ?? (options.EndToEnd ? new SocketsHttpHandler() : new SocketsHttpHandler().UseAttestedTls(options.Verifier));
        _http = new HttpClient(handler, disposeHandler: options.Handler is null) { MaxResponseContentBufferSize = options.MaxResponseBytes };
        if (options.EndToEnd)
        {
            _endToEnd = new EndToEndClient(_http, new Uri(_endpoint, options.EndToEndPrefix.TrimStart('/')), options.Verifier);
        }
    }

    /// <summary>The server's enclave as verified (after the first call).</summary>
    public AttestedPeer? Server => _endToEnd?.Server ?? _options.Verifier.VerifiedPeers.FirstOrDefault();

    /// <summary><c>GET /v2</c>: the server metadata.</summary>
    public Task<JsonObject> GetServerMetadataAsync(CancellationToken cancellationToken = default) => SendAsync("GET", "v2", null, cancellationToken);

    /// <summary><c>GET /v2/models/{name}[/versions/{version}]</c>: inputs and outputs.</summary>
    public Task<JsonObject> GetModelMetadataAsync(string model, string? version = null, CancellationToken cancellationToken = default) =>
        SendAsync("GET", ModelPath(model, version), null, cancellationToken);

    /// <summary><c>POST .../infer</c> with an inference request document (<c>{"inputs":[{"name","shape","datatype","data"}], ...}</c>).</summary>
    /// <exception cref="InferenceClientException">The server answered with the protocol's error.</exception>
    public Task<JsonObject> InferAsync(string model, JsonObject request, string? version = null, CancellationToken cancellationToken = default) =>
        SendAsync("POST", ModelPath(model, version) + "/infer", request, cancellationToken);

    public void Dispose()
    {
        _endToEnd?.Dispose();
        _http.Dispose();
    }

    private static string ModelPath(string model, string? version) =>
        "v2/models/" + Uri.EscapeDataString(model) + (version is null ? string.Empty : "/versions/" + Uri.EscapeDataString(version));

    private async Task<JsonObject> SendAsync(string method, string path, JsonObject? body, CancellationToken cancellationToken)
    {
        int status;
        byte[] answer;
        if (_endToEnd is not null)
        {
            byte[] payload = body is null ? [] : Encoding.UTF8.GetBytes(body.ToJsonString());
            EndToEndResponse response = await _endToEnd.SendAsync(new EndToEndRequest(method, "/" + path, "application/json", payload), cancellationToken).ConfigureAwait(false);
            (status, answer) = (response.Status, response.Body);
        }
        else
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(_endpoint, path));
            if (body is not null)
            {
                request.Content = JsonContent.Create(body);
            }

            using HttpResponseMessage response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            (status, answer) = ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        }

        JsonObject? document;
        try
        {
            document = answer.Length == 0 ? [] : JsonNode.Parse(answer) as JsonObject;
        }
        catch (JsonException ex)
        {
            throw new InferenceClientException(status, $"The server's answer is not JSON: {ex.Message}");
        }

        if (status is < 200 or >= 300)
        {
            throw new InferenceClientException(status, document?["error"]?.GetValue<string>() ?? $"HTTP {status}");
        }

        return document ?? throw new InferenceClientException(status, "The server's answer is not a JSON object.");
    }
}

/// <summary>The server refused a request (the protocol's <c>{"error"}</c>), with the HTTP status.</summary>
public sealed class InferenceClientException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
