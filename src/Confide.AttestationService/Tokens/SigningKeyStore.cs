using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Confide.Tee;
using Confide.Tee.Sealing;
using Confide.Tee.Storage;

namespace Confide.AttestationService.Tokens;

/// <summary>
/// Keeps the service's token-signing keys sealed to its own enclave identity (product policy, so
/// a newer build from the same signer still opens them), one file per key in a directory. A key's
/// certificate embeds the service's evidence over the key. Keys of another issuer are left alone;
/// keys retired longer than a token's lifetime are deleted.
/// </summary>
public sealed class SigningKeyStore
{
    /// <summary>A key is replaced on start when its certificate expires sooner than this.</summary>
    public static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    private static readonly byte[] AssociatedData = "confide/attestation-service/signing-key/v1"u8.ToArray();

    private readonly string _directory;
    private readonly ITee _tee;
    private readonly EnclaveSealer _sealer;

    private SigningKeyStore(string directory, ITee tee)
    {
        _directory = directory;
        _tee = tee;
        _sealer = new EnclaveSealer(tee);
    }

    /// <summary>
    /// Opens the keys in <paramref name="directory"/> for <paramref name="issuer"/>, creating the
    /// first key (or a renewal) when needed, and returns a signer over them.
    /// </summary>
    /// <exception cref="InvalidDataException">A stored key cannot be unsealed (another identity, or tampered) or is malformed.</exception>
    public static async Task<AttestationTokenSigner> OpenSignerAsync(string directory, string issuer, ITee tee, TimeProvider time, CancellationToken cancellationToken = default)
    {
        issuer = issuer.TrimEnd('/');
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        DurableFile.RemoveLeftovers(directory);
        var store = new SigningKeyStore(directory, tee);
        DateTimeOffset now = time.GetUtcNow();

        var keys = new List<(SigningKey Key, string Path)>();
        try
        {
            foreach (string path in Directory.EnumerateFiles(directory, "*.sealed"))
            {
                (string keyIssuer, SigningKey key) = store.Load(path);
                if (keyIssuer == issuer)
                {
                    keys.Add((key, path));
                }
                else
                {
                    key.Dispose();
                }
            }

            keys.Sort((a, b) => b.Key.CreatedAt.CompareTo(a.Key.CreatedAt));
            for (int i = keys.Count - 1; i >= 1; i--)
            {
                if (now - keys[i - 1].Key.CreatedAt >= AttestationTokenSigner.RetiredKeyRetention)
                {
                    DurableFile.Delete(keys[i].Path);
                    keys[i].Key.Dispose();
                    keys.RemoveAt(i);
                }
            }

            if (keys.Count == 0 || keys[0].Key.Certificate.NotAfter.ToUniversalTime() - now.UtcDateTime < RenewBefore)
            {
                keys.Insert(0, (await store.CreateKeyAsync(issuer, now, cancellationToken).ConfigureAwait(false), string.Empty));
            }
        }
        catch
        {
            keys.ForEach(k => k.Key.Dispose());
            throw;
        }

        return new AttestationTokenSigner(issuer, [.. keys.Select(k => k.Key)], time, store);
    }

    /// <summary>Creates a key, its certificate with evidence, and stores it sealed before returning it.</summary>
    internal async Task<SigningKey> CreateKeyAsync(string issuer, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rsa = RSA.Create(2048);
        try
        {
            TeeEvidence evidence = await _tee.GetEvidenceAsync(SigningKey.PublicKeyDigest(rsa), cancellationToken).ConfigureAwait(false);
            SigningKey key = SigningKey.Create(issuer, now, rsa, evidence.Data);
            Save(issuer, key);
            return key;
        }
        catch
        {
            rsa.Dispose();
            throw;
        }
    }

    private void Save(string issuer, SigningKey key)
    {
        byte[] pkcs8 = key.Key.ExportPkcs8PrivateKey();
        byte[] plaintext = JsonSerializer.SerializeToUtf8Bytes(new StoredKey(issuer, key.CreatedAt, pkcs8, key.Certificate.RawData));
        try
        {
            byte[] sealedBlob = _sealer.Seal(plaintext, SealPolicy.Product, AssociatedData);
            DurableFile.WriteAllBytes(Path.Combine(_directory, $"{key.CreatedAt.UtcTicks:D20}-{Convert.ToHexStringLower(SHA256.HashData(key.Certificate.RawData))[..16]}.sealed"), sealedBlob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private (string Issuer, SigningKey Key) Load(string path)
    {
        byte[] plaintext;
        try
        {
            plaintext = _sealer.Unseal(File.ReadAllBytes(path), AssociatedData);
        }
        catch (SealingException ex)
        {
            throw new InvalidDataException($"The signing key '{path}' cannot be unsealed ({ex.Error}: {ex.Message}). It was sealed by another service identity or altered; remove it to start with a new key.", ex);
        }

        try
        {
            StoredKey stored = JsonSerializer.Deserialize<StoredKey>(plaintext) ?? throw new JsonException("null");
            var rsa = RSA.Create();
            try
            {
                rsa.ImportPkcs8PrivateKey(stored.Pkcs8, out _);
                X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(stored.Certificate);
                using RSA? certificateKey = certificate.GetRSAPublicKey();
                if (certificateKey is null || !certificateKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(rsa.ExportSubjectPublicKeyInfo()))
                {
                    throw new CryptographicException("the certificate is not the key's");
                }

                return (stored.Issuer, new SigningKey(rsa, certificate, stored.CreatedAt));
            }
            catch
            {
                rsa.Dispose();
                throw;
            }
        }
        catch (Exception ex) when (ex is JsonException or CryptographicException)
        {
            throw new InvalidDataException($"The signing key '{path}' is malformed: {ex.Message}", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private sealed record StoredKey(string Issuer, DateTimeOffset CreatedAt, byte[] Pkcs8, byte[] Certificate);
}
