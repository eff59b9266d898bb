using Microsoft.AspNetCore.Http;

namespace Confide.KeyRelease.Http;

/// <summary>Azure Key Vault's error body, <c>{"error":{"code","message"}}</c>, with the status. Never a 500.</summary>
internal static class KeyVaultError
{
    public static IResult Create(KeyBrokerException refusal) => new ErrorResult(refusal.Status, refusal.Code, refusal.Message);

    public static Task Write(HttpContext context, int status, string code, string message) =>
        new ErrorResult(status, code, message).ExecuteAsync(context);

    private sealed class ErrorResult(int status, string code, string message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = "application/json; charset=utf-8";
            string body = new System.Text.Json.Nodes.JsonObject
            {
                ["error"] = new System.Text.Json.Nodes.JsonObject { ["code"] = code, ["message"] = message },
            }.ToJsonString();
            return httpContext.Response.WriteAsync(body);
        }
    }
}
