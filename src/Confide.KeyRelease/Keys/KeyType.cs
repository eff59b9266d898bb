namespace Confide.KeyRelease.Keys;

/// <summary>The key families the broker holds.</summary>
public enum KeyKind
{
    /// <summary>AES-256 (<c>oct</c>, <c>oct-HSM</c>): released as its 32 raw bytes.</summary>
    Oct,

    /// <summary>RSA-2048 or RSA-3072 (<c>RSA</c>, <c>RSA-HSM</c>): released as PKCS#8 DER.</summary>
    Rsa,

    /// <summary>ECDSA/ECDH on P-256 (<c>EC</c>, <c>EC-HSM</c>): released as PKCS#8 DER.</summary>
    Ec,
}

/// <summary>
/// A key type as Azure Key Vault names it (<c>kty</c>). The <c>-HSM</c> names are accepted and
/// kept, since Secure Key Release requires them in Key Vault; here every key is equally protected
/// (sealed by the broker's TEE), so the suffix changes nothing else.
/// </summary>
public sealed record KeyType(string Name, KeyKind Kind)
{
    public const int AesKeySize = 256;
    public const string P256 = "P-256";

    public static readonly IReadOnlyList<string> Names = ["oct", "oct-HSM", "RSA", "RSA-HSM", "EC", "EC-HSM"];

    public static readonly IReadOnlyList<int> RsaKeySizes = [2048, 3072];

    /// <summary>Whether the name ends in <c>-HSM</c>.</summary>
    public bool IsHsm => Name.EndsWith("-HSM", StringComparison.Ordinal);

    /// <exception cref="KeyBrokerException">An unknown kty (BadParameter).</exception>
    public static KeyType Parse(string? kty, string field = "kty") => kty switch
    {
        "oct" or "oct-HSM" => new KeyType(kty, KeyKind.Oct),
        "RSA" or "RSA-HSM" => new KeyType(kty, KeyKind.Rsa),
        "EC" or "EC-HSM" => new KeyType(kty, KeyKind.Ec),
        null => throw KeyBrokerException.BadParameter($"'{field}' is required: one of {string.Join(", ", Names)}."),
        _ => throw KeyBrokerException.BadParameter($"'{field}' '{kty}' is not supported; use one of {string.Join(", ", Names)}."),
    };

    /// <summary>The type with the <c>-HSM</c> suffix (import's <c>"Hsm": true</c>).</summary>
    public KeyType AsHsm() => IsHsm ? this : this with { Name = Name + "-HSM" };

    /// <summary>The operations a key of this kind allows unless the request names fewer.</summary>
    public IReadOnlyList<string> DefaultOperations => Kind switch
    {
        KeyKind.Oct => ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
        KeyKind.Rsa => ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
        _ => ["sign", "verify"],
    };
}
