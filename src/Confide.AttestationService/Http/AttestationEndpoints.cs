using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.Attestation.Quotes;
using Confide.AttestationService.Policies;
using Confide.AttestationService.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Http;

/// <summary>
/// Azure Attestation's data-plane routes (maa.md §1): <c>POST /attest/SgxEnclave</c>,
/// <c>POST /attest/OpenEnclave</c>, <c>GET /certs</c> and <c>GET /.well-known/openid-configuration</c>.
/// </summary>
/// <summary>
/// Azure Attestation's data-plane routes (maa.md §1.2): attestation (anonymous), policy and
/// policy-certificate management (bearer token, <see cref="AdminPolicyName"/>), the signing keys
/// and the OpenID metadata.
/// </summary>
public static class AttestationEndpoints
{
    /// <summary>The authorization policy management routes require (an authenticated bearer token).</summary>
    public const string AdminPolicyName = "AttestationAdministrator";

    public static IEndpointRouteBuilder MapAttestation(this IEndpointRouteBuilder routes, AttestationEngine engine, AttestationTokenSigner signer, PolicyManagement management, AttestationServiceOptions options)
    {
        // Typed as Func, not RequestDelegate, so that the returned IResult is written to the response.
        routes.MapPost("/attest/SgxEnclave", (Func<HttpContext, Task<IResult>>)(context => AttestAsync(context, engine, options, AttestationType.SgxEnclave, "quote")));
        routes.MapPost("/attest/OpenEnclave", (Func<HttpContext, Task<IResult>>)(context => AttestAsync(context, engine, options, AttestationType.OpenEnclave, "report")));
        routes.MapPost("/attest/TdxVm", (Func<HttpContext, Task<IResult>>)(context => AttestAsync(context, engine, options, AttestationType.TdxVm, "quote")));

        // "{type}" and "{type}:reset" are one path segment; parsed here rather than by a complex route template.
        long limit = options.MaxRequestBytes;
        routes.MapGet("/policies/{segment}", (Func<HttpContext, Task<IResult>>)(context =>
            ManageAsync(context, () => Task.FromResult(management.GetPolicy(PolicyType(context, reset: false))))))
            .RequireAuthorization(AdminPolicyName);
        routes.MapPut("/policies/{segment}", (Func<HttpContext, Task<IResult>>)(context =>
            ManageAsync(context, async () => management.SetPolicy(PolicyType(context, reset: false), await ReadJwsBodyAsync(context, limit).ConfigureAwait(false)))))
            .RequireAuthorization(AdminPolicyName);
        routes.MapPost("/policies/{segment}", (Func<HttpContext, Task<IResult>>)(context =>
            ManageAsync(context, async () => management.ResetPolicy(PolicyType(context, reset: true), await ReadJwsBodyAsync(context, limit).ConfigureAwait(false)))))
            .RequireAuthorization(AdminPolicyName);
        routes.MapGet("/certificates", (Func<HttpContext, Task<IResult>>)(context =>
            ManageAsync(context, () => Task.FromResult(management.GetCertificates()))))
            .RequireAuthorization(AdminPolicyName);
        routes.MapPost("/certificates:add", (Func<HttpContext, Task<IResult>>)(context =>
            ManageAsync(context, async () => management.AddCertificate(await ReadJwsBodyAsync(context, limit).ConfigureAwait(false)))))
            .RequireAuthorization(AdminPolicyName);
        routes.MapPost("/certificates:remove", (Func<HttpContext, Task<IResult>>)(context =>
            ManageAsync(context, async () => management.RemoveCertificate(await ReadJwsBodyAsync(context, limit).ConfigureAwait(false)))))
            .RequireAuthorization(AdminPolicyName);

        // Also serves "/certs/" (Gramine asks with the slash): routing ignores a trailing slash.
        routes.MapGet("/certs", () => JsonText(signer.ToJwks()));
        routes.MapGet("/.well-known/openid-configuration", () => JsonText(new JsonObject
        {
            ["issuer"] = engine.Issuer,
            ["jwks_uri"] = engine.Issuer + "/certs",
            ["response_types_supported"] = new JsonArray("token", "none"),
            ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
            ["revocation_endpoint"] = engine.Issuer + "/revoke",
            ["claims_supported"] = new JsonArray("is-debuggable", "sgx-mrsigner", "sgx-mrenclave", "product-id", "svn", "tee"),
        }));
        return routes;
    }

