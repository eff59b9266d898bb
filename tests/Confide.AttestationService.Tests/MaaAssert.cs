using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Confide.AttestationService.Tests;

internal static class MaaAssert
{
    /// <summary>An Azure Attestation error: the status, <c>{"error":{"code","message"}}</c> and the x-ms-error-code header.</summary>
    public static async Task ErrorAsync(HttpResponseMessage response, string code, string messagePart, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        using (response)
        {
            string body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(status == response.StatusCode, $"expected {status}, got {response.StatusCode}: {body}");
            JsonElement error = JsonDocument.Parse(body).RootElement.GetProperty("error");
            Assert.Equal(code, error.GetProperty("code").GetString());
            Assert.Contains(messagePart, error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal(code, response.Headers.GetValues("x-ms-error-code").Single());
        }
    }

    /// <summary>A 200 with <c>{"token": ...}</c>; the token, parsed.</summary>
    public static async Task<JsonWebToken> TokenAsync(HttpResponseMessage response)
    {
        using (response)
        {
            string body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body}");
            return new JsonWebToken(JsonDocument.Parse(body).RootElement.GetProperty("token").GetString());
        }
    }
}
