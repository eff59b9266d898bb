using System.Security.Cryptography;
using Confide.Inference.Encryption;
using Confide.Inference.Keys;

namespace Confide.Inference.Models;

/// <summary>
/// The models a server offers: several models, each in one or more versions, every version loaded
/// once (decrypted inside the enclave with its key from the key provider) into its own session.
/// </summary>
/// <remarks>
/// Directory layout read by <see cref="Scan"/> (Triton's): <c>&lt;root&gt;/&lt;model name&gt;/&lt;version&gt;/model.confide</c>
/// (a CONFIDE-MODEL file) or <c>.../model.onnx</c> (plaintext, development only).
/// </remarks>
public sealed class ModelRepository : IDisposable
{
    /// <summary>The file name of an encrypted model in a version directory.</summary>
    public const string EncryptedFileName = "model.confide";

    /// <summary>The file name of a plaintext model in a version directory.</summary>
    public const string PlaintextFileName = "model.onnx";

    private readonly Dictionary<string, ModelVersionState[]> _models;

    private ModelRepository(Dictionary<string, ModelVersionState[]> models)
    {
        _models = models;
        ModelNames = [.. models.Keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>The names of the models served, sorted.</summary>
    public IReadOnlyList<string> ModelNames { get; }

    /// <summary>True when every version of every model loaded.</summary>
    public bool AllReady => _models.Values.All(versions => versions.All(v => v.IsReady));

    /// <summary>True when at least one version of some model loaded.</summary>
    public bool AnyReady => _models.Values.Any(versions => versions.Any(v => v.IsReady));

    /// <summary>Every version of every model, loaded or failed.</summary>
    public IEnumerable<ModelVersionState> AllVersions => _models.Values.SelectMany(v => v);

    public bool Contains(string name) => _models.ContainsKey(name);

    /// <summary>The versions of a model, ascending; empty for an unknown model.</summary>
    public IReadOnlyList<ModelVersionState> VersionsOf(string name) => _models.TryGetValue(name, out ModelVersionState[]? versions) ? versions : [];

    /// <summary>
    /// The version to serve: the one named, or with none, the highest that loaded.
    /// </summary>
    /// <exception cref="InferenceException">ModelNotFound, VersionNotFound, ModelNotReady.</exception>
    public ModelVersionState Find(string name, string? version)
    {
        if (!_models.TryGetValue(name, out ModelVersionState[]? versions))
        {
            throw new InferenceException(InferenceError.ModelNotFound, $"Model '{name}' is not served here.");
        }

        if (string.IsNullOrEmpty(version))
        {
            return versions.LastOrDefault(v => v.IsReady) ?? versions[^1];
        }

        return versions.FirstOrDefault(v => v.Descriptor.Version == version)
            ?? throw new InferenceException(InferenceError.VersionNotFound, $"Model '{name}' has no version '{version}'; it has {string.Join(", ", versions.Select(v => v.Descriptor.Version))}.");
    }

    /// <summary>The loaded version to run.</summary>
    /// <exception cref="InferenceException">ModelNotFound, VersionNotFound, ModelNotReady.</exception>
    public LoadedModel Resolve(string name, string? version)
    {
        ModelVersionState state = Find(name, version);
        return state.Model ?? throw new InferenceException(InferenceError.ModelNotReady, $"Model '{name}' version {state.Descriptor.Version} is not ready: it failed to load.");
    }

    /// <summary>Lists the model versions in a repository directory (see the type's remarks).</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="InvalidDataException">A directory that is not a valid model name or version, a version without a model file, or with both files.</exception>
    public static IReadOnlyList<ModelDescriptor> Scan(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Model repository '{directory}' does not exist.");
        }

        var models = new List<ModelDescriptor>();
        foreach (string modelDirectory in Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(modelDirectory);
            if (name.StartsWith('.'))
            {
                continue;
            }

            if (!ModelDescriptor.IsValidName(name))
            {
                throw new InvalidDataException($"'{modelDirectory}' is not a valid model name (letters, digits, '_', '-', '.').");
            }

            int before = models.Count;
            foreach (string versionDirectory in Directory.EnumerateDirectories(modelDirectory).Order(StringComparer.Ordinal))
            {
                string version = Path.GetFileName(versionDirectory);
                if (version.StartsWith('.'))
                {
                    continue;
                }

                if (!ModelDescriptor.TryParseVersion(version, out _))
                {
                    throw new InvalidDataException($"'{versionDirectory}' is not a model version: version directories are positive integers.");
                }

                string encrypted = Path.Combine(versionDirectory, EncryptedFileName);
                string plaintext = Path.Combine(versionDirectory, PlaintextFileName);
                (bool hasEncrypted, bool hasPlaintext) = (File.Exists(encrypted), File.Exists(plaintext));
                if (hasEncrypted == hasPlaintext)
                {
                    throw new InvalidDataException(hasEncrypted
                        ? $"'{versionDirectory}' holds both {EncryptedFileName} and {PlaintextFileName}; keep one."
                        : $"'{versionDirectory}' holds neither {EncryptedFileName} nor {PlaintextFileName}.");
                }

                models.Add(new ModelDescriptor(name, version, hasEncrypted ? encrypted : plaintext));
            }

            if (models.Count == before)
            {
                throw new InvalidDataException($"Model directory '{modelDirectory}' has no version directories.");
            }
        }

        return models;
    }

    /// <summary>Loads every model version (sequentially: each one's session already uses the cores).</summary>
    /// <exception cref="ArgumentException">No models, or a name and version given twice.</exception>
    /// <exception cref="ModelLoadException">A version failed to load and <see cref="ModelRepositoryOptions.FailOnLoadError"/> is set.</exception>
    public static async Task<ModelRepository> LoadAsync(IEnumerable<ModelDescriptor> models, ModelRepositoryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(models);
        options ??= new ModelRepositoryOptions();
        ModelDescriptor[] descriptors = [.. models];
        if (descriptors.Length == 0)
        {
            throw new ArgumentException("A model repository needs at least one model.", nameof(models));
        }

        var duplicate = descriptors.GroupBy(d => (d.Name, d.Version)).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Model '{duplicate.Key.Name}' version {duplicate.Key.Version} is listed twice.", nameof(models));
        }

        var loaded = new Dictionary<string, List<ModelVersionState>>(StringComparer.Ordinal);
        try
        {
            foreach (ModelDescriptor descriptor in descriptors)
            {
                ModelVersionState state;
                try
                {
                    state = new ModelVersionState(descriptor, await LoadOneAsync(descriptor, options, cancellationToken).ConfigureAwait(false), null);
                }
                catch (ModelLoadException ex) when (!options.FailOnLoadError)
                {
                    state = new ModelVersionState(descriptor, null, ex);
                }

                if (!loaded.TryGetValue(descriptor.Name, out List<ModelVersionState>? versions))
                {
                    loaded[descriptor.Name] = versions = [];
                }

                versions.Add(state);
            }
        }
        catch
        {
            foreach (ModelVersionState state in loaded.Values.SelectMany(v => v))
            {
                state.Model?.Dispose();
            }

            throw;
        }

        return new ModelRepository(loaded.ToDictionary(p => p.Key, p => p.Value.OrderBy(v => v.Descriptor.VersionNumber).ToArray(), StringComparer.Ordinal));
    }