    /// <summary>The 401 Azure Attestation answers a management call without a valid bearer token.</summary>
    public static Task WriteUnauthorizedAsync(HttpContext context) =>
        MaaError.Create(StatusCodes.Status401Unauthorized, "Unauthorized", $"Access to {context.Request.Path} requires a valid JWT bearer token").ExecuteAsync(context);

    // Written as text: JSON nodes need no serializer configuration, which the host may restrict.
    private static IResult JsonText(JsonNode node) => Results.Text(node.ToJsonString(), "application/json");

    private static async Task<IResult> ManageAsync(HttpContext context, Func<Task<string>> operation)
    {
        if (ApiVersions.Problem(context.Request.Query["api-version"]) is { } versionProblem)
        {
            return MaaError.BadRequest("InvalidApiVersion", versionProblem);
        }

        try
        {
            return Results.Json(new { token = await operation().ConfigureAwait(false) });
        }
        catch (BadRequestException ex)
        {
            return MaaError.Create(ex.Status, ex.Code, ex.Message);
        }
        catch (PolicyManagementException ex)
        {
            return MaaError.BadRequest(ex.Code, ex.Message);
        }
    }

    private static AttestationType PolicyType(HttpContext context, bool reset)
    {
        string segment = context.Request.RouteValues["segment"] as string ?? string.Empty;
        string name = segment;
        if (reset)
        {
            name = segment.EndsWith(":reset", StringComparison.Ordinal)
                ? segment[..^":reset".Length]
                : throw new BadRequestException("InvalidOperation", $"POST /policies/{segment}: the only policy action is ':reset', as in /policies/SgxEnclave:reset.", StatusCodes.Status404NotFound);
        }

        return AttestationTypes.TryParse(name, out AttestationType type)
            ? type
            : throw new BadRequestException("InvalidParameter", $"'{name}' is not an attestation type; use one of {string.Join(", ", AttestationTypes.All)}.");
    }

    /// <summary>
    /// A management body: the JWS as raw text (policies, <c>text/plain</c>) or as a JSON string
    /// (certificates, <c>application/json</c>); both forms are accepted for every call.
    /// </summary>
    private static async Task<string> ReadJwsBodyAsync(HttpContext context, long limit)
    {
        byte[] body = await ReadBodyAsync(context, limit).ConfigureAwait(false);
        string text = System.Text.Encoding.UTF8.GetString(body).Trim();
        if (text.StartsWith('"'))
        {
            try
            {
                return JsonSerializer.Deserialize<string>(text) ?? string.Empty;
            }
            catch (JsonException)
            {
                return text;
            }
        }

        return text;
    }

