using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.KeyRelease.Audit;
using Confide.KeyRelease.Policies;
using Confide.KeyRelease.Release;

namespace Confide.KeyRelease.Keys;

/// <summary>
/// The administrators' key operations with Key Vault's request and response shapes: create,
/// import, rotate (each makes a new version), list and read (public halves only). Request bodies
/// are read strictly; changes, and refused changes, are audited with the administrator's subject.
/// </summary>
public sealed class KeyManagement
{
    private static readonly HashSet<string> KnownOperations = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"];

    private readonly KeyStore _store;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly string _brokerUrl;

    public KeyManagement(KeyStore store, AuditLog audit, TimeProvider time, string brokerUrl)
    {
        _store = store;
        _audit = audit;
        _time = time;
        _brokerUrl = brokerUrl.TrimEnd('/');
    }

    /// <summary><c>POST /keys/{name}/create</c>: <c>{kty, key_size, crv, key_ops, attributes: {exportable}, release_policy}</c> → KeyBundle.</summary>
    public JsonObject Create(string name, ReadOnlySpan<byte> body, string administrator)
    {
        byte[] copy = body.ToArray();
        return Audited("create", name, administrator, () =>
        {
            JsonElement root = RequestJson.Parse(copy);
            Allow(root, "", "kty", "key_size", "crv", "key_ops", "attributes", "release_policy");
            KeyType type = KeyType.Parse(root.TryGetProperty("kty", out JsonElement kty) ? RequestJson.String(kty, "kty") : null);
            int? size = root.TryGetProperty("key_size", out JsonElement keySize) ? RequestJson.Integer(keySize, "key_size") : null;
            string? curve = root.TryGetProperty("crv", out JsonElement crv) ? RequestJson.String(crv, "crv") : null;
            if (curve is not null && type.Kind != KeyKind.Ec)
            {
                throw KeyBrokerException.BadParameter($"'crv' applies to EC keys, not {type.Name}.");
            }

            (bool exportable, KeyReleasePolicy? policy) = ExportSettings(root);
            IReadOnlyList<string> operations = Operations(root, "key_ops") ?? type.DefaultOperations;
            return AddVersion(name, type, operations, exportable, policy, () => KeyMaterial.Generate(type.Kind, size, curve));
        });
    }

    /// <summary><c>PUT /keys/{name}</c>: <c>{key: private JWK, Hsm, attributes: {exportable}, release_policy}</c> → KeyBundle.</summary>
    public JsonObject Import(string name, ReadOnlySpan<byte> body, string administrator)
    {
        byte[] copy = body.ToArray();
        try
        {
            return Audited("import", name, administrator, () =>
            {
                JsonElement root = RequestJson.Parse(copy);
                Allow(root, "", "key", "Hsm", "attributes", "release_policy");
                if (!root.TryGetProperty("key", out JsonElement jwk) || jwk.ValueKind != JsonValueKind.Object)
                {
                    throw KeyBrokerException.BadParameter("'key' is required: the private key as a JWK.");
                }

                if (jwk.TryGetProperty("key_hsm", out _))
                {
                    throw KeyBrokerException.BadParameter("'key.key_hsm' (BYOK transfer blobs) is not supported; import the key as a plain private JWK over the broker's TLS.");
                }

                Allow(jwk, "key.", "kty", "kid", "key_ops", "k", "n", "e", "d", "p", "q", "dp", "dq", "qi", "crv", "x", "y");
                KeyType type = KeyType.Parse(jwk.TryGetProperty("kty", out JsonElement kty) ? RequestJson.String(kty, "key.kty") : null, "key.kty");
                if (root.TryGetProperty("Hsm", out JsonElement hsm) && RequestJson.Boolean(hsm, "Hsm"))
                {
                    type = type.AsHsm();
                }

                (bool exportable, KeyReleasePolicy? policy) = ExportSettings(root);
                IReadOnlyList<string> operations = Operations(jwk, "key.key_ops") ?? type.DefaultOperations;
                return AddVersion(name, type, operations, exportable, policy, () => KeyMaterial.Import(type.Kind, jwk));
            });
        }
        finally
        {
            // The request carried the private key in the clear.
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(copy);
        }
    }

