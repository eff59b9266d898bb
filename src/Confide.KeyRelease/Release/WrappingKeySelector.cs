using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Release;

/// <summary>
/// Picks the key a release is wrapped to, as Key Vault does (maa.md §5.3): the first RSA key in the
/// token's <c>x-ms-runtime.keys</c> whose <c>key_ops</c> contain "encrypt" or whose <c>use</c> is
/// "enc". The enclave put that key set in its runtime data, whose hash its evidence carries, so only
/// the attested enclave holds the private half.
/// </summary>
public static class WrappingKeySelector
{
    /// <summary>The wrapping key and its <c>kid</c> (the JWK's, or its RFC 7638 thumbprint when it has none).</summary>
    /// <exception cref="KeyBrokerException">No suitable key, or the first suitable one is malformed or weaker than RSA-2048 (NoWrappingKey).</exception>
    public static (RSA Key, string KeyId) Select(JsonElement claims)
    {
        if (claims.ValueKind != JsonValueKind.Object
            || !claims.TryGetProperty("x-ms-runtime", out JsonElement runtime) || runtime.ValueKind != JsonValueKind.Object
            || !runtime.TryGetProperty("keys", out JsonElement keys) || keys.ValueKind != JsonValueKind.Array)
        {
            throw Refused("The attestation token has no 'x-ms-runtime.keys': the enclave must attest with runtimeData of dataType JSON holding {\"keys\":[RSA JWK with key_ops [\"encrypt\"]]}.");
        }

        int index = -1;
        foreach (JsonElement jwk in keys.EnumerateArray())
        {
            index++;
            if (jwk.ValueKind != JsonValueKind.Object || String(jwk, "kty") != "RSA" || !ForEncryption(jwk))
            {
                continue;
            }

            string path = $"x-ms-runtime.keys[{index}]";
            RSAParameters parameters;
            try
            {
                parameters = new RSAParameters
                {
                    Modulus = Base64UrlEncoder.DecodeBytes(String(jwk, "n") ?? throw new FormatException("no 'n'")),
                    Exponent = Base64UrlEncoder.DecodeBytes(String(jwk, "e") ?? throw new FormatException("no 'e'")),
                };
            }
            catch (FormatException ex)
            {
                throw Refused($"{path} is not an RSA public key: {ex.Message}.");
            }

            int bits = parameters.Modulus.SkipWhile(b => b == 0).Count() * 8;
            if (bits < KeyWrap.MinimumWrappingKeySize || bits > KeyWrap.MaximumWrappingKeySize)
            {
                throw Refused($"{path} is an RSA-{bits} key; a wrapping key has {KeyWrap.MinimumWrappingKeySize} to {KeyWrap.MaximumWrappingKeySize} bits.");
            }

            // e = 1 would make RSA the identity: the ephemeral key would travel in the clear.
            byte[] e = [.. parameters.Exponent.SkipWhile(b => b == 0)];
            if (e.Length == 0 || e.Length > 32 || (e[^1] & 1) == 0 || (e.Length == 1 && e[0] < 3) || (parameters.Modulus[^1] & 1) == 0)
            {
                throw Refused($"{path} is not a sound RSA public key: the exponent must be odd and at least 3, the modulus odd.");
            }

            RSA key = RSA.Create();
            try
            {
                key.ImportParameters(parameters);
            }
            catch (CryptographicException ex)
            {
                key.Dispose();
                throw Refused($"{path} is not a usable RSA public key: {ex.Message}");
            }

            return (key, String(jwk, "kid") is { Length: > 0 } kid ? kid : JwkThumbprint.Rsa(parameters));
        }

        throw Refused("The attestation token's x-ms-runtime.keys has no RSA key for encryption (key_ops containing \"encrypt\", or use \"enc\").");
    }

    private static bool ForEncryption(JsonElement jwk) =>
        (jwk.TryGetProperty("key_ops", out JsonElement ops) && ops.ValueKind == JsonValueKind.Array && ops.EnumerateArray().Any(o => o.ValueKind == JsonValueKind.String && o.GetString() == "encrypt"))
        || String(jwk, "use") == "enc";

    private static string? String(JsonElement jwk, string name) =>
        jwk.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static KeyBrokerException Refused(string message) => KeyBrokerException.Forbidden(KeyBrokerErrorCodes.NoWrappingKey, message);
}
