using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Keys;

/// <summary>
/// A key's secret in the form it is released in: the 32 raw bytes of an AES key, PKCS#8 DER of an
/// RSA or EC private key. The public half (JWK members n/e or crv/x/y) is derived once, so that
/// reading a key never touches the secret. <see cref="Dispose"/> zeroes the secret.
/// </summary>
public sealed class KeyMaterial : IDisposable
{
    private readonly byte[] _secret;

    private KeyMaterial(KeyKind kind, byte[] secret, int keySize, string? curve, JsonObject publicMembers)
    {
        Kind = kind;
        _secret = secret;
        KeySize = keySize;
        Curve = curve;
        PublicMembers = publicMembers;
    }

    public KeyKind Kind { get; }

    /// <summary>Bits: 256 for AES, the modulus size for RSA, 256 for P-256.</summary>
    public int KeySize { get; }

    /// <summary>The curve name of an EC key (<c>P-256</c>).</summary>
    public string? Curve { get; }

    /// <summary>The public JWK members: <c>n</c>, <c>e</c> (RSA) or <c>crv</c>, <c>x</c>, <c>y</c> (EC); empty for AES.</summary>
    public JsonObject PublicMembers { get; }

    /// <summary>The bytes a release wraps. Never log them.</summary>
    internal ReadOnlySpan<byte> Secret => _secret;

