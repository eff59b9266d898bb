using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Confide.KeyRelease.Policies;
using Confide.Tee;
using Confide.Tee.Sealing;
using Confide.Tee.Storage;

namespace Confide.KeyRelease.Keys;

/// <summary>
/// The broker's keys: one sealed file per version, <c>{name}.{version}.sealed</c>, sealed to the
/// broker's own enclave identity (product policy: a newer broker build from the same signer opens
/// them) with the file's name as associated data, so that a blob cannot be renamed into another
/// key. Written with <see cref="DurableFile"/>: after a write returns the version survives a crash
/// or power loss; a crash during the write leaves no partial file.
/// </summary>
public sealed class KeyStore : IDisposable
{
    private const string Extension = ".sealed";
    private const string AssociatedDataPrefix = "confide/key-release/key-version/v1:";

    private readonly string _directory;
    private readonly EnclaveSealer _sealer;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<KeyVersion>> _keys = new(StringComparer.Ordinal);

    private KeyStore(string directory, ITee tee)
    {
        _directory = directory;
        _sealer = new EnclaveSealer(tee);
    }

    /// <summary>Opens (creating if needed) the store in <paramref name="directory"/> and unseals every version.</summary>
    /// <exception cref="InvalidDataException">
    /// A file cannot be unsealed (sealed by another identity, or altered), is malformed, or is not
    /// named as the key it holds. The broker must not start on a store it cannot fully read.
    /// </exception>
    public static KeyStore Open(string directory, ITee tee)
    {
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        DurableFile.RemoveLeftovers(directory);
        var store = new KeyStore(directory, tee);
        try
        {
            foreach (string path in Directory.EnumerateFiles(directory, "*" + Extension).Order(StringComparer.Ordinal))
            {
                KeyVersion version = store.Load(path);
                store.Insert(version);
            }
        }
        catch
        {
            store.Dispose();
            throw;
        }

        return store;
    }

    /// <summary>Names of all keys, sorted.</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_lock)
            {
                return [.. _keys.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>The newest version of <paramref name="name"/>, or null.</summary>
    public KeyVersion? Current(string name)
    {
        lock (_lock)
        {
            return _keys.TryGetValue(name, out List<KeyVersion>? versions) ? versions[^1] : null;
        }
    }

    /// <summary>A version of <paramref name="name"/>, or null.</summary>
    public KeyVersion? Get(string name, string version)
    {
        lock (_lock)
        {
            return _keys.TryGetValue(name, out List<KeyVersion>? versions) ? versions.Find(v => v.Version == version) : null;
        }
    }

    /// <summary>Every version of <paramref name="name"/>, oldest first (empty when there is no such key).</summary>
    public IReadOnlyList<KeyVersion> Versions(string name)
    {
        lock (_lock)
        {
            return _keys.TryGetValue(name, out List<KeyVersion>? versions) ? [.. versions] : [];
        }
    }

    /// <summary>
    /// Adds a version made by <paramref name="create"/> from the key's current version (null for a
    /// new key) and its sequence number, storing it durably before it becomes visible.
    /// </summary>
    public KeyVersion Add(string name, Func<KeyVersion?, long, KeyVersion> create)
    {
        lock (_lock)
        {
            KeyVersion? current = _keys.TryGetValue(name, out List<KeyVersion>? versions) ? versions[^1] : null;
            KeyVersion version = create(current, (current?.Sequence ?? 0) + 1);
            try
            {
                Save(version);
            }
            catch
            {
                version.Dispose();
                throw;
            }

            Insert(version);
            return version;
        }
    }

    /// <summary>A fresh random version id.</summary>
    public static string NewVersionId() => RandomNumberGenerator.GetHexString(32, lowercase: true);

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (KeyVersion version in _keys.Values.SelectMany(v => v))
            {
                version.Dispose();
            }

            _keys.Clear();
        }
    }

    private void Insert(KeyVersion version)
    {
        if (!_keys.TryGetValue(version.Name, out List<KeyVersion>? versions))
        {
            _keys[version.Name] = versions = [];
        }

        versions.Add(version);
        versions.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
    }

    private static byte[] AssociatedData(string name, string version) => Encoding.ASCII.GetBytes($"{AssociatedDataPrefix}{name}/{version}");

    private string PathOf(string name, string version) => Path.Combine(_directory, $"{name}.{version}{Extension}");

    private void Save(KeyVersion version)
    {
        byte[] secret = version.Material.Secret.ToArray();
        var stored = new StoredVersion(
            version.Name, version.Version, version.Sequence, version.Type.Name, [.. version.Operations],
            version.Attributes.Enabled, version.Attributes.Exportable, version.Attributes.Created, version.Attributes.Updated,
            version.ReleasePolicy is { } policy ? new StoredPolicy(policy.ContentType, policy.Data.ToArray(), policy.Immutable) : null,
            secret);
        byte[] plaintext = JsonSerializer.SerializeToUtf8Bytes(stored);
        try
        {
            byte[] sealedBlob = _sealer.Seal(plaintext, SealPolicy.Product, AssociatedData(version.Name, version.Version));
            DurableFile.WriteAllBytes(PathOf(version.Name, version.Version), sealedBlob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private KeyVersion Load(string path)
    {
        string file = Path.GetFileName(path);
        string[] parts = file[..^Extension.Length].Split('.');
        if (parts.Length != 2 || !KeyVersion.IsValidName(parts[0]) || !KeyVersion.IsValidVersion(parts[1]))
        {
            throw new InvalidDataException($"The key store holds '{path}', which is not named {{key name}}.{{32 hex version}}{Extension}; the broker refuses to start on a store it does not understand. Remove the file if it does not belong there.");
        }

        byte[] plaintext;
        try
        {
            plaintext = _sealer.Unseal(File.ReadAllBytes(path), AssociatedData(parts[0], parts[1]));
        }
        catch (SealingException ex)
        {
            throw new InvalidDataException($"The key version '{path}' cannot be unsealed ({ex.Error}: {ex.Message}). It was sealed by another broker identity, renamed, or altered; the broker refuses to start rather than serve an incomplete key store.", ex);
        }

        try
        {
            StoredVersion stored = JsonSerializer.Deserialize<StoredVersion>(plaintext) ?? throw new JsonException("null");
            if (stored.Name != parts[0] || stored.Version != parts[1])
            {
                throw new JsonException($"it holds {stored.Name}/{stored.Version}");
            }

            KeyType type = KeyType.Parse(stored.KeyType);
            KeyReleasePolicy? policy = stored.ReleasePolicy is { } p ? KeyReleasePolicy.Create(p.ContentType, p.Data, p.Immutable) : null;
            KeyMaterial material = KeyMaterial.FromSecret(type.Kind, stored.Secret);
            CryptographicOperations.ZeroMemory(stored.Secret);
            return new KeyVersion(stored.Name, stored.Version, stored.Sequence, type, stored.Operations,
                new KeyAttributes(stored.Enabled, stored.Exportable, stored.Created, stored.Updated), policy, material);
        }
        catch (Exception ex) when (ex is JsonException or CryptographicException or KeyBrokerException or ReleasePolicyException)
        {
            throw new InvalidDataException($"The key version '{path}' is malformed: {ex.Message}", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private sealed record StoredPolicy(string ContentType, byte[] Data, bool Immutable);

    private sealed record StoredVersion(
        string Name, string Version, long Sequence, string KeyType, string[] Operations,
        bool Enabled, bool Exportable, DateTimeOffset Created, DateTimeOffset Updated,
        StoredPolicy? ReleasePolicy, byte[] Secret);
}
