using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Confide.Cli.Commands;

/// <summary>Operator keys for the attestation service's management APIs: loading the public half, minting tokens with the private one.</summary>
internal static class AdminKeys
{
    /// <summary>A PEM certificate, or an RSA / EC public (or private) key, as a token-validation key.</summary>
    public static SecurityKey LoadPublicKey(string path)
    {
        string pem = File.ReadAllText(path);
        if (pem.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            X509Certificate2 certificate = X509Certificate2.CreateFromPem(pem);

            // IdentityModel's X509SecurityKey verifies RS* only: an EC certificate's ES256 tokens need its ECDsa key.
            return certificate.GetECDsaPublicKey() is { } ec ? new ECDsaSecurityKey(ec) : new X509SecurityKey(certificate);
        }

        return LoadKey(pem, path);
    }

    public static string CreateToken(string privateKeyPath, string issuer, string audience, TimeSpan lifetime)
    {
        SecurityKey key = LoadKey(File.ReadAllText(privateKeyPath), privateKeyPath);
        string algorithm = key is RsaSecurityKey ? SecurityAlgorithms.RsaSha256 : SecurityAlgorithms.EcdsaSha256;
        DateTime now = DateTime.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now.AddMinutes(-1),
            Expires = now + lifetime,
            Claims = new Dictionary<string, object> { ["sub"] = Environment.UserName },
            SigningCredentials = new SigningCredentials(key, algorithm),
        });
    }

    /// <summary>The first RSA or EC key (public or private, PKCS#1, PKCS#8, SEC1 or SPKI) in <paramref name="pem"/>.</summary>
    private static SecurityKey LoadKey(string pem, string path)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            return new RsaSecurityKey(rsa);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            rsa.Dispose();
        }

        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            return new ECDsaSecurityKey(ec);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            ec.Dispose();
            throw new ArgumentException($"'{path}' holds no PEM certificate, RSA key or EC key.");
        }
    }
}