    /// <summary><c>POST /keys/{name}/rotate</c>: a new version like the current one (type, size, operations, exportability, policy) with new material.</summary>
    public JsonObject Rotate(string name, string administrator) => Audited("rotate", name, administrator, () =>
    {
        KeyVersion current = _store.Current(name) ?? throw NotFound(name, null);
        return AddVersion(name, current.Type, current.Operations, current.Attributes.Exportable, current.ReleasePolicy,
            () => KeyMaterial.Generate(current.Type.Kind, current.Type.Kind == KeyKind.Ec ? null : current.Material.KeySize, current.Material.Curve));
    });

    /// <summary><c>GET /keys/{name}[/{version}]</c>: the KeyBundle, public half only.</summary>
    public JsonObject Get(string name, string? version)
    {
        KeyVersion key = (version is null ? _store.Current(name) : _store.Get(name, version)) ?? throw NotFound(name, version);
        return key.ToBundle(_brokerUrl);
    }

    /// <summary><c>GET /keys</c>: Key Vault's KeyListResult, <c>{"value": [{kid (no version), attributes}], "nextLink": null}</c>.</summary>
    public JsonObject List() => new()
    {
        ["value"] = new JsonArray([.. _store.Names.Select(name => _store.Current(name)).OfType<KeyVersion>().Select(key => (JsonNode)new JsonObject
        {
            ["kid"] = $"{_brokerUrl}/keys/{key.Name}",
            ["attributes"] = key.Attributes.ToJson(),
        })]),
        ["nextLink"] = null,
    };

    /// <summary><c>GET /keys/{name}/versions</c>: every version's kid and attributes, oldest first.</summary>
    public JsonObject ListVersions(string name)
    {
        IReadOnlyList<KeyVersion> versions = _store.Versions(name);
        return versions.Count == 0 ? throw NotFound(name, null) : new JsonObject
        {
            ["value"] = new JsonArray([.. versions.Select(key => (JsonNode)new JsonObject { ["kid"] = key.KeyId(_brokerUrl), ["attributes"] = key.Attributes.ToJson() })]),
            ["nextLink"] = null,
        };
    }

    /// <summary>Audits an administrative change refused before it reached these operations (e.g. a body over the size limit).</summary>
    public void RecordRefusal(string operation, string name, string administrator, KeyBrokerException refusal) =>
        _audit.Append(new AuditEntry(operation, name, null, new AuditCaller(Subject: administrator), Allowed: false, $"{refusal.Code}: {refusal.Message}"));

    private JsonObject AddVersion(string name, KeyType type, IReadOnlyList<string> operations, bool exportable, KeyReleasePolicy? policy, Func<KeyMaterial> material)
    {
        if (!KeyVersion.IsValidName(name))
        {
            throw KeyBrokerException.BadParameter($"'{name}' is not a valid key name: 1 to 127 letters, digits and dashes.");
        }

        // Made before the store's lock is taken: generating an RSA-3072 key takes long enough to stall releases.
        KeyMaterial made = material();
        KeyVersion added;
        try
        {
            added = _store.Add(name, (current, sequence) =>
            {
                if (current?.ReleasePolicy is { Immutable: true } immutable && (policy is null || !immutable.SameAs(policy)))
                {
                    throw new KeyBrokerException(Microsoft.AspNetCore.Http.StatusCodes.Status409Conflict, KeyBrokerErrorCodes.PolicyImmutable,
                        $"Key {name} has an immutable release policy; a new version must carry exactly that policy.");
                }

                DateTimeOffset now = _time.GetUtcNow();
                return new KeyVersion(name, KeyStore.NewVersionId(), sequence, type, operations, new KeyAttributes(true, exportable, now, now), policy, made);
            });
        }
        catch
        {
            made.Dispose();
            throw;
        }

        return added.ToBundle(_brokerUrl);
    }

