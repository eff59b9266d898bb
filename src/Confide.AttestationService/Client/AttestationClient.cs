using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Confide.AttestationService.Tokens;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Client;

/// <summary>
/// A client for an Azure-Attestation-compatible service (Confide's or Microsoft's), in the style of
/// the Azure SDK, that validates every token strictly: RS256 signed by a key the service publishes
/// at <c>/certs</c> (matched by <c>kid</c>), issued by the endpoint itself, within its lifetime.
/// An unsigned token is accepted only as the answer to a draft-policy request.
/// </summary>
public sealed class AttestationClient : IDisposable
{
    private readonly Uri _endpoint;
    private readonly AttestationClientOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    public AttestationClient(Uri endpoint, AttestationClientOptions? options = null)
    {
        _endpoint = new Uri(endpoint.ToString().TrimEnd('/') + "/");
        _options = options ?? new AttestationClientOptions();
        _ownsHttp = _options.HttpClient is null;
        _http = _options.HttpClient ?? new HttpClient();
    }

    /// <summary>The issuer tokens must carry: the endpoint without a trailing slash.</summary>
    public string Issuer => _endpoint.ToString().TrimEnd('/');

    /// <summary>Attests an SGX quote; returns the validated token's claims.</summary>
    /// <exception cref="AttestationClientException">The service refused (its error code and message), or the token did not validate.</exception>
    public Task<AttestationResult> AttestSgxEnclaveAsync(ReadOnlyMemory<byte> quote, RuntimeData? runtimeData = null, string? nonce = null, string? draftPolicy = null, CancellationToken cancellationToken = default) =>
        AttestAsync("attest/SgxEnclave", "quote", quote, runtimeData, nonce, draftPolicy, cancellationToken);

    /// <summary>Attests an Open Enclave report (16-byte header, then the SGX quote).</summary>
    public Task<AttestationResult> AttestOpenEnclaveAsync(ReadOnlyMemory<byte> report, RuntimeData? runtimeData = null, string? nonce = null, string? draftPolicy = null, CancellationToken cancellationToken = default) =>
        AttestAsync("attest/OpenEnclave", "report", report, runtimeData, nonce, draftPolicy, cancellationToken);

    /// <summary>Attests a TDX quote (<c>/attest/TdxVm</c>, whose contract starts at api-version 2025-06-01).</summary>
    public Task<AttestationResult> AttestTdxVmAsync(ReadOnlyMemory<byte> quote, RuntimeData? runtimeData = null, string? nonce = null, CancellationToken cancellationToken = default) =>
        AttestAsync("attest/TdxVm", "quote", quote, runtimeData, nonce, draftPolicy: null, cancellationToken, apiVersion: "2025-06-01");

