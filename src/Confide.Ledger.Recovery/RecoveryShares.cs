using System.Security.Cryptography;

namespace Confide.Ledger.Recovery;

/// <summary>
/// Issues recovery shares of a ledger secret to recovery members, and decrypts a member's own share.
/// </summary>
/// <remarks>
/// As CCF's share manager: a fresh sharing secret is drawn for every issuance, the ledger secret is
/// wrapped under the key derived from it, the secret is split threshold-of-members, and share i is
/// RSA-OAEP-SHA256 (MGF1-SHA256, no label) encrypted to member i. The sharing secret and the wrapping key
/// are zeroed before returning; only the public <see cref="RecoveryIssuance"/> leaves.
/// </remarks>
public static class RecoveryShares
{
    /// <summary>The shortest member RSA key accepted, in bits.</summary>
    public const int MinimumRsaKeySize = 2048;

    /// <summary>
    /// Wraps <paramref name="ledgerSecret"/> under a fresh wrapping key and issues one encrypted share of
    /// it to each member (x = 1..n in list order), any <paramref name="threshold"/> of which recover it.
    /// </summary>
    /// <exception cref="ArgumentException">A ledger secret that is not 32 bytes.</exception>
    /// <exception cref="RecoveryException">No members, an empty or repeated id, a key that is not RSA in PEM or shorter than 2048 bits.</exception>
    /// <exception cref="SecretSharingException">More than 255 members, or a threshold outside 1..members.</exception>
    public static RecoveryIssuance Issue(ReadOnlySpan<byte> ledgerSecret, IReadOnlyList<RecoveryMember> members, int threshold)
    {
        if (ledgerSecret.Length != LedgerSecretWrapping.LedgerSecretSize)
        {
            throw new ArgumentException($"A ledger secret is {LedgerSecretWrapping.LedgerSecretSize} bytes, not {ledgerSecret.Length}.", nameof(ledgerSecret));
        }

        RSA[] memberKeys = ImportMemberKeys(members);
        try
        {
            byte[] issuanceId = RandomNumberGenerator.GetBytes(RecoveryIssuance.IssuanceIdSize);
            using SharingSecret secret = SharingSecret.CreateRandom();
            Share[] shares = SecretSharing.Split(secret, members.Count, threshold);
            try
            {
                byte[] wrapped = WrapUnder(secret, ledgerSecret);
                var issued = new IssuedShare[members.Count];
                for (int i = 0; i < issued.Length; i++)
                {
                    issued[i] = EncryptShare(issuanceId, members[i].Id, shares[i], memberKeys[i]);
                }

                return new RecoveryIssuance(issuanceId, threshold, wrapped, issued);
            }
            finally
            {
                foreach (Share share in shares)
                {
                    share.Dispose();
                }
            }
        }
        finally
        {
            foreach (RSA key in memberKeys)
            {
                key.Dispose();
            }
        }
    }

    /// <summary>A member decrypts its encrypted share with its RSA private key (the caller should zero the 44 bytes after use).</summary>
    /// <exception cref="RecoveryException">
    /// <see cref="RecoveryError.ShareDecryptionFailed"/> (not this member's key, or altered bytes), or
    /// <see cref="RecoveryError.MalformedShare"/> when the plaintext is not 44 bytes.
    /// </exception>
    public static byte[] DecryptShare(ReadOnlySpan<byte> encryptedShare, RSA memberPrivateKey)
    {
        byte[] share;
        try
        {
            share = memberPrivateKey.Decrypt(encryptedShare, RSAEncryptionPadding.OaepSHA256);
        }
        catch (CryptographicException e)
        {
            throw new RecoveryException(RecoveryError.ShareDecryptionFailed, "The encrypted share does not decrypt under this key: another member's key, or altered bytes.", e);
        }

        if (share.Length != Share.SerializedSize)
        {
            CryptographicOperations.ZeroMemory(share);
            throw new RecoveryException(RecoveryError.MalformedShare, $"The decrypted share is {share.Length} bytes, not {Share.SerializedSize}.");
        }

        return share;
    }

