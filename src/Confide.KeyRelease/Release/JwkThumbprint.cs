using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Release;

/// <summary>RFC 7638 JWK thumbprints (SHA-256, base64url), the <c>kid</c> an enclave gives its wrapping key.</summary>
public static class JwkThumbprint
{
    /// <summary>The thumbprint of an RSA key: SHA-256 over <c>{"e":..,"kty":"RSA","n":..}</c> (members sorted, no spaces).</summary>
    public static string Rsa(RSAParameters publicKey) =>
        Rsa(Base64UrlEncoder.Encode(publicKey.Modulus), Base64UrlEncoder.Encode(publicKey.Exponent));

    /// <summary>The thumbprint from the base64url members <paramref name="n"/> and <paramref name="e"/>.</summary>
    public static string Rsa(string n, string e) =>
        Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes($$"""{"e":"{{e}}","kty":"RSA","n":"{{n}}"}""")));
}
