using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Confide.AttestationService.Policies;
using Confide.AttestationService.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Client;

/// <summary>
/// Manages an Azure-Attestation-compatible service's policies and policy-management certificates
/// (the Azure SDK's <c>AttestationAdministrationClient</c>). Every call carries a bearer token from
/// <c>getToken</c>; every answer is a token validated as strictly as an attestation token, and
/// checked against what was sent (the policy token hash, the certificate thumbprint).
/// </summary>
public sealed class AttestationAdministrationClient : IDisposable
{
    private readonly AttestationClient _client;
    private readonly Func<CancellationToken, ValueTask<string>> _getToken;

    /// <param name="getToken">Returns a bearer token for the service's administrators (e.g. from Azure AD, or <c>confide attestation admin-token</c>).</param>
    public AttestationAdministrationClient(Uri endpoint, Func<CancellationToken, ValueTask<string>> getToken, AttestationClientOptions? options = null)
    {
        _client = new AttestationClient(endpoint, options);
        _getToken = getToken;
    }

    /// <summary>The policy text in force for <paramref name="type"/>.</summary>
    public async Task<string> GetPolicyAsync(AttestationType type, CancellationToken cancellationToken = default)
    {
        AttestationResult result = await SendAsync(HttpMethod.Get, $"policies/{type}", body: null, cancellationToken).ConfigureAwait(false);
        string jws = Claim(result, "x-ms-policy");
        try
        {
            using JsonDocument payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jws.Split('.')[1]));
            return Base64UrlEncoder.Decode(payload.RootElement.GetProperty("AttestationPolicy").GetString()!);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or IndexOutOfRangeException or InvalidOperationException)
        {
            throw new AttestationClientException("InvalidResponse", $"x-ms-policy is not a policy JWS: {ex.Message}");
        }
    }

    /// <summary>Sets the policy for <paramref name="type"/>, signed by <paramref name="signer"/> (its private key) when given.</summary>
    public Task<PolicyModificationResult> SetPolicyAsync(AttestationType type, string policyText, X509Certificate2? signer = null, CancellationToken cancellationToken = default) =>
        ModifyPolicyAsync(HttpMethod.Put, $"policies/{type}", Jws.CreatePolicy(policyText, signer), cancellationToken);

    /// <summary>Returns <paramref name="type"/> to the service's default policy.</summary>
    public Task<PolicyModificationResult> ResetPolicyAsync(AttestationType type, X509Certificate2? signer = null, CancellationToken cancellationToken = default) =>
        ModifyPolicyAsync(HttpMethod.Post, $"policies/{type}:reset", Jws.CreatePolicy(null, signer), cancellationToken);

    /// <summary>The policy-management certificates (empty for an AAD-mode instance).</summary>
    public async Task<IReadOnlyList<X509Certificate2>> GetPolicyManagementCertificatesAsync(CancellationToken cancellationToken = default)
    {
        AttestationResult result = await SendAsync(HttpMethod.Get, "certificates", body: null, cancellationToken).ConfigureAwait(false);
        try
        {
            JsonElement keys = ((JsonElement)result.Claims["x-ms-policy-certificates"]).GetProperty("keys");
            return [.. keys.EnumerateArray().Select(k => X509CertificateLoader.LoadCertificate(Convert.FromBase64String(k.GetProperty("x5c")[0].GetString()!)))];
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidCastException or InvalidOperationException or FormatException or CryptographicException)
        {
            throw new AttestationClientException("InvalidResponse", $"x-ms-policy-certificates is not a key set: {ex.Message}");
        }
    }

    /// <summary>Adds a policy-management certificate; the request is signed by a current one.</summary>
    public Task<PolicyCertificateModificationResult> AddPolicyManagementCertificateAsync(X509Certificate2 certificate, X509Certificate2 signer, CancellationToken cancellationToken = default) =>
        ModifyCertificatesAsync("certificates:add", certificate, signer, cancellationToken);

    /// <summary>Removes a policy-management certificate (not the last one).</summary>
    public Task<PolicyCertificateModificationResult> RemovePolicyManagementCertificateAsync(X509Certificate2 certificate, X509Certificate2 signer, CancellationToken cancellationToken = default) =>
        ModifyCertificatesAsync("certificates:remove", certificate, signer, cancellationToken);

    public void Dispose() => _client.Dispose();

    private async Task<PolicyModificationResult> ModifyPolicyAsync(HttpMethod method, string path, string jws, CancellationToken cancellationToken)
    {
        AttestationResult result = await SendAsync(method, path, new StringContent(jws, Encoding.ASCII, "text/plain"), cancellationToken).ConfigureAwait(false);
        string expectedHash = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(jws)));
        if (Claim(result, "x-ms-policy-token-hash") != expectedHash)
        {
            throw new AttestationClientException("InvalidResponse", "The service's x-ms-policy-token-hash is not the hash of the policy sent.");
        }

        return new PolicyModificationResult(Claim(result, "x-ms-policy-result"), expectedHash, result);
    }

    private async Task<PolicyCertificateModificationResult> ModifyCertificatesAsync(string path, X509Certificate2 certificate, X509Certificate2 signer, CancellationToken cancellationToken)
    {
        string jws = Jws.CreatePolicyCertificateChange(certificate, signer);
        AttestationResult result = await SendAsync(HttpMethod.Post, path, JsonContentOf(jws), cancellationToken).ConfigureAwait(false);
        string thumbprint = Claim(result, "x-ms-certificate-thumbprint");
        if (!thumbprint.Equals(certificate.Thumbprint, StringComparison.OrdinalIgnoreCase))
        {
            throw new AttestationClientException("InvalidResponse", "The service's x-ms-certificate-thumbprint is not the certificate's.");
        }

        return new PolicyCertificateModificationResult(Claim(result, "x-ms-policycertificates-result"), thumbprint, result);
    }

    private static StringContent JsonContentOf(string jws) => new(JsonSerializer.Serialize(jws), Encoding.UTF8, "application/json");

    private async Task<AttestationResult> SendAsync(HttpMethod method, string path, HttpContent? body, CancellationToken cancellationToken)
    {
        // "./": "certificates:add" alone would read as a URI scheme.
        using var request = new HttpRequestMessage(method, new Uri(_client.Endpoint, $"./{path}?api-version={_client.ApiVersion}")) { Content = body };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await _getToken(cancellationToken).ConfigureAwait(false));
        string token = await _client.SendForTokenAsync(request, cancellationToken).ConfigureAwait(false);
        return await _client.ValidateAsync(token, allowUnsigned: false, cancellationToken).ConfigureAwait(false);
    }

    private static string Claim(AttestationResult result, string name) =>
        result.Claims.TryGetValue(name, out object? value) && value is string text
            ? text
            : throw new AttestationClientException("InvalidResponse", $"The service's result token has no '{name}'.");
}

/// <summary>The outcome of setting or resetting a policy: <c>Updated</c> or <c>Removed</c>, and the hash of the JWS sent.</summary>
public sealed record PolicyModificationResult(string PolicyResult, string PolicyTokenHash, AttestationResult Token);

/// <summary>The outcome of adding or removing a certificate: <c>IsPresent</c> or <c>IsAbsent</c>, and its thumbprint.</summary>
public sealed record PolicyCertificateModificationResult(string CertificateResult, string Thumbprint, AttestationResult Token);