    /// <summary>As <see cref="DecryptShare(ReadOnlySpan{byte}, RSA)"/>, with the private key in PEM.</summary>
    /// <exception cref="RecoveryException">Also <see cref="RecoveryError.InvalidMemberKey"/> for a PEM that is not an RSA private key.</exception>
    public static byte[] DecryptShare(ReadOnlySpan<byte> encryptedShare, string memberPrivateKeyPem)
    {
        using var key = RSA.Create();
        try
        {
            key.ImportFromPem(memberPrivateKeyPem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw new RecoveryException(RecoveryError.InvalidMemberKey, "The member private key is not an RSA key in PEM.", e);
        }

        return DecryptShare(encryptedShare, key);
    }

    private static byte[] WrapUnder(SharingSecret secret, ReadOnlySpan<byte> ledgerSecret)
    {
        Span<byte> wrappingKey = stackalloc byte[WrappingKey.Size];
        try
        {
            WrappingKey.Derive(secret, wrappingKey);
            return LedgerSecretWrapping.Wrap(wrappingKey, ledgerSecret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(wrappingKey);
        }
    }

    private static IssuedShare EncryptShare(byte[] issuanceId, string memberId, Share share, RSA memberKey)
    {
        Span<byte> shareBytes = stackalloc byte[Share.SerializedSize];
        try
        {
            share.WriteTo(shareBytes);
            byte[] encrypted = memberKey.Encrypt(shareBytes, RSAEncryptionPadding.OaepSHA256);
            var digest = new byte[IssuedShare.DigestSize];
            RecoveryIssuance.ComputeDigest(issuanceId, shareBytes, digest);
            return new IssuedShare(memberId, share.X, encrypted, digest);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shareBytes);
        }
    }

    /// <summary>Checks every member before anything is drawn: ids present and distinct, keys RSA public keys of 2048 bits or more.</summary>
    private static RSA[] ImportMemberKeys(IReadOnlyList<RecoveryMember> members)
    {
        if (members.Count == 0)
        {
            throw new RecoveryException(RecoveryError.InvalidMembers, "There are no recovery members to issue shares to.");
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        var keys = new List<RSA>(members.Count);
        try
        {
            foreach (RecoveryMember member in members)
            {
                if (string.IsNullOrEmpty(member.Id) || !ids.Add(member.Id))
                {
                    throw new RecoveryException(RecoveryError.InvalidMembers, $"Recovery member id '{member.Id}' is empty or repeated.");
                }

                keys.Add(ImportPublicKey(member));
            }

            return [.. keys];
        }
        catch
        {
            foreach (RSA key in keys)
            {
                key.Dispose();
            }

            throw;
        }
    }

    private static RSA ImportPublicKey(RecoveryMember member)
    {
        if (!PemEncoding.TryFind(member.EncryptionPublicKeyPem, out PemFields fields)
            || member.EncryptionPublicKeyPem[fields.Label] is not ("PUBLIC KEY" or "RSA PUBLIC KEY"))
        {
            throw new RecoveryException(RecoveryError.InvalidMemberKey, $"Recovery member {member.Id}: the encryption key is not a public key in PEM.");
        }

        var key = RSA.Create();
        try
        {
            key.ImportFromPem(member.EncryptionPublicKeyPem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new RecoveryException(RecoveryError.InvalidMemberKey, $"Recovery member {member.Id}: the encryption key is not an RSA public key.", e);
        }

        if (key.KeySize < MinimumRsaKeySize)
        {
            int size = key.KeySize;
            key.Dispose();
            throw new RecoveryException(RecoveryError.WeakMemberKey, $"Recovery member {member.Id}: a {size}-bit RSA key is shorter than {MinimumRsaKeySize} bits.");
        }

        return key;
    }
}
