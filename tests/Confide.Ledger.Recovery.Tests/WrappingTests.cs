using System.Security.Cryptography;

namespace Confide.Ledger.Recovery.Tests;

/// <summary><see cref="WrappingKey"/> derivation and <see cref="LedgerSecretWrapping"/>'s AES-GCM layout.</summary>
public sealed class WrappingTests
{
    [Fact]
    public void Derive_IsHkdfSha256_OfTheLittleEndianLimbs_WithEmptySaltAndTheLimbsAsInfo()
    {
        using SharingSecret secret = SharingSecret.FromLimbs([1, 2, 3, 4, 5, 6, 7, 8, 9, 0x7FFF_FFFE]);
        byte[] limbBytes = Convert.FromHexString(
            "01000000" + "02000000" + "03000000" + "04000000" + "05000000" +
            "06000000" + "07000000" + "08000000" + "09000000" + "FEFFFF7F");

        // RFC 5869 by hand: PRK = HMAC(salt = "", IKM); OKM = HMAC(PRK, info || 0x01), one block for 32 bytes.
        byte[] prk = HMACSHA256.HashData(Array.Empty<byte>(), limbBytes);
        byte[] expected = HMACSHA256.HashData(prk, limbBytes.Append((byte)0x01).ToArray());

        Assert.Equal(expected, WrappingKey.Derive(secret));
    }

    [Fact]
    public void Derive_DoesNotUseTheDeclaredLabel_AsCcfDoesNot()
    {
        using SharingSecret secret = SharingSecret.CreateRandom();
        var limbBytes = new byte[SharingSecret.SerializedSize];
        secret.WriteTo(limbBytes);

        byte[] withLabel = HKDF.DeriveKey(HashAlgorithmName.SHA256, limbBytes, 32, [], System.Text.Encoding.ASCII.GetBytes(WrappingKey.CcfDeclaredLabel));

        Assert.NotEqual(withLabel, WrappingKey.Derive(secret));
    }

    [Fact]
    public void Derive_IsDeterministic_AndDiffersBetweenSecrets()
    {
        using SharingSecret a = SharingSecret.CreateRandom();
        using SharingSecret b = SharingSecret.CreateRandom();

        Assert.Equal(WrappingKey.Derive(a), WrappingKey.Derive(a));
        Assert.NotEqual(WrappingKey.Derive(a), WrappingKey.Derive(b));
        Assert.Equal(32, WrappingKey.Derive(a).Length);
    }

    [Fact]
    public void WrapUnwrap_RoundTrips_WithAFreshNonceEachTime()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        byte[] ledgerSecret = RandomNumberGenerator.GetBytes(32);

        byte[] first = LedgerSecretWrapping.Wrap(key, ledgerSecret);
        byte[] second = LedgerSecretWrapping.Wrap(key, ledgerSecret);

        Assert.Equal(60, first.Length);
        Assert.NotEqual(first.AsSpan(16, 12).ToArray(), second.AsSpan(16, 12).ToArray());
        Assert.Equal(ledgerSecret, LedgerSecretWrapping.Unwrap(key, first));
        Assert.Equal(ledgerSecret, LedgerSecretWrapping.Unwrap(key, second));
    }

    [Fact]
    public void Layout_IsTagThenNonceThenCiphertext()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        byte[] ledgerSecret = RandomNumberGenerator.GetBytes(32);
        byte[] wrapped = LedgerSecretWrapping.Wrap(key, ledgerSecret);

        using var aes = new AesGcm(key, 16);
        var plain = new byte[32];
        aes.Decrypt(wrapped.AsSpan(16, 12), wrapped.AsSpan(28), wrapped.AsSpan(0, 16), plain);
        Assert.Equal(ledgerSecret, plain);
    }

    [Fact]
    public void Unwrap_AcceptsCcfsZeroNonceBlob()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        byte[] ledgerSecret = RandomNumberGenerator.GetBytes(32);

        var blob = new byte[60];
        using (var aes = new AesGcm(key, 16))
        {
            aes.Encrypt(new byte[12], ledgerSecret, blob.AsSpan(28), blob.AsSpan(0, 16));
        }

        Assert.Equal(ledgerSecret, LedgerSecretWrapping.Unwrap(key, blob));
    }

    [Fact]
    public void Unwrap_DetectsEveryAlteredByte_AndAWrongKey()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        byte[] wrapped = LedgerSecretWrapping.Wrap(key, RandomNumberGenerator.GetBytes(32));

        for (int i = 0; i < wrapped.Length; i++)
        {
            byte[] altered = (byte[])wrapped.Clone();
            altered[i] ^= 0x01;
            Assert.Equal(RecoveryError.UnwrapFailed, Assert.Throws<RecoveryException>(() => LedgerSecretWrapping.Unwrap(key, altered)).Error);
        }

        byte[] otherKey = RandomNumberGenerator.GetBytes(32);
        Assert.Equal(RecoveryError.UnwrapFailed, Assert.Throws<RecoveryException>(() => LedgerSecretWrapping.Unwrap(otherKey, wrapped)).Error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(28)]
    [InlineData(59)]
    [InlineData(61)]
    public void Unwrap_RefusesOtherLengths(int length)
    {
        RecoveryException e = Assert.Throws<RecoveryException>(() => LedgerSecretWrapping.Unwrap(new byte[32], new byte[length]));
        Assert.Equal(RecoveryError.MalformedWrappedSecret, e.Error);
    }

    [Fact]
    public void Wrap_RefusesWrongSizes()
    {
        Assert.Throws<ArgumentException>(() => LedgerSecretWrapping.Wrap(new byte[16], new byte[32]));
        Assert.Throws<ArgumentException>(() => LedgerSecretWrapping.Wrap(new byte[32], new byte[31]));
        Assert.Throws<ArgumentException>(() => LedgerSecretWrapping.Unwrap(new byte[31], new byte[60]));
    }

    [Fact]
    public void WrongSetOfShares_FailsOnTheTag_NotWithACrash()
    {
        byte[] ledgerSecret = RandomNumberGenerator.GetBytes(32);
        using SharingSecret secret = SharingSecret.CreateRandom();
        Share[] shares = SecretSharing.Split(secret, 5, 3);
        byte[] wrapped = LedgerSecretWrapping.Wrap(WrappingKey.Derive(secret), ledgerSecret);

        using SharingSecret fromTwo = SecretSharing.Combine(shares[..2], 2);
        using SharingSecret otherSharing = SecretSharing.Combine(SecretSharing.Split(SharingSecret.CreateRandom(), 5, 3), 3);

        foreach (SharingSecret wrong in new[] { fromTwo, otherSharing })
        {
            RecoveryException e = Assert.Throws<RecoveryException>(() => LedgerSecretWrapping.Unwrap(WrappingKey.Derive(wrong), wrapped));
            Assert.Equal(RecoveryError.UnwrapFailed, e.Error);
        }

        using SharingSecret right = SecretSharing.Combine(shares[2..], 3);
        Assert.Equal(ledgerSecret, LedgerSecretWrapping.Unwrap(WrappingKey.Derive(right), wrapped));
    }
}
