using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Tokens;

/// <summary>
/// A JWS in compact form as Azure Attestation's management calls carry it (maa.md §1.4–1.5):
/// unsigned (<c>alg: none</c>, empty signature) or signed by the key of the certificate in the
/// header's <c>x5c</c>. Parsing verifies a signature against that certificate; whether the
/// certificate is trusted is the caller's decision.
/// </summary>
public sealed class Jws
{
    /// <summary>Largest JWS accepted (a policy is at most 256 KiB of text, base64url twice).</summary>
    public const int MaxLength = 1024 * 1024;

    private static readonly HashSet<string> SupportedAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

    private Jws(string compact, string algorithm, byte[] payload, X509Certificate2? signer)
    {
        Compact = compact;
        Algorithm = algorithm;
        Payload = payload;
        Signer = signer;
    }

    /// <summary>The JWS exactly as sent (what <c>x-ms-policy-token-hash</c> hashes).</summary>
    public string Compact { get; }

    public string Algorithm { get; }

    /// <summary>The decoded payload; empty for a reset request.</summary>
    public byte[] Payload { get; }

    /// <summary>The certificate whose key signed this JWS (its signature verified), or null when unsigned.</summary>
    public X509Certificate2? Signer { get; }

    /// <summary>Parses <paramref name="compact"/> and verifies its signature, if it has one.</summary>
    /// <exception cref="JwsException">Malformed, an unsupported algorithm, or a signature that does not verify.</exception>
    public static Jws Parse(string compact)
    {
        if (compact.Length > MaxLength)
        {
            throw new JwsException($"The JWS is longer than {MaxLength} characters.");
        }

        string[] parts = compact.Split('.');
        if (parts.Length != 3)
        {
            throw new JwsException($"A JWS has three dot-separated parts; this has {parts.Length}.");
        }

        JsonObject header = DecodeHeader(parts[0]);
        byte[] payload = DecodePart(parts[1], "payload");
        byte[] signature = DecodePart(parts[2], "signature");
        string algorithm = header["alg"] is JsonValue alg && alg.TryGetValue(out string? name) ? name : throw new JwsException("The JWS header has no 'alg'.");

        if (algorithm == "none")
        {
            if (signature.Length != 0)
            {
                throw new JwsException("An unsigned JWS (alg 'none') must have an empty signature.");
            }

            return new Jws(compact, algorithm, payload, signer: null);
        }

        if (!SupportedAlgorithms.Contains(algorithm))
        {
            throw new JwsException($"The JWS algorithm '{algorithm}' is not supported (RS256/384/512, PS256/384/512, ES256/384/512 or none).");
        }

        X509Certificate2 signer = HeaderCertificate(header);
        byte[] signingInput = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        bool verified;
        try
        {
            verified = Verify(algorithm, signer, signingInput, signature);
        }
        catch (CryptographicException ex)
        {
            signer.Dispose();
            throw new JwsException($"The key of the x5c certificate cannot verify {algorithm}: {ex.Message}");
        }
        catch (JwsException)
        {
            signer.Dispose();
            throw;
        }

        if (!verified)
        {
            signer.Dispose();
            throw new JwsException($"The JWS signature ({algorithm}) does not verify with the key of the certificate in its x5c header.");
        }

        return new Jws(compact, algorithm, payload, signer);
    }

    /// <summary>
    /// A policy JWS as <c>PUT /policies/{type}</c> takes it: payload <c>{"AttestationPolicy": base64url(text)}</c>,
    /// or empty (<paramref name="policyText"/> null) for a reset; unsigned, or signed by <paramref name="signer"/>.
    /// </summary>
    public static string CreatePolicy(string? policyText, X509Certificate2? signer = null)
    {
        byte[] payload = policyText is null ? [] : Encoding.UTF8.GetBytes(new JsonObject { ["AttestationPolicy"] = Base64UrlEncoder.Encode(policyText) }.ToJsonString());
        return signer is null ? CreateUnsigned(payload) : CreateSigned(payload, signer);
    }

    /// <summary>The body of <c>POST /certificates:add|:remove</c>: <c>{"policyCertificate": {kty, x5c}}</c> signed by <paramref name="signer"/>.</summary>
    public static string CreatePolicyCertificateChange(X509Certificate2 certificate, X509Certificate2 signer) =>
        CreateSigned(Encoding.UTF8.GetBytes(new JsonObject { ["policyCertificate"] = SignerJwk(certificate) }.ToJsonString()), signer);

