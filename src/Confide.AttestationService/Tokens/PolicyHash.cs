using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Tokens;

/// <summary>Azure Attestation's <c>x-ms-policy-hash</c>: BASE64URL(SHA256(UTF8(BASE64URL(UTF8(policy text))))).</summary>
public static class PolicyHash
{
    public static string Compute(string policyText) =>
        Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(policyText)))));
}