    private static async Task<IResult> AttestAsync(HttpContext context, AttestationEngine engine, AttestationServiceOptions options, AttestationType type, string evidenceField)
    {
        if (ApiVersions.Problem(context.Request.Query["api-version"]) is { } versionProblem)
        {
            return MaaError.BadRequest("InvalidApiVersion", versionProblem);
        }

        if (context.Request.ContentLength > options.MaxRequestBytes)
        {
            return MaaError.Create(StatusCodes.Status413PayloadTooLarge, "RequestTooLarge", $"The request body exceeds {options.MaxRequestBytes} bytes.");
        }

        AttestRequest request;
        try
        {
            request = await ReadRequestAsync(context, options.MaxRequestBytes, evidenceField).ConfigureAwait(false);
        }
        catch (BadRequestException ex)
        {
            return MaaError.Create(ex.Status, ex.Code, ex.Message);
        }

        AttestOutcome outcome = await engine.AttestAsync(type, request, context.RequestAborted).ConfigureAwait(false);
        return outcome.Token is { } token
            ? Results.Json(new { token })
            : MaaError.BadRequest(outcome.ErrorCode!, outcome.ErrorMessage!);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context, long limit)
    {
        if (context.Request.ContentLength > limit)
        {
            throw new BadRequestException("RequestTooLarge", $"The request body exceeds {limit} bytes.", StatusCodes.Status413PayloadTooLarge);
        }

        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new BadRequestException("RequestTooLarge", $"The request body exceeds {limit} bytes.", StatusCodes.Status413PayloadTooLarge);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static async Task<AttestRequest> ReadRequestAsync(HttpContext context, long limit, string evidenceField)
    {
        byte[] body = await ReadBodyAsync(context, limit).ConfigureAwait(false);

        JsonElement root;
        try
        {
            using JsonDocument document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new BadRequestException("InvalidParameter", $"The request body is not valid JSON: {ex.Message}");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new BadRequestException("InvalidParameter", "The request body must be a JSON object.");
        }

        byte[] evidence = Base64Url(root, evidenceField) ?? throw new BadRequestException("InvalidParameter", $"'{evidenceField}' is required.");
        if (evidenceField == "report" && !OpenEnclaveReport.HasHeader(evidence))
        {
            throw new BadRequestException("InvalidParameter", "'report' is not an Open Enclave report (16-byte header, version 1, type 2, then the quote).");
        }

        return new AttestRequest(
            evidence,
            Data(root, "runtimeData"),
            Data(root, "initTimeData"),
            root.TryGetProperty("draftPolicyForAttestation", out JsonElement draft) && draft.ValueKind == JsonValueKind.String ? draft.GetString() : null,
            root.TryGetProperty("nonce", out JsonElement nonce) ? nonce.ValueKind switch
            {
                JsonValueKind.String => nonce.GetString(),
                JsonValueKind.Number => nonce.GetRawText(),
                _ => throw new BadRequestException("InvalidParameter", "'nonce' must be a string or a number."),
            } : null);
    }

    private static RuntimeData? Data(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new BadRequestException("InvalidParameter", $"'{name}' must be an object with 'data' and 'dataType'.");
        }

        byte[] data = Base64Url(value, "data") ?? throw new BadRequestException("InvalidParameter", $"'{name}.data' is required.");
        RuntimeDataType type = value.TryGetProperty("dataType", out JsonElement dataType) ? dataType.GetString() switch
        {
            "Binary" => RuntimeDataType.Binary,
            "JSON" => RuntimeDataType.Json,
            string other => throw new BadRequestException("InvalidParameter", $"'{name}.dataType' is '{other}'; it must be \"Binary\" or \"JSON\"."),
            null => throw new BadRequestException("InvalidParameter", $"'{name}.dataType' must be a string."),
        } : RuntimeDataType.Binary;
        return new RuntimeData(data, type);
    }

    /// <summary>Base64url, padded or not (the JS SDK sends it unpadded, other clients padded).</summary>
    private static byte[]? Base64Url(JsonElement parent, string name)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new BadRequestException("InvalidParameter", $"'{name}' must be a base64url string.");
        }

        try
        {
            return Base64UrlEncoder.DecodeBytes(value.GetString()!.TrimEnd('='));
        }
        catch (FormatException)
        {
            throw new BadRequestException("InvalidParameter", $"'{name}' is not valid base64url.");
        }
    }

    private sealed class BadRequestException(string code, string message, int status = StatusCodes.Status400BadRequest) : Exception(message)
    {
        public string Code { get; } = code;

        public int Status { get; } = status;
    }
}
