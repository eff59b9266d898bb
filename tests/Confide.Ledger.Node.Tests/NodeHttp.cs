using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Confide.Ledger.Node.Tests;

/// <summary>Patient HTTP calls for tests that start whole nodes: nodes come up, elect and join at their own pace.</summary>
internal static class NodeHttp
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The JSON answer of a GET, or null while the node is unreachable or answers an error.</summary>
    public static async Task<JsonObject?> TryGetAsync(HttpClient client, Uri url)
    {
        try
        {
            using HttpResponseMessage response = await client.GetAsync(url, Ct);
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>(Ct) : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>Sends until the answer is a success (or 100 attempts, 100 ms apart); the last answer is returned either way.</summary>
    public static async Task<HttpResponseMessage> RetryAsync(Func<Task<HttpResponseMessage>> send)
    {
        for (int attempt = 0; ; attempt++)
        {
            HttpResponseMessage response;
            try
            {
                response = await send();
            }
            catch (HttpRequestException) when (attempt < 100)
            {
                await Task.Delay(100, Ct);
                continue;
            }

            if (response.IsSuccessStatusCode || attempt == 100)
            {
                return response;
            }

            response.Dispose();
            await Task.Delay(100, Ct);
        }
    }

    public static async Task WaitForAsync(Func<Task<bool>> condition) => await WaitForAsync(async () => await condition() ? new JsonObject() : null);

    /// <summary>Reads until a value comes (30 s at most).</summary>
    public static async Task<JsonObject> WaitForAsync(Func<Task<JsonObject?>> read)
    {
        for (int attempt = 0; attempt < 300; attempt++)
        {
            if (await read() is { } value)
            {
                return value;
            }

            await Task.Delay(100, Ct);
        }

        throw new TimeoutException("Timed out.");
    }
}