    /// <summary>Reads, decrypts (inside the enclave) and loads one model version.</summary>
    /// <exception cref="ModelLoadException">Any reason in <see cref="ModelLoadError"/>.</exception>
    public static async Task<LoadedModel> LoadOneAsync(ModelDescriptor descriptor, ModelRepositoryOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentNullException.ThrowIfNull(options);
        byte[] file = await ReadFileAsync(descriptor, options.MaxModelBytes, cancellationToken).ConfigureAwait(false);
        string fileSha256 = Convert.ToHexStringLower(SHA256.HashData(file));
        byte[] model;
        if (ModelEncryption.IsEncryptedModel(file))
        {
            model = await DecryptAsync(descriptor, file, options.KeyProvider, cancellationToken).ConfigureAwait(false);
        }
        else if (options.AllowPlaintextModels)
        {
            model = file;
        }
        else
        {
            throw new ModelLoadException(descriptor, ModelLoadError.PlaintextNotAllowed,
                "not a CONFIDE-MODEL file; plaintext models load only when explicitly allowed (development). Encrypt it with 'confide model encrypt'.");
        }

        try
        {
            return LoadedModel.Create(descriptor, model, fileSha256, options.ConfigureSession);
        }
        finally
        {
            // The session holds its own copy; the decrypted weights must not linger in the managed heap.
            CryptographicOperations.ZeroMemory(model);
        }
    }

    private static async Task<byte[]> ReadFileAsync(ModelDescriptor descriptor, long maxBytes, CancellationToken cancellationToken)
    {
        try
        {
            long length = new FileInfo(descriptor.Path).Length;
            if (length > maxBytes)
            {
                throw new ModelLoadException(descriptor, ModelLoadError.TooLarge, $"the file is {length} bytes; at most {maxBytes} are accepted.");
            }

            return await File.ReadAllBytesAsync(descriptor.Path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(descriptor, ModelLoadError.NotFound, $"cannot read the model file: {ex.Message}", ex);
        }
    }

    private static async Task<byte[]> DecryptAsync(ModelDescriptor descriptor, byte[] file, IModelKeyProvider? provider, CancellationToken cancellationToken)
    {
        ModelFileHeader header;
        try
        {
            header = ModelEncryption.ReadHeader(file);
        }
        catch (ModelEncryptionException ex)
        {
            throw new ModelLoadException(descriptor, ModelLoadError.Decryption, $"{ex.Error}: {ex.Message}", ex);
        }

        if (provider is null)
        {
            throw new ModelLoadException(descriptor, ModelLoadError.NoKeyProvider, $"the model is encrypted (key id {header.KeyIdHex}) and no key provider is configured.");
        }

        ModelDescriptor withKey = descriptor with { KeyId = header.KeyIdHex };
        byte[] key;
        try
        {
            key = await provider.GetKeyAsync(withKey, cancellationToken).ConfigureAwait(false);
        }
        catch (ModelKeyUnavailableException ex)
        {
            throw new ModelLoadException(descriptor, ModelLoadError.KeyUnavailable, ex.Message, ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new ModelLoadException(descriptor, ModelLoadError.KeyUnavailable, $"the key provider failed: {ex.Message}", ex);
        }

        try
        {
            return ModelEncryption.Decrypt(file, key);
        }
        catch (ModelEncryptionException ex)
        {
            throw new ModelLoadException(descriptor, ModelLoadError.Decryption, $"{ex.Error}: {ex.Message}", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    public void Dispose()
    {
        foreach (ModelVersionState state in AllVersions)
        {
            state.Model?.Dispose();
        }
    }
}

/// <summary>A configured model version: loaded, or failed with the reason.</summary>
public sealed record ModelVersionState(ModelDescriptor Descriptor, LoadedModel? Model, ModelLoadException? Failure)
{
    public bool IsReady => Model is not null;
}
