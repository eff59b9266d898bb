using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.AttestationService.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Policies;

/// <summary>
/// The policy and policy-certificate operations of Azure Attestation (maa.md §1.4–1.5), each
/// answering with the signed result token the real service returns. Callers have already been
/// authenticated (bearer token); in isolated mode this class also requires each change to be
/// signed by a policy-management certificate.
/// </summary>
public sealed class PolicyManagement(PolicyStore policies, PolicyCertificateStore certificates, AttestationTokenSigner signer, TimeProvider time)
{
    /// <summary>How long a management result token is valid (Azure Attestation's examples: one hour).</summary>
    public static readonly TimeSpan ResultTokenLifetime = TimeSpan.FromHours(1);

    public PolicyStore Policies => policies;

    public PolicyCertificateStore Certificates => certificates;

    /// <summary><c>GET /policies/{type}</c>: the policy JWS in force, in <c>x-ms-policy</c>.</summary>
    public string GetPolicy(AttestationType type) => Result(new() { ["x-ms-policy"] = policies.Get(type).Jws });

    /// <summary><c>PUT /policies/{type}</c> with a policy JWS.</summary>
    /// <exception cref="PolicyManagementException">Malformed, invalid policy text, or (isolated mode) not signed by a policy-management certificate.</exception>
    public string SetPolicy(AttestationType type, string jws)
    {
        StoredPolicy policy = PolicyStore.ParsePolicyJws(type, jws.Trim());
        RequireAuthorizedSigner(policy.Signer, "policy");
        policies.Set(policy);
        return Result(PolicyResult("Updated", policy.Jws, policy.Signer));
    }

    /// <summary><c>POST /policies/{type}:reset</c> with a JWS whose payload is empty.</summary>
    public string ResetPolicy(AttestationType type, string jws)
    {
        Jws request = PolicyStore.ParseJws(jws.Trim());
        if (request.Payload.Length != 0)
        {
            throw new PolicyManagementException("InvalidParameter", "A policy reset is a JWS with an empty payload.");
        }

        RequireAuthorizedSigner(request.Signer, "policy reset");
        policies.Reset(type);
        return Result(PolicyResult("Removed", request.Compact, request.Signer));
    }

    /// <summary><c>GET /certificates</c>: the policy-management certificates (empty in AAD mode).</summary>
    public string GetCertificates() => Result(new()
    {
        ["x-ms-policy-certificates"] = new JsonObject
        {
            ["keys"] = new JsonArray([.. certificates.Certificates.Select(c => (JsonNode)Jws.SignerJwk(c))]),
        },
    });

    /// <summary><c>POST /certificates:add</c>: a JWS signed by a current policy-management certificate.</summary>
    public string AddCertificate(string jws) => ChangeCertificate(jws, add: true);

    /// <summary><c>POST /certificates:remove</c>; the last certificate cannot be removed.</summary>
    public string RemoveCertificate(string jws) => ChangeCertificate(jws, add: false);

    private string ChangeCertificate(string jws, bool add)
    {
        if (!certificates.IsIsolated)
        {
            throw new PolicyManagementException("InvalidOperation", "Policy management certificates can only be changed on an isolated-mode instance (one created with policy signers).");
        }

        Jws request = PolicyStore.ParseJws(jws.Trim());
        RequireAuthorizedSigner(request.Signer, add ? "certificate addition" : "certificate removal");
        using X509Certificate2 certificate = PolicyCertificate(request.Payload);
        // Idempotent, as in Azure Attestation: the result says what holds now.
        if (add)
        {
            certificates.Add(certificate);
        }
        else
        {
            certificates.Remove(certificate);
        }

        return Result(new()
        {
            ["x-ms-certificate-thumbprint"] = certificate.Thumbprint, // hex SHA-1 of the DER, as Azure Attestation reports it
            ["x-ms-policycertificates-result"] = add ? "IsPresent" : "IsAbsent",
        });
    }

    private void RequireAuthorizedSigner(X509Certificate2? signer, string what)
    {
        if (!certificates.IsIsolated)
        {
            return; // AAD mode: the bearer token authorizes; a signature, if any, was verified and is reported
        }

        if (signer is null)
        {
            throw new PolicyManagementException("PolicySignatureRequired", $"This instance is in isolated mode: the {what} must be a JWS signed by a policy management certificate.");
        }

        if (!certificates.Contains(signer))
        {
            throw new PolicyManagementException("InvalidPolicySigner", $"The {what} is signed by '{signer.Subject}', which is not a policy management certificate of this instance.");
        }
    }

    private static X509Certificate2 PolicyCertificate(byte[] payload)
    {
        try
        {
            JsonNode? root = JsonNode.Parse(payload);
            if (root?["policyCertificate"]?["x5c"] is JsonArray { Count: > 0 } chain && chain[0] is JsonValue first && first.TryGetValue(out string? der))
            {
                return X509CertificateLoader.LoadCertificate(Convert.FromBase64String(der));
            }
        }
        catch (Exception ex) when (ex is JsonException or FormatException or CryptographicException or InvalidOperationException)
        {
            throw new PolicyManagementException("InvalidParameter", $"The payload must be {{\"policyCertificate\": {{\"kty\", \"x5c\": [<base64 DER>]}}}}: {ex.Message}");
        }

        throw new PolicyManagementException("InvalidParameter", "The payload must be {\"policyCertificate\": {\"kty\", \"x5c\": [<base64 DER>]}}.");
    }

    private static Dictionary<string, object> PolicyResult(string result, string jws, X509Certificate2? policySigner)
    {
        var claims = new Dictionary<string, object>
        {
            ["x-ms-policy-result"] = result,
            ["x-ms-policy-token-hash"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(jws))),
        };
        if (policySigner is not null)
        {
            claims["x-ms-policy-signer"] = ToClaimValue(Jws.SignerJwk(policySigner));
        }

        return claims;
    }

    private string Result(Dictionary<string, object> claims) =>
        signer.CreateToken(claims.ToDictionary(c => c.Key, c => c.Value is JsonNode node ? ToClaimValue(node) : c.Value), time.GetUtcNow(), ResultTokenLifetime);

    // The token handler serializes JsonElement values as JSON, not as strings.
    private static JsonElement ToClaimValue(JsonNode node) => JsonDocument.Parse(node.ToJsonString()).RootElement.Clone();
}
