using System.Buffers.Binary;
using System.Security.Cryptography;
using Confide.Inference.Encryption;

namespace Confide.Inference.Tests;

/// <summary>The CONFIDE-MODEL v1 format: round trips, fresh nonces, and a typed reason for every damaged or foreign file.</summary>
public sealed class ModelEncryptionTests
{
    private static readonly byte[] Key = ModelEncryption.GenerateKey();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100_000)]
    public void Round_trips_with_a_fresh_nonce_each_time(int length)
    {
        byte[] model = RandomNumberGenerator.GetBytes(length);

        byte[] first = ModelEncryption.Encrypt(model, Key);
        byte[] second = ModelEncryption.Encrypt(model, Key);

        Assert.Equal(ModelEncryption.HeaderSize + length + ModelEncryption.TagSize, first.Length);
        Assert.Equal(model, ModelEncryption.Decrypt(first, Key));
        Assert.Equal(model, ModelEncryption.Decrypt(second, Key));
        Assert.False(first.AsSpan(16, 12).SequenceEqual(second.AsSpan(16, 12)), "every file has its own nonce");
        Assert.True(ModelEncryption.IsEncryptedModel(first));
        Assert.True(first.AsSpan(0, 13).SequenceEqual("CONFIDE-MODEL"u8));
        Assert.Equal(1, first[13]);
        Assert.Equal((ulong)length, BinaryPrimitives.ReadUInt64LittleEndian(first.AsSpan(44)));
        ModelFileHeader header = ModelEncryption.ReadHeader(first);
        Assert.Equal(ModelEncryption.KeyIdHex(Key), header.KeyIdHex);
        Assert.Equal(length, header.PlaintextLength);
    }

    [Fact]
    public void The_key_id_is_derived_not_the_key()
    {
        byte[] id = ModelEncryption.KeyId(Key);
        Assert.Equal(ModelEncryption.KeyIdSize, id.Length);
        Assert.False(Key.AsSpan(0, 16).SequenceEqual(id));
        Assert.False(SHA256.HashData(Key).AsSpan(0, 16).SequenceEqual(id), "the id is domain-separated from a plain hash of the key");
        Assert.NotEqual(ModelEncryption.KeyIdHex(ModelEncryption.GenerateKey()), ModelEncryption.KeyIdHex(Key));
    }

    public static TheoryData<string, ModelEncryptionError, string> Damages() => new()
    {
        { "truncated-tail", ModelEncryptionError.Truncated, "was cut short" },
        { "truncated-to-header", ModelEncryptionError.Truncated, "at least 68 bytes" },
        { "truncated-to-magic-prefix", ModelEncryptionError.Truncated, "at least 68 bytes" },
        { "empty", ModelEncryptionError.Truncated, "at least 68 bytes" },
        { "appended", ModelEncryptionError.Tampered, "bytes were added" },
        { "magic", ModelEncryptionError.UnknownFormat, "Not a CONFIDE-MODEL file" },
        { "onnx", ModelEncryptionError.UnknownFormat, "Not a CONFIDE-MODEL file" },
        { "version", ModelEncryptionError.UnsupportedVersion, "version 2 is not supported" },
        { "flags", ModelEncryptionError.UnsupportedVersion, "flags 0x0001" },
        { "nonce", ModelEncryptionError.Tampered, "authentication tag does not match" },
        { "ciphertext", ModelEncryptionError.Tampered, "authentication tag does not match" },
        { "tag", ModelEncryptionError.Tampered, "authentication tag does not match" },
        { "key-id", ModelEncryptionError.WrongKey, "encrypted under key" },
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public void Damaged_files_are_refused_with_their_reason(string damage, ModelEncryptionError error, string message)
    {
        byte[] file = ModelEncryption.Encrypt(RandomNumberGenerator.GetBytes(1000), Key);
        byte[] damaged = damage switch
        {
            "truncated-tail" => file[..^1],
            "truncated-to-header" => file[..ModelEncryption.HeaderSize],
            "truncated-to-magic-prefix" => file[..5],
            "empty" => [],
            "appended" => [.. file, 0],
            "magic" => Flip(file, 0),
            "onnx" => [0x08, 0x08, 0x12, 0x04, .. file[4..]],
            "version" => Set(file, 13, 2),
            "flags" => Set(file, 14, 1),
            "nonce" => Flip(file, 20),
            "ciphertext" => Flip(file, ModelEncryption.HeaderSize + 500),
            "tag" => Flip(file, file.Length - 1),
            "key-id" => Flip(file, 30),
            _ => throw new ArgumentOutOfRangeException(nameof(damage)),
        };

        ModelEncryptionException ex = Assert.Throws<ModelEncryptionException>(() => ModelEncryption.Decrypt(damaged, Key));

        Assert.Equal(error, ex.Error);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_key_is_named_not_mistaken_for_tampering()
    {
        byte[] file = ModelEncryption.Encrypt("weights"u8, Key);
        byte[] other = ModelEncryption.GenerateKey();

        ModelEncryptionException ex = Assert.Throws<ModelEncryptionException>(() => ModelEncryption.Decrypt(file, other));

        Assert.Equal(ModelEncryptionError.WrongKey, ex.Error);
        Assert.Contains(ModelEncryption.KeyIdHex(Key), ex.Message, StringComparison.Ordinal);
        Assert.Contains(ModelEncryption.KeyIdHex(other), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_must_be_32_bytes()
    {
        Assert.Equal(ModelEncryptionError.InvalidKey, Assert.Throws<ModelEncryptionException>(() => ModelEncryption.Encrypt("m"u8, new byte[16])).Error);
        byte[] file = ModelEncryption.Encrypt("m"u8, Key);
        Assert.Equal(ModelEncryptionError.InvalidKey, Assert.Throws<ModelEncryptionException>(() => ModelEncryption.Decrypt(file, new byte[31])).Error);
    }

    private static byte[] Flip(byte[] file, int offset)
    {
        byte[] copy = [.. file];
        copy[offset] ^= 0x01;
        return copy;
    }

    private static byte[] Set(byte[] file, int offset, byte value)
    {
        byte[] copy = [.. file];
        copy[offset] = value;
        return copy;
    }
}
