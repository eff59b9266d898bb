using System.Collections.Concurrent;
using Confide.Inference.Keys;
using Confide.Inference.Models;
using Confide.KeyRelease.Client;

namespace Confide.Inference.Confidential;

/// <summary>
/// Model keys released by a key broker to this attested enclave (production): the key named by
/// <see cref="ModelDescriptor.KeyName"/> (default: the model's name) is released through
/// <see cref="KeyReleaseClient"/> — attestation, wrapping to a fresh enclave key, unwrapping inside —
/// and kept in enclave memory for the model's other versions.
/// </summary>
public sealed class KeyReleaseModelKeyProvider(KeyReleaseClient client) : IModelKeyProvider
{
    private readonly ConcurrentDictionary<string, Lazy<Task<byte[]>>> _released = new(StringComparer.Ordinal);

    public async ValueTask<byte[]> GetKeyAsync(ModelDescriptor model, CancellationToken cancellationToken)
    {
        string name = model.KeyName ?? model.Name;
        Lazy<Task<byte[]>> release = _released.GetOrAdd(name, key => new Lazy<Task<byte[]>>(() => ReleaseAsync(key, cancellationToken)));
        try
        {
            return (await release.Value.ConfigureAwait(false)).ToArray(); // the caller owns and zeroes its copy
        }
        catch (Exception ex)
        {
            _released.TryRemove(name, out _); // a later load tries again
            if (ex is KeyReleaseException refused)
            {
                throw new ModelKeyUnavailableException($"The key broker did not release key '{name}' for {model}: {refused.ErrorCode}: {refused.Message}", ex);
            }

            if (ex is HttpRequestException or Confide.Tls.Verification.AttestedTlsException)
            {
                throw new ModelKeyUnavailableException($"The key broker could not be reached or verified for key '{name}' of {model}: {ex.Message}", ex);
            }

            throw;
        }
    }

    private async Task<byte[]> ReleaseAsync(string name, CancellationToken cancellationToken)
    {
        using ReleasedKey key = await client.ReleaseAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
        return key.SymmetricKey.ToArray();
    }
}
