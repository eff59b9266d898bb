using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Confide.Inference.Encryption;

/// <summary>
/// The <c>CONFIDE-MODEL</c> v1 file format: a model encrypted at rest with AES-256-GCM under a
/// 32-byte model key, so that the weights exist in the clear only inside the enclave that was given
/// the key. Unlike confonnx's format (all-zero nonce, no header, no AAD) every file has a fresh
/// random nonce, and the header — including a key id — is authenticated, so a wrong key is told
/// apart from tampering and named.
/// </summary>
/// <remarks>
/// Layout (integers little-endian), documented in docs/inference.md:
/// <c>"CONFIDE-MODEL" (13) | u8 version = 1 | u16 flags = 0 | 12 nonce | 16 key id |
/// u64 plaintext length | ciphertext | 16 tag</c>; the 52-byte header is the associated data.
/// The key id is the first 16 bytes of SHA-256("CONFIDE-MODEL key id v1" || key); the AES key is
/// HKDF-Expand-SHA256(key, "CONFIDE-MODEL v1 encryption key"), so the key id reveals nothing
/// about the encryption key.
/// </remarks>
public static class ModelEncryption
{
    public const int KeySize = 32;
    public const int KeyIdSize = 16;
    public const int HeaderSize = 52;
    public const int TagSize = 16;
    public const byte FormatVersion = 1;

    private const int NonceSize = 12;
    private const int VersionOffset = 13;
    private const int FlagsOffset = 14;
    private const int NonceOffset = 16;
    private const int KeyIdOffset = 28;
    private const int LengthOffset = 44;

    /// <summary>The largest plaintext: a .NET array, less the header and tag.</summary>
    public const long MaxPlaintextLength = int.MaxValue - 1024;

    public static ReadOnlySpan<byte> Magic => "CONFIDE-MODEL"u8;

    private static ReadOnlySpan<byte> KeyIdLabel => "CONFIDE-MODEL key id v1"u8;

    private static ReadOnlySpan<byte> EncryptionLabel => "CONFIDE-MODEL v1 encryption key"u8;

    /// <summary>Makes a new random 32-byte model key.</summary>
    public static byte[] GenerateKey() => RandomNumberGenerator.GetBytes(KeySize);

    /// <summary>The key's id as stored in files encrypted under it (16 bytes).</summary>
    public static byte[] KeyId(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        Span<byte> input = stackalloc byte[KeyIdLabel.Length + KeySize];
        KeyIdLabel.CopyTo(input);
        key.CopyTo(input[KeyIdLabel.Length..]);
        byte[] id = SHA256.HashData(input)[..KeyIdSize];
        CryptographicOperations.ZeroMemory(input);
        return id;
    }

    /// <summary>The key id in lower-case hex, as errors and key stores name it.</summary>
    public static string KeyIdHex(ReadOnlySpan<byte> key) => Convert.ToHexStringLower(KeyId(key));

    /// <summary>Reads a model key file: exactly <see cref="KeySize"/> raw bytes (what <c>confide model keygen</c> writes).</summary>
    /// <exception cref="ArgumentException">The file is not a model key.</exception>
    public static byte[] ReadKeyFile(string path)
    {
        byte[] key = File.ReadAllBytes(path);
        if (key.Length != KeySize)
        {
            CryptographicOperations.ZeroMemory(key);
            throw new ArgumentException($"'{path}' is {key.Length} bytes; a model key file holds exactly {KeySize} raw bytes (see 'confide model keygen').");
        }

        return key;
    }

    /// <summary>True if <paramref name="file"/> starts with the CONFIDE-MODEL magic.</summary>
    public static bool IsEncryptedModel(ReadOnlySpan<byte> file) => file.StartsWith(Magic);

    /// <summary>Encrypts a model (any bytes) under <paramref name="key"/> with a fresh random nonce.</summary>
    /// <exception cref="ModelEncryptionException">InvalidKey, TooLarge.</exception>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        if (plaintext.Length > MaxPlaintextLength)
        {
            throw new ModelEncryptionException(ModelEncryptionError.TooLarge, $"A CONFIDE-MODEL file holds at most {MaxPlaintextLength} bytes; the model is {plaintext.Length}.");
        }

        byte[] file = new byte[HeaderSize + plaintext.Length + TagSize];
        Span<byte> header = file.AsSpan(0, HeaderSize);
        Magic.CopyTo(header);
        header[VersionOffset] = FormatVersion;
        RandomNumberGenerator.Fill(header.Slice(NonceOffset, NonceSize));
        KeyId(key).CopyTo(header[KeyIdOffset..]);
        BinaryPrimitives.WriteUInt64LittleEndian(header[LengthOffset..], (ulong)plaintext.Length);

