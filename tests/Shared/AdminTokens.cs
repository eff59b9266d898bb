using System.Security.Cryptography;
using Confide.AttestationService;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.Testing;

/// <summary>
/// An administrators' token issuer for the tests: an ES256 key, the options that trust it, and
/// tokens for an audience (the attestation service's by default; the key broker passes its own).
/// </summary>
public sealed class AdminTokens(string defaultAudience = AdminAuthenticationOptions.DefaultAudience) : IDisposable
{
    public const string Issuer = "https://login.example.test/tenant/v2.0";
    public const string Subject = "operator-7";

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public string Audience => defaultAudience;

    public AdminAuthenticationOptions Options()
    {
        var options = new AdminAuthenticationOptions { Issuer = Issuer, Audience = defaultAudience };
        options.SigningKeys.Add(new ECDsaSecurityKey(_key) { KeyId = "admin" });
        return options;
    }

    /// <summary>A token; every parameter can be made wrong to test refusals.</summary>
    public string Create(string issuer = Issuer, string? audience = null, TimeSpan? lifetime = null, ECDsa? key = null)
    {
        DateTime now = DateTime.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience ?? defaultAudience,
            IssuedAt = now.AddHours(-2),
            NotBefore = now.AddHours(-2),
            Expires = now + (lifetime ?? TimeSpan.FromHours(1)),
            Claims = new Dictionary<string, object> { ["sub"] = Subject },
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key ?? _key) { KeyId = "admin" }, SecurityAlgorithms.EcdsaSha256),
        });
    }

    public void Dispose() => _key.Dispose();
}
