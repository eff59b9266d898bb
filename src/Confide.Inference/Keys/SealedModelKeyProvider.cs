using System.Security.Cryptography;
using System.Text;
using Confide.Inference.Encryption;
using Confide.Inference.Models;
using Confide.Tee;
using Confide.Tee.Sealing;
using Confide.Tee.Storage;

namespace Confide.Inference.Keys;

/// <summary>
/// Model keys sealed to this enclave's identity (<see cref="EnclaveSealer"/>), one file per key in a
/// directory, named by key id: <c>&lt;key id&gt;.sealed</c>. A model is opened with the key whose id
/// its header names, so no name mapping is needed. The key id is the sealed blob's associated data:
/// a blob renamed to another id does not open.
/// </summary>
/// <remarks>
/// For development and single-host deployments: the key has to be imported once in the clear
/// (<see cref="Import"/>, <c>confide inference serve --import-key</c>). On the simulation TEE the
/// sealing protects nothing, so the provider refuses it unless allowed.
/// </remarks>
public sealed class SealedModelKeyProvider : IModelKeyProvider
{
    private const string Extension = ".sealed";

    private readonly EnclaveSealer _sealer;
    private readonly SealPolicy _policy;

    /// <exception cref="ArgumentException">The TEE is simulated and <paramref name="allowSimulation"/> is false.</exception>
    public SealedModelKeyProvider(ITee tee, string directory, bool allowSimulation = false, SealPolicy policy = SealPolicy.Product)
    {
        ArgumentNullException.ThrowIfNull(tee);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (tee.IsSimulated && !allowSimulation)
        {
            throw new ArgumentException("The TEE is the simulation, whose sealing protects nothing; allow it explicitly for development only.", nameof(tee));
        }

        _sealer = new EnclaveSealer(tee);
        _policy = policy;
        Directory = directory;
        System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        DurableFile.RemoveLeftovers(directory);
    }

    public string Directory { get; }

    /// <summary>The ids (hex) of the keys held.</summary>
    public IReadOnlyList<string> KeyIds =>
        [.. System.IO.Directory.EnumerateFiles(Directory, "*" + Extension).Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal)];

    /// <summary>Seals <paramref name="key"/> into the directory (replacing a blob of the same id) and returns its id.</summary>
    /// <exception cref="ModelEncryptionException">InvalidKey: not 32 bytes.</exception>
    public string Import(ReadOnlySpan<byte> key)
    {
        string id = ModelEncryption.KeyIdHex(key);
        byte[] blob = _sealer.Seal(key, _policy, AssociatedData(id));
        DurableFile.WriteAllBytes(PathOf(id), blob);
        return id;
    }

    /// <summary>Removes a key; false if it was not there.</summary>
    public bool Remove(string keyId)
    {
        string path = PathOf(CheckId(keyId));
        if (!File.Exists(path))
        {
            return false;
        }

        DurableFile.Delete(path);
        return true;
    }

    public async ValueTask<byte[]> GetKeyAsync(ModelDescriptor model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.KeyId is null)
        {
            throw new ModelKeyUnavailableException($"{model} names no key id; the sealed key provider finds keys by the id in the model file's header.");
        }

        string path = PathOf(CheckId(model.KeyId));
        byte[] blob;
        try
        {
            blob = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            throw new ModelKeyUnavailableException($"No sealed key with id {model.KeyId} in {Directory} (import it first).");
        }

        try
        {
            byte[] key = _sealer.Unseal(blob, AssociatedData(model.KeyId));
            if (ModelEncryption.KeyIdHex(key) != model.KeyId)
            {
                CryptographicOperations.ZeroMemory(key);
                throw new ModelKeyUnavailableException($"The sealed key file for id {model.KeyId} holds another key.");
            }

            return key;
        }
        catch (SealingException ex)
        {
            throw new ModelKeyUnavailableException($"The sealed key {model.KeyId} cannot be unsealed by this enclave ({ex.Error}): {ex.Message}", ex);
        }
    }

    private string PathOf(string keyId) => Path.Combine(Directory, keyId + Extension);

    private static string CheckId(string keyId)
    {
        if (keyId.Length != ModelEncryption.KeyIdSize * 2 || !keyId.All(c => char.IsAsciiHexDigitLower(c) || char.IsAsciiDigit(c)))
        {
            throw new ModelKeyUnavailableException($"'{keyId}' is not a key id ({ModelEncryption.KeyIdSize * 2} lower-case hex digits).");
        }

        return keyId;
    }

    private static byte[] AssociatedData(string keyId) => Encoding.ASCII.GetBytes("confide model key " + keyId);
}
