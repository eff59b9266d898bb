using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Confide.KeyRelease.Release;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Client;

/// <summary>
/// The enclave's ephemeral key a release is wrapped to: RSA-2048, made inside the enclave and
/// never leaving it. Its public half travels as the runtime data
/// <c>{"keys":[{"kty":"RSA","kid":RFC 7638 thumbprint,"key_ops":["encrypt"],"n","e"}]}</c>,
/// whose SHA-256 is the evidence's report data, so the token's <c>x-ms-runtime.keys</c> names it.
/// </summary>
public sealed class EnclaveWrappingKey : IDisposable
{
    private readonly RSA _key;

    private EnclaveWrappingKey(RSA key)
    {
        _key = key;
        RSAParameters parameters = key.ExportParameters(false);
        string n = Base64UrlEncoder.Encode(parameters.Modulus);
        string e = Base64UrlEncoder.Encode(parameters.Exponent);
        KeyId = JwkThumbprint.Rsa(n, e);
        var jwk = new JsonObject { ["kty"] = "RSA", ["kid"] = KeyId, ["key_ops"] = new JsonArray("encrypt"), ["n"] = n, ["e"] = e };
        RuntimeData = System.Text.Encoding.UTF8.GetBytes(new JsonObject { ["keys"] = new JsonArray(jwk) }.ToJsonString());
    }

    /// <summary>The key's RFC 7638 thumbprint, its <c>kid</c>.</summary>
    public string KeyId { get; }

    /// <summary>The runtime data to attest with (dataType JSON): the key set with this key's public half.</summary>
    public byte[] RuntimeData { get; }

    /// <summary>What the evidence's report data must start with: SHA-256 of <see cref="RuntimeData"/>.</summary>
    public byte[] ReportData => SHA256.HashData(RuntimeData);

    /// <summary>A new RSA-2048 key.</summary>
    public static EnclaveWrappingKey Create() => new(RSA.Create(2048));

    /// <summary>Unwraps a released key wrapped to this key (see <see cref="KeyWrap"/>).</summary>
    /// <exception cref="CryptographicException">Not wrapped to this key with <paramref name="algorithm"/>, or altered.</exception>
    public byte[] Unwrap(KeyWrapAlgorithm algorithm, ReadOnlySpan<byte> ciphertext) => KeyWrap.Unwrap(_key, algorithm, ciphertext);

    public void Dispose() => _key.Dispose();
}
