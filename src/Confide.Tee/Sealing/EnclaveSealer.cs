using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Confide.Tee.Sealing;

/// <summary>
/// Seals data to the enclave's identity with AES-256-GCM, as <c>oe_seal</c> / <c>sgx_seal_data</c>
/// do, with what they lack: a key-commitment value (so a wrong key is told apart from tampering)
/// and fresh random nonces. The key is derived from the TEE's seal key for the blob's policy,
/// security version and random key id; the whole header is authenticated with the caller's data.
/// </summary>
/// <remarks>
/// Blob format v1 (all integers little-endian), documented in docs/sealing.md:
/// <c>"CSLD" | u8 version=1 | u8 policy | u16 svn | 32 key id | 12 nonce | 16 key check |
/// u32 plaintext length | ciphertext | 16 tag</c>. The associated data is not stored; the caller
/// passes it again to unseal.
/// </remarks>
public sealed class EnclaveSealer(ITee tee)
{
    public const int HeaderSize = 72;
    public const int TagSize = 16;
    public const int Overhead = HeaderSize + TagSize;
    public const byte FormatVersion = 1;

    private const int NonceSize = 12;
    private const int KeyCheckSize = 16;
    private const int MagicOffset = 0;
    private const int VersionOffset = 4;
    private const int PolicyOffset = 5;
    private const int SvnOffset = 6;
    private const int KeyIdOffset = 8;
    private const int NonceOffset = 40;
    private const int KeyCheckOffset = 52;
    private const int LengthOffset = 68;

    private static ReadOnlySpan<byte> Magic => "CSLD"u8;

    private static ReadOnlySpan<byte> EncryptionLabel => "confide seal v1 encryption key"u8;

    private static ReadOnlySpan<byte> KeyCheckLabel => "confide seal v1 key check"u8;

    private readonly ITee _tee = tee ?? throw new ArgumentNullException(nameof(tee));

    public static int GetSealedLength(int plaintextLength) => checked(plaintextLength + Overhead);

    /// <summary>Seals <paramref name="plaintext"/>. The default policy is Product, as in Open Enclave and the Intel SDK.</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, SealPolicy policy = SealPolicy.Product, ReadOnlySpan<byte> associatedData = default)
    {
        byte[] blob = new byte[GetSealedLength(plaintext.Length)];
        Seal(plaintext, policy, associatedData, blob);
        return blob;
    }