    private async Task<AttestationResult> AttestAsync(string path, string evidenceField, ReadOnlyMemory<byte> evidence, RuntimeData? runtimeData, string? nonce, string? draftPolicy, CancellationToken cancellationToken, string? apiVersion = null)
    {
        var body = new Dictionary<string, object> { [evidenceField] = Base64UrlEncoder.Encode(evidence.ToArray()) };
        if (runtimeData is not null)
        {
            body["runtimeData"] = new { data = Base64UrlEncoder.Encode(runtimeData.Data), dataType = runtimeData.DataType == RuntimeDataType.Json ? "JSON" : "Binary" };
        }

        if (nonce is not null)
        {
            body["nonce"] = nonce;
        }

        if (draftPolicy is not null)
        {
            body["draftPolicyForAttestation"] = draftPolicy;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_endpoint, $"{path}?api-version={apiVersion ?? _options.ApiVersion}")) { Content = JsonContent.Create(body) };
        string token = await SendForTokenAsync(request, cancellationToken).ConfigureAwait(false);
        return await ValidateAsync(token, allowUnsigned: draftPolicy is not null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a request whose answer is <c>{"token": ...}</c>; returns the token, unvalidated.</summary>
    internal async Task<string> SendForTokenAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        string text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw ServiceError((int)response.StatusCode, text);
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            return document.RootElement.GetProperty("token").GetString() ?? throw new JsonException("token is null");
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new AttestationClientException("InvalidResponse", $"The service's response has no token: {ex.Message}", (int)response.StatusCode);
        }
    }

    internal Uri Endpoint => _endpoint;

    internal string ApiVersion => _options.ApiVersion;

    /// <summary>Validates a token from this service: signature by a published key, issuer, lifetime.</summary>
    public async Task<AttestationResult> ValidateAsync(string token, bool allowUnsigned = false, CancellationToken cancellationToken = default)
    {
        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (ArgumentException ex)
        {
            throw new AttestationClientException("InvalidToken", $"The token is not a JWT: {ex.Message}");
        }

        bool unsigned = jwt.Alg == "none";
        if (unsigned && !allowUnsigned)
        {
            throw new AttestationClientException("InvalidToken", "The token is unsigned (alg: none); only a draft-policy attestation returns one.");
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidateAudience = false,
            ValidateLifetime = true,
            ClockSkew = _options.ClockSkew,
            LifetimeValidator = (notBefore, expires, _, p) =>
            {
                DateTime now = _options.TimeProvider.GetUtcNow().UtcDateTime;
                return (notBefore is null || notBefore.Value <= now + p.ClockSkew) && expires is not null && now - p.ClockSkew < expires.Value;
            },
            RequireSignedTokens = !unsigned,
            ValidAlgorithms = unsigned ? null : [SecurityAlgorithms.RsaSha256],
        };
        if (unsigned)
        {
            parameters.SignatureValidator = (text, _) => new JsonWebToken(text);
        }
        else
        {
            parameters.IssuerSigningKeys = await SigningKeysAsync(jwt.Kid, cancellationToken).ConfigureAwait(false);
        }

        TokenValidationResult result = await new JsonWebTokenHandler().ValidateTokenAsync(token, parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            throw new AttestationClientException("InvalidToken", $"The token did not validate: {result.Exception?.Message}");
        }

        return new AttestationResult(token, jwt, result.Claims);
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private async Task<IReadOnlyList<SecurityKey>> SigningKeysAsync(string kid, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.GetAsync(new Uri(_endpoint, "certs"), cancellationToken).ConfigureAwait(false);
        string text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw ServiceError((int)response.StatusCode, text);
        }

        var keys = new List<SecurityKey>();
        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            foreach (JsonElement key in document.RootElement.GetProperty("keys").EnumerateArray())
            {
                if (key.GetProperty("kid").GetString() != kid || key.GetProperty("kty").GetString() != "RSA")
                {
                    continue;
                }

                X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(key.GetProperty("x5c")[0].GetString()!));
                keys.Add(new X509SecurityKey(certificate) { KeyId = kid });
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or System.Security.Cryptography.CryptographicException)
        {
            throw new AttestationClientException("InvalidResponse", $"The service's /certs is not a valid key set: {ex.Message}");
        }

        return keys.Count > 0 ? keys : throw new AttestationClientException("InvalidToken", $"The service publishes no RSA key with kid '{kid}'.");
    }

    private static AttestationClientException ServiceError(int status, string text)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            JsonElement error = document.RootElement.GetProperty("error");
            return new AttestationClientException(error.GetProperty("code").GetString() ?? "Unknown", error.GetProperty("message").GetString() ?? "", status);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return new AttestationClientException("Unknown", $"HTTP {status}: {text}", status);
        }
    }
}

/// <summary>A validated attestation token and its claims.</summary>
public sealed record AttestationResult(string Token, JsonWebToken Jwt, IDictionary<string, object> Claims);

/// <summary>An attestation the service refused, or a token that did not validate.</summary>
public sealed class AttestationClientException(string errorCode, string message, int? status = null) : Exception(message)
{
    public string ErrorCode { get; } = errorCode;

    public int? Status { get; } = status;
}