    /// <summary>An unsigned JWS of <paramref name="payload"/> (empty for a reset): <c>eyJhbGciOiJub25lIn0.&lt;payload&gt;.</c></summary>
    public static string CreateUnsigned(ReadOnlySpan<byte> payload) =>
        Base64UrlEncoder.Encode("""{"alg":"none"}"""u8.ToArray()) + "." + Base64UrlEncoder.Encode(payload.ToArray()) + ".";

    /// <summary>
    /// A JWS of <paramref name="payload"/> signed with the private key of <paramref name="signer"/>
    /// (RS256 for RSA, ES256 for a P-256 key), carrying the certificate in <c>x5c</c>.
    /// </summary>
    public static string CreateSigned(ReadOnlySpan<byte> payload, X509Certificate2 signer)
    {
        using RSA? rsa = signer.GetRSAPrivateKey();
        using ECDsa? ecdsa = rsa is null ? signer.GetECDsaPrivateKey() : null;
        string algorithm = rsa is not null ? "RS256" : ecdsa is not null ? "ES256" : throw new ArgumentException("The certificate has no RSA or ECDSA private key.", nameof(signer));
        var header = new JsonObject { ["alg"] = algorithm, ["x5c"] = new JsonArray(Convert.ToBase64String(signer.RawData)) };
        string signingInput = Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64UrlEncoder.Encode(payload.ToArray());
        byte[] data = Encoding.ASCII.GetBytes(signingInput);
        byte[] signature = rsa is not null
            ? rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : ecdsa!.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64UrlEncoder.Encode(signature);
    }

    /// <summary>The JWK under which Azure Attestation reports a signer: <c>{"kty", "x5c"}</c>.</summary>
    public static JsonObject SignerJwk(X509Certificate2 certificate)
    {
        using RSA? rsa = certificate.GetRSAPublicKey();
        return new JsonObject
        {
            ["kty"] = rsa is not null ? "RSA" : "EC",
            ["x5c"] = new JsonArray(Convert.ToBase64String(certificate.RawData)),
        };
    }

    private static bool Verify(string algorithm, X509Certificate2 signer, byte[] data, byte[] signature)
    {
        (HashAlgorithmName hash, bool pss, bool ec) = algorithm switch
        {
            "RS256" => (HashAlgorithmName.SHA256, false, false),
            "RS384" => (HashAlgorithmName.SHA384, false, false),
            "RS512" => (HashAlgorithmName.SHA512, false, false),
            "PS256" => (HashAlgorithmName.SHA256, true, false),
            "PS384" => (HashAlgorithmName.SHA384, true, false),
            "PS512" => (HashAlgorithmName.SHA512, true, false),
            "ES256" => (HashAlgorithmName.SHA256, false, true),
            "ES384" => (HashAlgorithmName.SHA384, false, true),
            "ES512" => (HashAlgorithmName.SHA512, false, true),
            _ => throw new JwsException($"The JWS algorithm '{algorithm}' is not supported (RS*, PS*, ES* or none)."),
        };

        if (ec)
        {
            using ECDsa key = signer.GetECDsaPublicKey() ?? throw new JwsException($"'{algorithm}' needs an EC certificate in x5c.");
            return key.VerifyData(data, signature, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }

        using RSA rsa = signer.GetRSAPublicKey() ?? throw new JwsException($"'{algorithm}' needs an RSA certificate in x5c.");
        return rsa.VerifyData(data, signature, hash, pss ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1);
    }

    private static X509Certificate2 HeaderCertificate(JsonObject header)
    {
        if (header["x5c"] is not JsonArray { Count: > 0 } chain || chain[0] is not JsonValue first || !first.TryGetValue(out string? der))
        {
            throw new JwsException("A signed JWS must carry its signing certificate in the 'x5c' header (an array of base64 DER).");
        }

        try
        {
            return X509CertificateLoader.LoadCertificate(Convert.FromBase64String(der));
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException)
        {
            throw new JwsException($"The 'x5c' certificate is not base64 DER: {ex.Message}");
        }
    }

    private static JsonObject DecodeHeader(string part)
    {
        try
        {
            return JsonNode.Parse(DecodePart(part, "header")) as JsonObject ?? throw new JwsException("The JWS header is not a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new JwsException($"The JWS header is not JSON: {ex.Message}");
        }
    }

    private static byte[] DecodePart(string part, string name)
    {
        try
        {
            return Base64UrlEncoder.DecodeBytes(part);
        }
        catch (FormatException)
        {
            throw new JwsException($"The JWS {name} is not base64url.");
        }
    }
}

/// <summary>A JWS that is malformed or whose signature does not verify.</summary>
public sealed class JwsException(string message) : Exception(message);