    /// <summary>A new random key of <paramref name="kind"/>.</summary>
    /// <exception cref="KeyBrokerException">An unsupported size or curve (BadParameter).</exception>
    public static KeyMaterial Generate(KeyKind kind, int? keySize, string? curve)
    {
        switch (kind)
        {
            case KeyKind.Oct:
                if (keySize is not (null or KeyType.AesKeySize))
                {
                    throw KeyBrokerException.BadParameter($"'key_size' {keySize} is not supported for oct keys; only AES-256 (256).");
                }

                return new KeyMaterial(KeyKind.Oct, RandomNumberGenerator.GetBytes(32), KeyType.AesKeySize, null, []);
            case KeyKind.Rsa:
                int size = keySize ?? 2048;
                if (!KeyType.RsaKeySizes.Contains(size))
                {
                    throw KeyBrokerException.BadParameter($"'key_size' {size} is not supported for RSA keys; use 2048 or 3072.");
                }

                using (RSA rsa = RSA.Create(size))
                {
                    return FromRsa(rsa);
                }

            default:
                if (curve is not (null or KeyType.P256))
                {
                    throw KeyBrokerException.BadParameter($"'crv' '{curve}' is not supported; EC keys are P-256.");
                }

                if (keySize is not (null or 256))
                {
                    throw KeyBrokerException.BadParameter($"'key_size' {keySize} does not fit P-256 (256).");
                }

                using (ECDsa ec = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                {
                    return FromEc(ec);
                }
        }
    }

    /// <summary>
    /// A key from a private JWK (import): <c>k</c> for oct; <c>n, e, d, p, q, dp, dq, qi</c> for RSA;
    /// <c>crv, x, y, d</c> for EC. The private half is checked against the public half.
    /// </summary>
    /// <exception cref="KeyBrokerException">A missing or malformed member, an unsupported size, or halves that do not match (BadParameter).</exception>
    public static KeyMaterial Import(KeyKind kind, JsonElement jwk)
    {
        switch (kind)
        {
            case KeyKind.Oct:
                byte[] k = Member(jwk, "k");
                if (k.Length != 32)
                {
                    CryptographicOperations.ZeroMemory(k);
                    throw KeyBrokerException.BadParameter($"'key.k' is {k.Length} bytes; oct keys are AES-256 (32 bytes).");
                }

                return new KeyMaterial(KeyKind.Oct, k, KeyType.AesKeySize, null, []);
            default:
                try
                {
                    return kind == KeyKind.Rsa ? ImportRsa(jwk) : ImportEc(jwk);
                }
                catch (CryptographicException ex)
                {
                    // Whatever the platform's checks find wrong with the numbers, it is the request's fault.
                    throw KeyBrokerException.BadParameter($"'key' is not a usable {(kind == KeyKind.Rsa ? "RSA" : "P-256")} private key: {ex.Message}");
                }
        }
    }

    /// <summary>A key from its stored secret (as <see cref="Secret"/> was).</summary>
    /// <exception cref="CryptographicException">The bytes are not a key of <paramref name="kind"/>.</exception>
    internal static KeyMaterial FromSecret(KeyKind kind, ReadOnlySpan<byte> secret)
    {
        switch (kind)
        {
            case KeyKind.Oct:
                return secret.Length == 32 ? new KeyMaterial(kind, secret.ToArray(), KeyType.AesKeySize, null, []) : throw new CryptographicException("an AES-256 key is 32 bytes");
            case KeyKind.Rsa:
                using (var rsa = RSA.Create())
                {
                    rsa.ImportPkcs8PrivateKey(secret, out _);
                    return FromRsa(rsa);
                }

            default:
                using (var ec = ECDsa.Create())
                {
                    ec.ImportPkcs8PrivateKey(secret, out _);
                    return ec.ExportParameters(false).Curve.Oid.Value == ECCurve.NamedCurves.nistP256.Oid.Value
                        ? FromEc(ec)
                        : throw new CryptographicException("the EC key is not on P-256");
                }
        }
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_secret);

    private static KeyMaterial FromRsa(RSA rsa)
    {
        RSAParameters parameters = rsa.ExportParameters(false);
        return new KeyMaterial(KeyKind.Rsa, rsa.ExportPkcs8PrivateKey(), rsa.KeySize, null, new JsonObject
        {
            ["n"] = Base64UrlEncoder.Encode(parameters.Modulus),
            ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
        });
    }

    private static KeyMaterial FromEc(ECDsa ec)
    {
        ECParameters parameters = ec.ExportParameters(false);
        return new KeyMaterial(KeyKind.Ec, ec.ExportPkcs8PrivateKey(), 256, KeyType.P256, new JsonObject
        {
            ["crv"] = KeyType.P256,
            ["x"] = Base64UrlEncoder.Encode(parameters.Q.X),
            ["y"] = Base64UrlEncoder.Encode(parameters.Q.Y),
        });
    }

    private static KeyMaterial ImportRsa(JsonElement jwk)
    {
        var parameters = default(RSAParameters);
        try
        {
            // Assigned one by one, so that a later malformed member still zeroes the earlier ones.
            parameters.Modulus = Member(jwk, "n");
            parameters.Exponent = Member(jwk, "e");
            parameters.D = Member(jwk, "d");
            parameters.P = Member(jwk, "p");
            parameters.Q = Member(jwk, "q");
            parameters.DP = Member(jwk, "dp");
            parameters.DQ = Member(jwk, "dq");
            parameters.InverseQ = Member(jwk, "qi");
            int bits = parameters.Modulus.SkipWhile(b => b == 0).Count() * 8;
            if (!KeyType.RsaKeySizes.Contains(bits))
            {
                throw KeyBrokerException.BadParameter($"'key.n' is a {bits}-bit modulus; RSA keys are 2048 or 3072 bits.");
            }

            using var rsa = RSA.Create();
            try
            {
                rsa.ImportParameters(parameters);
            }
            catch (CryptographicException ex)
            {
                throw KeyBrokerException.BadParameter($"'key' is not a consistent RSA private key: {ex.Message}");
            }

            // The private half must be the public half's: sign with one, verify with the other.
            using var publicOnly = RSA.Create(new RSAParameters { Modulus = parameters.Modulus, Exponent = parameters.Exponent });
            byte[] probe = RandomNumberGenerator.GetBytes(32);
            if (!publicOnly.VerifyData(probe, rsa.SignData(probe, HashAlgorithmName.SHA256, RSASignaturePadding.Pss), HashAlgorithmName.SHA256, RSASignaturePadding.Pss))
            {
                throw KeyBrokerException.BadParameter("'key': the private members do not belong to the modulus 'n' and exponent 'e'.");
            }

            return FromRsa(rsa);
        }
        finally
        {
            Zero(parameters.D, parameters.P, parameters.Q, parameters.DP, parameters.DQ, parameters.InverseQ);
        }
    }

    private static KeyMaterial ImportEc(JsonElement jwk)
    {
        string? curve = jwk.TryGetProperty("crv", out JsonElement crv) && crv.ValueKind == JsonValueKind.String ? crv.GetString() : null;
        if (curve != KeyType.P256)
        {
            throw KeyBrokerException.BadParameter($"'key.crv' must be \"{KeyType.P256}\"{(curve is null ? "" : $", not '{curve}'")}.");
        }

        var parameters = new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Member(jwk, "x"), Y = Member(jwk, "y") },
        };
        try
        {
            parameters.D = Member(jwk, "d");
            if (parameters.Q.X!.Length != 32 || parameters.Q.Y!.Length != 32 || parameters.D!.Length != 32)
            {
                throw KeyBrokerException.BadParameter("'key.x', 'key.y' and 'key.d' of a P-256 key are 32 bytes each.");
            }

            using var ec = ECDsa.Create();
            try
            {
                ec.ImportParameters(parameters);
            }
            catch (CryptographicException ex)
            {
                throw KeyBrokerException.BadParameter($"'key' is not a valid P-256 private key: {ex.Message}");
            }

            using var publicOnly = ECDsa.Create(new ECParameters { Curve = parameters.Curve, Q = parameters.Q });
            byte[] probe = RandomNumberGenerator.GetBytes(32);
            if (!publicOnly.VerifyData(probe, ec.SignData(probe, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256))
            {
                throw KeyBrokerException.BadParameter("'key': the private member 'd' does not belong to the point (x, y).");
            }

            return FromEc(ec);
        }
        finally
        {
            Zero(parameters.D);
        }
    }

    private static byte[] Member(JsonElement jwk, string name)
    {
        if (!jwk.TryGetProperty(name, out JsonElement value) || value.ValueKind != JsonValueKind.String || value.GetString()!.Length == 0)
        {
            throw KeyBrokerException.BadParameter($"'key.{name}' is required (base64url).");
        }

        try
        {
            return Base64UrlEncoder.DecodeBytes(value.GetString()!.TrimEnd('='));
        }
        catch (FormatException)
        {
            throw KeyBrokerException.BadParameter($"'key.{name}' is not base64url.");
        }
    }

    private static void Zero(params byte[]?[] secrets)
    {
        foreach (byte[]? secret in secrets)
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }
}
