using Confide.Inference.Models;

namespace Confide.Inference.Keys;

/// <summary>
/// Supplies the 32-byte key of an encrypted model. The repository calls it once per model version
/// at load time with <see cref="ModelDescriptor.KeyId"/> set from the file's header, checks the
/// returned key's id against the file's, and zeroes the key after decrypting.
/// </summary>
/// <remarks>
/// Implementations: <see cref="SealedModelKeyProvider"/> (keys sealed to the enclave, for
/// development and single-host deployments); a key-release provider (keys released by a key broker
/// to an attested enclave) plugs in the same way.
/// </remarks>
public interface IModelKeyProvider
{
    /// <summary>Returns the model's key (the caller owns and zeroes the array).</summary>
    /// <exception cref="ModelKeyUnavailableException">The provider has no key for this model, or cannot get it now.</exception>
    ValueTask<byte[]> GetKeyAsync(ModelDescriptor model, CancellationToken cancellationToken);
}

/// <summary>A key provider could not supply a model's key; the message says why, and names no key material.</summary>
public sealed class ModelKeyUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