    /// <summary>
    /// Seals into <paramref name="destination"/> (at least <see cref="GetSealedLength"/> bytes);
    /// returns the bytes written. Every parameter is explicit so that a destination can never be
    /// mistaken for associated data.
    /// </summary>
    public int Seal(ReadOnlySpan<byte> plaintext, SealPolicy policy, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        int length = GetSealedLength(plaintext.Length);
        if (destination.Length < length)
        {
            throw new SealingException(SealingError.InvalidLength, $"The destination holds {destination.Length} bytes; the sealed blob needs {length}.");
        }

        if (policy is not (SealPolicy.Unique or SealPolicy.Product))
        {
            throw new SealingException(SealingError.UnsupportedPolicy, $"Unknown seal policy {(byte)policy}.");
        }

        Span<byte> header = destination[..HeaderSize];
        Magic.CopyTo(header);
        header[VersionOffset] = FormatVersion;
        header[PolicyOffset] = (byte)policy;
        ushort svn = _tee.Identity.SecurityVersion;
        BinaryPrimitives.WriteUInt16LittleEndian(header[SvnOffset..], svn);
        RandomNumberGenerator.Fill(header.Slice(KeyIdOffset, SealKeyRequest.KeyIdSize));
        RandomNumberGenerator.Fill(header.Slice(NonceOffset, NonceSize));
        BinaryPrimitives.WriteUInt32LittleEndian(header[LengthOffset..], (uint)plaintext.Length);

        Span<byte> key = stackalloc byte[32];
        try
        {
            DeriveKeys(policy, svn, header.Slice(KeyIdOffset, SealKeyRequest.KeyIdSize), key, header.Slice(KeyCheckOffset, KeyCheckSize));
            using var gcm = new AesGcm(key, TagSize);
            byte[]? rented = null;
            Span<byte> aad = AssociatedData(header, associatedData, stackalloc byte[StackAadLimit], ref rented);
            try
            {
                gcm.Encrypt(header.Slice(NonceOffset, NonceSize), plaintext, destination.Slice(HeaderSize, plaintext.Length), destination.Slice(HeaderSize + plaintext.Length, TagSize), aad);
            }
            finally
            {
                Return(rented);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        return length;
    }

    /// <summary>Opens a blob sealed by this enclave identity (or, for Product, by an earlier version of it).</summary>
    /// <exception cref="SealingException">Truncated, foreign, newer, wrong identity or tampered.</exception>
    public byte[] Unseal(ReadOnlySpan<byte> sealedBlob, ReadOnlySpan<byte> associatedData = default)
    {
        int length = ReadPlaintextLength(sealedBlob);
        byte[] plaintext = new byte[length];
        Unseal(sealedBlob, associatedData, plaintext);
        return plaintext;
    }

    /// <summary>Opens a blob into <paramref name="destination"/>; returns the plaintext length.</summary>
    public int Unseal(ReadOnlySpan<byte> sealedBlob, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        int length = ReadPlaintextLength(sealedBlob);
        if (destination.Length < length)
        {
            throw new SealingException(SealingError.InvalidLength, $"The destination holds {destination.Length} bytes; the plaintext is {length}.");
        }

        ReadOnlySpan<byte> header = sealedBlob[..HeaderSize];
        var policy = (SealPolicy)header[PolicyOffset];
        ushort svn = BinaryPrimitives.ReadUInt16LittleEndian(header[SvnOffset..]);
        if (svn > _tee.Identity.SecurityVersion)
        {
            throw new SealingException(SealingError.SecurityVersionTooNew,
                $"The blob was sealed at security version {svn}; this enclave is at {_tee.Identity.SecurityVersion} and may not open it.");
        }

        Span<byte> key = stackalloc byte[32];
        Span<byte> check = stackalloc byte[KeyCheckSize];
        try
        {
            DeriveKeys(policy, svn, header.Slice(KeyIdOffset, SealKeyRequest.KeyIdSize), key, check);
            if (!CryptographicOperations.FixedTimeEquals(check, header.Slice(KeyCheckOffset, KeyCheckSize)))
            {
                throw new SealingException(SealingError.WrongIdentity,
                    $"The blob was sealed with {policy} policy by another {(policy == SealPolicy.Unique ? "enclave (MRENCLAVE)" : "signer or product")}, or on another platform.");
            }

            using var gcm = new AesGcm(key, TagSize);
            byte[]? rented = null;
            Span<byte> aad = AssociatedData(header, associatedData, stackalloc byte[StackAadLimit], ref rented);
            try
            {
                gcm.Decrypt(sealedBlob.Slice(NonceOffset, NonceSize), sealedBlob.Slice(HeaderSize, length), sealedBlob.Slice(HeaderSize + length, TagSize), destination[..length], aad);
            }
            catch (AuthenticationTagMismatchException ex)
            {
                CryptographicOperations.ZeroMemory(destination[..length]);
                throw new SealingException(SealingError.Tampered, "The sealed blob or its associated data was altered.", ex);
            }
            finally
            {
                Return(rented);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        return length;
    }

    /// <summary>The Try pattern over <see cref="Unseal(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>.</summary>
    public bool TryUnseal(ReadOnlySpan<byte> sealedBlob, ReadOnlySpan<byte> associatedData, out byte[]? plaintext, out SealingError? error)
    {
        try
        {
            plaintext = Unseal(sealedBlob, associatedData);
            error = null;
            return true;
        }
        catch (SealingException ex)
        {
            plaintext = null;
            error = ex.Error;
            return false;
        }
    }

    private static int ReadPlaintextLength(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < Magic.Length || !blob[..Magic.Length].SequenceEqual(Magic))
        {
            throw blob.Length < Magic.Length
                ? new SealingException(SealingError.Truncated, $"A sealed blob is at least {Overhead} bytes; got {blob.Length}.")
                : new SealingException(SealingError.UnknownFormat, "Not a Confide sealed blob (the magic bytes are wrong).");
        }

        if (blob.Length < Overhead)
        {
            throw new SealingException(SealingError.Truncated, $"A sealed blob is at least {Overhead} bytes; got {blob.Length}.");
        }

        if (blob[VersionOffset] != FormatVersion)
        {
            throw new SealingException(SealingError.UnsupportedVersion, $"Sealed blob format version {blob[VersionOffset]} is not supported (this code reads version {FormatVersion}).");
        }

        if ((SealPolicy)blob[PolicyOffset] is not (SealPolicy.Unique or SealPolicy.Product))
        {
            throw new SealingException(SealingError.UnsupportedPolicy, $"Unknown seal policy {blob[PolicyOffset]} in the blob.");
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(blob[LengthOffset..]);
        if ((ulong)length + Overhead != (ulong)blob.Length)
        {
            throw new SealingException(SealingError.Truncated, $"The blob declares {length} bytes of plaintext but is {blob.Length} bytes long.");
        }

        return (int)length;
    }

    private void DeriveKeys(SealPolicy policy, ushort svn, ReadOnlySpan<byte> keyId, Span<byte> encryptionKey, Span<byte> keyCheck)
    {
        byte[] sealKey;
        try
        {
            sealKey = _tee.DeriveSealKey(new SealKeyRequest(policy, svn, keyId.ToArray()));
        }
        catch (TeeException ex) when (ex.Error == TeeError.InvalidRequest)
        {
            throw new SealingException(SealingError.SecurityVersionTooNew, ex.Message, ex);
        }
        catch (TeeException ex)
        {
            throw new SealingException(SealingError.KeyUnavailable, $"The TEE cannot derive this blob's key: {ex.Message}", ex);
        }

        try
        {
            HKDF.Expand(HashAlgorithmName.SHA256, sealKey, encryptionKey, EncryptionLabel);
            HKDF.Expand(HashAlgorithmName.SHA256, sealKey, keyCheck, KeyCheckLabel);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sealKey);
        }
    }

    private const int StackAadLimit = 512;

    // The header is authenticated together with the caller's data, so no header field can be swapped.
    private static Span<byte> AssociatedData(ReadOnlySpan<byte> header, ReadOnlySpan<byte> callerData, Span<byte> stackBuffer, ref byte[]? rented)
    {
        int total = header.Length + callerData.Length;
        Span<byte> buffer = total <= stackBuffer.Length
            ? stackBuffer[..total]
            : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(total)).AsSpan(0, total);
        header.CopyTo(buffer);
        callerData.CopyTo(buffer[header.Length..]);
        return buffer;
    }

    private static void Return(byte[]? rented)
    {
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }
    }
}
