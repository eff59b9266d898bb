using System.Security.Cryptography;
using Confide.AttestationService;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Tests;

/// <summary>An administrators' token issuer for the tests: an ES256 key and the options that trust it.</summary>
public sealed class AdminTokens : IDisposable
{
    public const string Issuer = "https://login.example.test/tenant/v2.0";
    public const string Subject = "operator-7";

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public AdminAuthenticationOptions Options()
    {
        var options = new AdminAuthenticationOptions { Issuer = Issuer, Audience = KeyBrokerOptions.DefaultAdminAudience };
        options.SigningKeys.Add(new ECDsaSecurityKey(_key) { KeyId = "admin" });
        return options;
    }

    public string Create(string issuer = Issuer, string audience = KeyBrokerOptions.DefaultAdminAudience, TimeSpan? lifetime = null, ECDsa? key = null)
    {
        DateTime now = DateTime.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now.AddHours(-2),
            NotBefore = now.AddHours(-2),
            Expires = now + (lifetime ?? TimeSpan.FromHours(1)),
            Claims = new Dictionary<string, object> { ["sub"] = Subject },
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key ?? _key) { KeyId = "admin" }, SecurityAlgorithms.EcdsaSha256),
        });
    }

    public void Dispose() => _key.Dispose();
}
