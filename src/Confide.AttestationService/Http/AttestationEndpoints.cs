using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.Attestation.Quotes;
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
public static class AttestationEndpoints
{
    public static IEndpointRouteBuilder MapAttestation(this IEndpointRouteBuilder routes, AttestationEngine engine, AttestationTokenSigner signer, AttestationServiceOptions options)
    {
        // Typed as Func, not RequestDelegate, so that the returned IResult is written to the response.
        routes.MapPost("/attest/SgxEnclave", (Func<HttpContext, Task<IResult>>)(context => AttestAsync(context, engine, options, "quote")));
        routes.MapPost("/attest/OpenEnclave", (Func<HttpContext, Task<IResult>>)(context => AttestAsync(context, engine, options, "report")));
        // Also serves "/certs/" (Gramine asks with the slash): routing ignores a trailing slash.
        routes.MapGet("/certs", () => Jwks(signer));
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

    private static IResult Jwks(AttestationTokenSigner signer) => JsonText(new JsonObject { ["keys"] = new JsonArray(signer.ToJwk()) });

    // Written as text: JSON nodes need no serializer configuration, which the host may restrict.
    private static IResult JsonText(JsonNode node) => Results.Text(node.ToJsonString(), "application/json");

    private static async Task<IResult> AttestAsync(HttpContext context, AttestationEngine engine, AttestationServiceOptions options, string evidenceField)
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
            return MaaError.BadRequest(ex.Code, ex.Message);
        }

        AttestOutcome outcome = await engine.AttestSgxAsync(request, context.RequestAborted).ConfigureAwait(false);
        return outcome.Token is { } token
            ? Results.Json(new { token })
            : MaaError.BadRequest(outcome.ErrorCode!, outcome.ErrorMessage!);
    }

    private static async Task<AttestRequest> ReadRequestAsync(HttpContext context, long limit, string evidenceField)
    {
        byte[] body;
        using (var buffer = new MemoryStream())
        {
            byte[] chunk = new byte[16 * 1024];
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    throw new BadRequestException("RequestTooLarge", $"The request body exceeds {limit} bytes.");
                }

                buffer.Write(chunk, 0, read);
            }

            body = buffer.ToArray();
        }

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

    private sealed class BadRequestException(string code, string message) : Exception(message)
    {
        public string Code { get; } = code;
    }
}
