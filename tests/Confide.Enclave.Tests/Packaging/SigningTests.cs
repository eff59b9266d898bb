using System.Numerics;
using System.Security.Cryptography;
using Confide.Enclave.Signing;

namespace Confide.Enclave.Tests.Packaging;

public sealed class SigningTests : IClassFixture<SigningKeyFixture>
{
    private readonly RSA _key;

    public SigningTests(SigningKeyFixture fixture) => _key = fixture.Key;

    [Fact]
    public void Generated_keys_have_the_sgx_shape()
    {
        RSAParameters parameters = _key.ExportParameters(includePrivateParameters: false);
        Assert.Equal(384, parameters.Modulus!.Length);
        Assert.True((parameters.Modulus[0] & 0x80) != 0);
        Assert.Equal(new byte[] { 3 }, parameters.Exponent);
    }

    [Fact]
    public void Mrsigner_is_sha256_of_the_little_endian_modulus()
    {
        byte[] modulus = _key.ExportParameters(false).Modulus!;
        byte[] expected = SHA256.HashData(modulus.Reverse().ToArray());

        Assert.Equal(expected, EnclaveSigningKey.ComputeMrSigner(_key));
        SigStruct sigstruct = SigStruct.Create(_key, new byte[32], 1, 1, false, new DateOnly(2026, 11, 28));
        Assert.Equal(expected, sigstruct.ComputeMrSigner());
    }

    [Fact]
    public void A_sigstruct_has_the_sdm_layout_and_verifies()
    {
        byte[] mrenclave = RandomNumberGenerator.GetBytes(32);
        SigStruct sigstruct = SigStruct.Create(_key, mrenclave, productId: 0x1234, securityVersion: 0x0506, debug: true, new DateOnly(2026, 11, 28));
        ReadOnlySpan<byte> bytes = sigstruct.Bytes;

        Assert.Equal(1808, bytes.Length);
        Assert.Equal(Convert.FromHexString("06000000E100000000000100"), bytes[..12].ToArray());
        Assert.Equal(Convert.FromHexString("28112620"), bytes.Slice(20, 4).ToArray()); // BCD date, little-endian
        Assert.Equal(Convert.FromHexString("01010000600000006000000001000000"), bytes.Slice(24, 16).ToArray());
        Assert.Equal(new byte[] { 3, 0, 0, 0 }, bytes.Slice(512, 4).ToArray());
        Assert.Equal(mrenclave, bytes.Slice(960, 32).ToArray());
        Assert.Equal(new byte[] { 0x34, 0x12, 0x06, 0x05 }, bytes.Slice(1024, 4).ToArray());
        Assert.True(sigstruct.Debug);
        Assert.Equal(20261128, sigstruct.Date);

        // The signature is PKCS#1 v1.5 SHA-256 over header (0..128) ‖ body (900..1028), stored little-endian.
        byte[] message = [.. bytes[..128], .. bytes.Slice(900, 128)];
        byte[] signature = bytes.Slice(516, 384).ToArray().Reverse().ToArray();
        Assert.True(_key.VerifyData(message, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

        // Q1 and Q2 as EINIT checks them.
        var m = new BigInteger(_key.ExportParameters(false).Modulus, isUnsigned: true, isBigEndian: true);
        var s = new BigInteger(signature, isUnsigned: true, isBigEndian: true);
        var q1 = new BigInteger(bytes.Slice(1040, 384), isUnsigned: true);
        var q2 = new BigInteger(bytes.Slice(1424, 384), isUnsigned: true);
        Assert.Equal(s * s / m, q1);
        Assert.Equal((s * s * s - q1 * s * m) / m, q2);

        Assert.Equal(mrenclave, SigStruct.ReadAndVerify(bytes).EnclaveHash.ToArray());
    }

    [Theory]
    [InlineData(0)]     // header constant
    [InlineData(130)]   // modulus
    [InlineData(600)]   // signature
    [InlineData(960)]   // enclave hash
    [InlineData(1024)]  // product id
    [InlineData(1026)]  // security version
    [InlineData(930)]   // attributes
    [InlineData(1100)]  // Q1
    [InlineData(1500)]  // Q2
    public void Any_change_to_a_signed_or_checked_byte_is_refused(int offset)
    {
        byte[] bytes = SigStruct.Create(_key, new byte[32], 1, 1, false, new DateOnly(2026, 1, 1)).Bytes.ToArray();
        bytes[offset] ^= 0x01;

        var error = Assert.Throws<EnclavePackageException>(() => SigStruct.ReadAndVerify(bytes));
        Assert.Equal(PackageProblemKind.InvalidSignature, error.Kind);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1807)]
    [InlineData(1809)]
    public void A_sigstruct_of_the_wrong_size_is_refused(int size)
    {
        var error = Assert.Throws<EnclavePackageException>(() => SigStruct.ReadAndVerify(new byte[size]));
        Assert.Equal(PackageProblemKind.InvalidSignature, error.Kind);
    }

    [Fact]
    public void A_key_with_exponent_65537_or_another_size_cannot_sign()
    {
        using RSA ordinary = RSA.Create(3072);
        Assert.Throws<CryptographicException>(() => SigStruct.Create(ordinary, new byte[32], 1, 1, false, new DateOnly(2026, 1, 1)));

        string path = Path.GetTempFileName();
        File.WriteAllText(path, ordinary.ExportPkcs8PrivateKeyPem());
        var error = Assert.Throws<CryptographicException>(() => EnclaveSigningKey.Load(path));
        Assert.Contains("exponent", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_a_key_is_a_clear_error()
    {
        string path = Path.GetTempFileName();
        File.WriteAllText(path, "not a key");
        Assert.Throws<CryptographicException>(() => EnclaveSigningKey.Load(path));
        Assert.Throws<CryptographicException>(() => EnclaveSigningKey.Load(path + ".missing"));
    }

    [Fact]
    public void A_written_key_is_owner_only_and_loads_back()
    {
        string path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".pem");
        EnclaveSigningKey.WritePrivateKeyPem(_key, path);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using RSA loaded = EnclaveSigningKey.Load(path);
        Assert.Equal(EnclaveSigningKey.ComputeMrSigner(_key), EnclaveSigningKey.ComputeMrSigner(loaded));
        Assert.Throws<IOException>(() => EnclaveSigningKey.WritePrivateKeyPem(_key, path));
    }
}

/// <summary>RSA-3072 generation takes a moment; one key serves the class.</summary>
public sealed class SigningKeyFixture : IDisposable
{
    public RSA Key { get; } = EnclaveSigningKey.Generate();

    public void Dispose() => Key.Dispose();
}
