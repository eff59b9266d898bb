using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Confide.KeyRelease.Policies;

namespace Confide.KeyRelease.Keys;

/// <summary>
/// One version of a key: its material, attributes and release policy. Versions never change once
/// written; a rotation or import makes a new one, and the newest is the key's current version.
/// </summary>
public sealed partial class KeyVersion : IDisposable
{
    internal KeyVersion(string name, string version, long sequence, KeyType type, IReadOnlyList<string> operations, KeyAttributes attributes, KeyReleasePolicy? releasePolicy, KeyMaterial material)
    {
        Name = name;
        Version = version;
        Sequence = sequence;
        Type = type;
        Operations = operations;
        Attributes = attributes;
        ReleasePolicy = releasePolicy;
        Material = material;
    }

    public string Name { get; }

    /// <summary>32 lowercase hex digits, as Key Vault's versions.</summary>
    public string Version { get; }

    /// <summary>Order among the key's versions (1 for the first); the highest is current.</summary>
    public long Sequence { get; }

    public KeyType Type { get; }

    /// <summary>The JWK <c>key_ops</c>.</summary>
    public IReadOnlyList<string> Operations { get; }

    public KeyAttributes Attributes { get; }

    public KeyReleasePolicy? ReleasePolicy { get; }

    internal KeyMaterial Material { get; }

    /// <summary>Key Vault's key identifier: <c>{broker}/keys/{name}/{version}</c>.</summary>
    public string KeyId(string brokerUrl) => $"{brokerUrl.TrimEnd('/')}/keys/{Name}/{Version}";

    /// <summary>The public JWK: kid, kty, key_ops and n/e or crv/x/y (nothing secret; an AES key shows no material).</summary>
    public JsonObject PublicJwk(string brokerUrl)
    {
        var jwk = new JsonObject
        {
            ["kid"] = KeyId(brokerUrl),
            ["kty"] = Type.Name,
            ["key_ops"] = new JsonArray([.. Operations.Select(o => (JsonNode)o)]),
        };
        foreach ((string member, JsonNode? value) in Material.PublicMembers)
        {
            jwk[member] = value?.DeepClone();
        }

        return jwk;
    }

    /// <summary>Key Vault's KeyBundle: <c>{"key": public JWK, "attributes", "release_policy"}</c>.</summary>
    public JsonObject ToBundle(string brokerUrl)
    {
        var bundle = new JsonObject { ["key"] = PublicJwk(brokerUrl), ["attributes"] = Attributes.ToJson() };
        if (ReleasePolicy is not null)
        {
            bundle["release_policy"] = ReleasePolicy.ToJson();
        }

        return bundle;
    }

    public void Dispose() => Material.Dispose();

    /// <summary>Key Vault's key names: 1–127 letters, digits and dashes.</summary>
    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    public static bool IsValidVersion(string version) => VersionPattern().IsMatch(version);

    [GeneratedRegex("^[0-9a-zA-Z-]{1,127}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex VersionPattern();
}

/// <summary>A version's attributes (Key Vault's <c>attributes</c>): times in Unix seconds.</summary>
public sealed record KeyAttributes(bool Enabled, bool Exportable, DateTimeOffset Created, DateTimeOffset Updated)
{
    public JsonObject ToJson() => new()
    {
        ["enabled"] = Enabled,
        ["exportable"] = Exportable,
        ["created"] = Created.ToUnixTimeSeconds(),
        ["updated"] = Updated.ToUnixTimeSeconds(),
        ["recoveryLevel"] = "Purgeable",
    };
}
