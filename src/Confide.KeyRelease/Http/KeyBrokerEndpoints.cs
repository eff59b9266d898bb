using System.Security.Claims;
using System.Text.Json.Nodes;
using Confide.KeyRelease.Keys;
using Confide.KeyRelease.Release;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Confide.KeyRelease.Http;

/// <summary>
/// Azure Key Vault's key routes (docs/key-release.md): management (bearer token,
/// <see cref="AdminPolicyName"/>) and release (authorized by the attestation token alone).
/// </summary>
public static class KeyBrokerEndpoints
{
    /// <summary>The authorization policy management routes require (an authenticated administrator).</summary>
    public const string AdminPolicyName = "KeyBrokerAdministrator";

    /// <summary>The api-versions accepted (and none at all).</summary>
    public static readonly IReadOnlySet<string> ApiVersions = new HashSet<string>(StringComparer.Ordinal) { "7.3", "7.4", "7.5" };

    /// <summary>What a release response's <c>request.api-version</c> says when the request named none.</summary>
    public const string DefaultApiVersion = "7.5";

    public static IEndpointRouteBuilder MapKeyBroker(this IEndpointRouteBuilder routes, KeyManagement management, KeyReleaseEngine release, long maxRequestBytes)
    {
        // Typed as Func, not RequestDelegate, so that the returned IResult is written to the response.
        routes.MapPost("/keys/{name}/create", (Func<HttpContext, Task<IResult>>)(context =>
            ChangeAsync(context, "create", management, maxRequestBytes, (name, body, admin) => management.Create(name, body, admin))))
            .RequireAuthorization(AdminPolicyName);
        routes.MapPut("/keys/{name}", (Func<HttpContext, Task<IResult>>)(context =>
            ChangeAsync(context, "import", management, maxRequestBytes, (name, body, admin) => management.Import(name, body, admin))))
            .RequireAuthorization(AdminPolicyName);
        routes.MapPost("/keys/{name}/rotate", (Func<HttpContext, Task<IResult>>)(context =>
            ChangeAsync(context, "rotate", management, maxRequestBytes, (name, _, admin) => management.Rotate(name, admin))))
            .RequireAuthorization(AdminPolicyName);
        routes.MapGet("/keys", (Func<HttpContext, IResult>)(context => Read(context, management.List)))
            .RequireAuthorization(AdminPolicyName);
        routes.MapGet("/keys/{name}", (Func<HttpContext, IResult>)(context => Read(context, () => management.Get(Route(context, "name"), null))))
            .RequireAuthorization(AdminPolicyName);
        routes.MapGet("/keys/{name}/versions", (Func<HttpContext, IResult>)(context => Read(context, () => management.ListVersions(Route(context, "name")))))
            .RequireAuthorization(AdminPolicyName);
        routes.MapGet("/keys/{name}/{version}", (Func<HttpContext, IResult>)(context => Read(context, () => management.Get(Route(context, "name"), Route(context, "version")))))
            .RequireAuthorization(AdminPolicyName);

        routes.MapPost("/keys/{name}/release", (Func<HttpContext, Task<IResult>>)(context => ReleaseAsync(context, release, maxRequestBytes, version: null)));
        routes.MapPost("/keys/{name}/{version}/release", (Func<HttpContext, Task<IResult>>)(context => ReleaseAsync(context, release, maxRequestBytes, Route(context, "version"))));
        return routes;
    }

    /// <summary>The 401 for a management call without a valid bearer token.</summary>
    public static Task WriteUnauthorizedAsync(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return KeyVaultError.Write(context, StatusCodes.Status401Unauthorized, KeyBrokerErrorCodes.Unauthorized, $"Access to {context.Request.Path} requires a valid administrator bearer token.");
    }

    /// <summary>The 403 for an authenticated caller no authorization policy admits.</summary>
    public static Task WriteForbiddenAsync(HttpContext context) =>
        KeyVaultError.Write(context, StatusCodes.Status403Forbidden, KeyBrokerErrorCodes.Forbidden, $"The caller may not use {context.Request.Path}.");

    private static async Task<IResult> ReleaseAsync(HttpContext context, KeyReleaseEngine release, long limit, string? version)
    {
        string name = Route(context, "name");
        try
        {
            string apiVersion = ApiVersion(context);
            byte[] body = await ReadBodyAsync(context, limit).ConfigureAwait(false);
            string jws = await release.ReleaseAsync(name, version, apiVersion, body, context.RequestAborted).ConfigureAwait(false);
            return Json(new JsonObject { ["value"] = jws });
        }
        catch (KeyBrokerException ex)
        {
            if (ex.Data.Contains(BeforeEngine))
            {
                release.RecordRefusal(name, version, ex);
            }

            return KeyVaultError.Create(ex);
        }
    }

    private static async Task<IResult> ChangeAsync(HttpContext context, string operation, KeyManagement management, long limit, Func<string, byte[], string, JsonObject> change)
    {
        string name = Route(context, "name");
        string administrator = Administrator(context.User);
        byte[] body = [];
        try
        {
            ApiVersion(context);
            body = await ReadBodyAsync(context, limit).ConfigureAwait(false);
            return Json(change(name, body, administrator));
        }
        catch (KeyBrokerException ex)
        {
            if (ex.Data.Contains(BeforeEngine))
            {
                management.RecordRefusal(operation, name, administrator, ex);
            }

            return KeyVaultError.Create(ex);
        }
        finally
        {
            // An import's body is a private key in the clear.
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(body);
        }
    }

    private static IResult Read(HttpContext context, Func<JsonObject> read)
    {
        try
        {
            ApiVersion(context);
            return Json(read());
        }
        catch (KeyBrokerException ex)
        {
            return KeyVaultError.Create(ex);
        }
    }

    /// <summary>Marks a refusal raised here, before the operation ran (and so before it could audit it).</summary>
    private const string BeforeEngine = "confide.before-engine";

    private static string ApiVersion(HttpContext context)
    {
        string? requested = context.Request.Query["api-version"];
        if (string.IsNullOrEmpty(requested))
        {
            return DefaultApiVersion;
        }

        if (ApiVersions.Contains(requested))
        {
            return requested;
        }

        KeyBrokerException refusal = KeyBrokerException.BadParameter($"api-version '{requested}' is not supported; use one of {string.Join(", ", ApiVersions.Order(StringComparer.Ordinal))}, or none.");
        refusal.Data[BeforeEngine] = true;
        throw refusal;
    }

    /// <summary>The administrator for the audit log: the token's <c>sub</c>, else Azure AD's <c>oid</c>, else its <c>appid</c>.</summary>
    private static string Administrator(ClaimsPrincipal user) =>
        user.FindFirst("sub")?.Value ?? user.FindFirst("oid")?.Value ?? user.FindFirst("appid")?.Value ?? "(administrator without a subject)";

    private static string Route(HttpContext context, string name) => context.Request.RouteValues[name] as string ?? string.Empty;

    private static async Task<byte[]> ReadBodyAsync(HttpContext context, long limit)
    {
        if (context.Request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }

        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw TooLarge(limit);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static KeyBrokerException TooLarge(long limit)
    {
        var refusal = new KeyBrokerException(StatusCodes.Status413PayloadTooLarge, KeyBrokerErrorCodes.RequestTooLarge, $"The request body exceeds {limit} bytes.");
        refusal.Data[BeforeEngine] = true;
        return refusal;
    }

    // Written as text: JSON nodes need no serializer configuration, which the slim host restricts.
    private static IResult Json(JsonNode node) => Results.Text(node.ToJsonString(), "application/json; charset=utf-8");
}
