using Microsoft.AspNetCore.Http;

namespace Confide.AttestationService.Http;

/// <summary>
/// Azure Attestation's error body, <c>{"error":{"code","message"}}</c>, with the status and the
/// <c>x-ms-error-code</c> header. Every refusal is one of these: never a 500, never a token.
/// </summary>
internal static class MaaError
{
    public static IResult Create(int status, string code, string message) =>
        new ErrorResult(status, code, message);

    public static IResult BadRequest(string code, string message) => Create(StatusCodes.Status400BadRequest, code, message);

    private sealed class ErrorResult(int status, string code, string message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.Headers["x-ms-error-code"] = code;
            return httpContext.Response.WriteAsJsonAsync(new { error = new { code, message } });
        }
    }
}