    private JsonObject Audited(string operation, string name, string administrator, Func<JsonObject> change)
    {
        var caller = new AuditCaller(Subject: administrator);
        JsonObject bundle;
        try
        {
            bundle = change();
        }
        catch (Exception ex) when (ex is KeyBrokerException or ReleasePolicyException)
        {
            KeyBrokerException refusal = ex as KeyBrokerException ?? KeyBrokerException.BadParameter(ex.Message);
            _audit.Append(new AuditEntry(operation, name, null, caller, Allowed: false, $"{refusal.Code}: {refusal.Message}"));
            throw refusal;
        }

        JsonNode key = bundle["key"]!;
        string version = key["kid"]!.GetValue<string>().Split('/')[^1];
        string exportable = bundle["attributes"]!["exportable"]!.GetValue<bool>() ? "exportable" : "not exportable";
        _audit.Append(new AuditEntry(operation, name, version, caller, Allowed: true, $"new version: {key["kty"]}, {exportable}, {(bundle["release_policy"] is null ? "no release policy" : "with a release policy")}"));
        return bundle;
    }

    /// <summary>attributes.exportable and release_policy, with Key Vault's rule: an exportable key needs a release policy.</summary>
    private static (bool Exportable, KeyReleasePolicy? Policy) ExportSettings(JsonElement root)
    {
        bool exportable = false;
        if (root.TryGetProperty("attributes", out JsonElement attributes))
        {
            if (attributes.ValueKind != JsonValueKind.Object)
            {
                throw KeyBrokerException.BadParameter("'attributes' must be an object.");
            }

            Allow(attributes, "attributes.", "exportable", "enabled");
            if (attributes.TryGetProperty("enabled", out JsonElement enabled) && !RequestJson.Boolean(enabled, "attributes.enabled"))
            {
                throw KeyBrokerException.BadParameter("'attributes.enabled': false is not supported; every key version is enabled.");
            }

            if (attributes.TryGetProperty("exportable", out JsonElement value))
            {
                exportable = RequestJson.Boolean(value, "attributes.exportable");
            }
        }

        KeyReleasePolicy? policy = root.TryGetProperty("release_policy", out JsonElement policyJson) && policyJson.ValueKind != JsonValueKind.Null
            ? KeyReleasePolicy.FromJson(policyJson)
            : null;
        if (exportable && policy is null)
        {
            throw KeyBrokerException.BadParameter("An exportable key requires a release policy ('release_policy'): without one nothing could ever release it.");
        }

        return (exportable, policy);
    }

    private static IReadOnlyList<string>? Operations(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name.Split('.')[^1], out JsonElement ops))
        {
            return null;
        }

        if (ops.ValueKind != JsonValueKind.Array || ops.GetArrayLength() == 0)
        {
            throw KeyBrokerException.BadParameter($"'{name}' must be a non-empty array of operations ({string.Join(", ", KnownOperations)}).");
        }

        var operations = new List<string>();
        foreach (JsonElement op in ops.EnumerateArray())
        {
            string value = op.ValueKind == JsonValueKind.String ? op.GetString()! : throw KeyBrokerException.BadParameter($"'{name}' holds a non-string.");
            if (!KnownOperations.Contains(value))
            {
                throw KeyBrokerException.BadParameter($"'{name}' has the unknown operation '{value}'; use {string.Join(", ", KnownOperations)}.");
            }

            if (!operations.Contains(value))
            {
                operations.Add(value);
            }
        }

        return operations;
    }

    private static void Allow(JsonElement element, string prefix, params string[] allowed)
    {
        foreach (JsonProperty property in element.EnumerateObject())
        {
            if (!allowed.Contains(property.Name, StringComparer.Ordinal))
            {
                throw KeyBrokerException.BadParameter($"'{prefix}{property.Name}' is not supported here; allowed: {string.Join(", ", allowed)}.");
            }
        }
    }

    private static KeyBrokerException NotFound(string name, string? version) =>
        KeyBrokerException.NotFound($"A key with (name/id) {name}{(version is null ? "" : "/" + version)} was not found in this key broker.");
}