        Span<byte> aesKey = stackalloc byte[KeySize];
        try
        {
            HKDF.Expand(HashAlgorithmName.SHA256, key, aesKey, EncryptionLabel);
            using var gcm = new AesGcm(aesKey, TagSize);
            gcm.Encrypt(header.Slice(NonceOffset, NonceSize), plaintext, file.AsSpan(HeaderSize, plaintext.Length), file.AsSpan(HeaderSize + plaintext.Length, TagSize), header);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(aesKey);
        }

        return file;
    }

    /// <summary>Reads and checks the header without a key: what a key provider needs to find the key.</summary>
    /// <exception cref="ModelEncryptionException">Truncated, UnknownFormat, UnsupportedVersion, Tampered (bytes after the tag).</exception>
    public static ModelFileHeader ReadHeader(ReadOnlySpan<byte> file)
    {
        if (file.Length < Magic.Length || !file[..Magic.Length].SequenceEqual(Magic))
        {
            throw file.Length < Magic.Length && Magic.StartsWith(file)
                ? new ModelEncryptionException(ModelEncryptionError.Truncated, $"A CONFIDE-MODEL file is at least {HeaderSize + TagSize} bytes; this one is {file.Length}.")
                : new ModelEncryptionException(ModelEncryptionError.UnknownFormat, "Not a CONFIDE-MODEL file (the magic bytes are wrong).");
        }

        if (file.Length < HeaderSize + TagSize)
        {
            throw new ModelEncryptionException(ModelEncryptionError.Truncated, $"A CONFIDE-MODEL file is at least {HeaderSize + TagSize} bytes; this one is {file.Length}.");
        }

        if (file[VersionOffset] != FormatVersion)
        {
            throw new ModelEncryptionException(ModelEncryptionError.UnsupportedVersion, $"CONFIDE-MODEL version {file[VersionOffset]} is not supported (this code reads version {FormatVersion}).");
        }

        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(file[FlagsOffset..]);
        if (flags != 0)
        {
            throw new ModelEncryptionException(ModelEncryptionError.UnsupportedVersion, $"CONFIDE-MODEL flags 0x{flags:x4} are not supported (version 1 defines none).");
        }

        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file[LengthOffset..]);
        ulong actual = (ulong)(file.Length - HeaderSize - TagSize);
        if (length > actual)
        {
            throw new ModelEncryptionException(ModelEncryptionError.Truncated, $"The file declares {length} bytes of model but holds {actual}: it was cut short.");
        }

        if (length < actual)
        {
            throw new ModelEncryptionException(ModelEncryptionError.Tampered, $"The file declares {length} bytes of model but holds {actual}: bytes were added.");
        }

        return new ModelFileHeader(file[VersionOffset], file.Slice(KeyIdOffset, KeyIdSize).ToArray(), (long)length);
    }

    /// <summary>Decrypts and authenticates a CONFIDE-MODEL file.</summary>
    /// <exception cref="ModelEncryptionException">Truncated, UnknownFormat, UnsupportedVersion, InvalidKey, WrongKey, Tampered.</exception>
    public static byte[] Decrypt(ReadOnlySpan<byte> file, ReadOnlySpan<byte> key)
    {
        ModelFileHeader header = ReadHeader(file);
        byte[] keyId = KeyId(key);
        if (!CryptographicOperations.FixedTimeEquals(keyId, header.KeyId))
        {
            throw new ModelEncryptionException(ModelEncryptionError.WrongKey, $"The model was encrypted under key {header.KeyIdHex}; the key given is {Convert.ToHexStringLower(keyId)}.");
        }

        int length = (int)header.PlaintextLength;
        byte[] plaintext = new byte[length];
        Span<byte> aesKey = stackalloc byte[KeySize];
        try
        {
            HKDF.Expand(HashAlgorithmName.SHA256, key, aesKey, EncryptionLabel);
            using var gcm = new AesGcm(aesKey, TagSize);
            gcm.Decrypt(file.Slice(NonceOffset, NonceSize), file.Slice(HeaderSize, length), file.Slice(HeaderSize + length, TagSize), plaintext, file[..HeaderSize]);
        }
        catch (AuthenticationTagMismatchException ex)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw new ModelEncryptionException(ModelEncryptionError.Tampered, "The model file was altered: its authentication tag does not match (header, ciphertext or tag changed).", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(aesKey);
        }

        return plaintext;
    }

    private static void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ModelEncryptionException(ModelEncryptionError.InvalidKey, $"A model key is {KeySize} bytes; got {key.Length}.");
        }
    }
}

/// <summary>What a CONFIDE-MODEL header says before the key is known.</summary>
public sealed record ModelFileHeader(byte Version, byte[] KeyId, long PlaintextLength)
{
    public string KeyIdHex => Convert.ToHexStringLower(KeyId);
}
