using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Confide.Ledger.Recovery;

/// <summary>
/// The shared secret: <see cref="LimbCount"/> elements of F_p (p = 2^31 − 1), about 310 bits of
/// entropy when random. It is never used as a key directly: <see cref="WrappingKey.Derive(SharingSecret)"/>
/// derives the AES key from it. Disposing zeroes the limbs.
/// </summary>
public sealed class SharingSecret : IDisposable
{
    /// <summary>Limbs per secret and per share: (256 + 80 bits of margin) / 31 bits, as in CCF.</summary>
    public const int LimbCount = 10;

    /// <summary>The limbs as bytes: each a little-endian uint32, in limb order.</summary>
    public const int SerializedSize = LimbCount * sizeof(uint);

    private readonly uint[] _limbs;

    private SharingSecret(uint[] limbs) => _limbs = limbs;

    /// <summary>A fresh secret of limbs uniform in [0, p).</summary>
    public static SharingSecret CreateRandom()
    {
        var limbs = new uint[LimbCount];
        PrimeField.FillUniform(limbs);
        return new SharingSecret(limbs);
    }

    /// <summary>A secret of the given limbs (copied), each of which must be below p.</summary>
    /// <exception cref="SecretSharingException">Not <see cref="LimbCount"/> limbs, or a limb at least p.</exception>
    public static SharingSecret FromLimbs(ReadOnlySpan<uint> limbs)
    {
        if (limbs.Length != LimbCount)
        {
            throw new SecretSharingException(SecretSharingError.InvalidLength, $"A secret has {LimbCount} limbs, not {limbs.Length}.");
        }

        LimbCodec.EnsureInField(limbs);
        return new SharingSecret(limbs.ToArray());
    }

    internal static SharingSecret Adopt(uint[] limbs) => new(limbs);

    /// <summary>The limbs (a view of this secret's own memory, zero once disposed).</summary>
    public ReadOnlySpan<uint> Limbs => _limbs;

    /// <summary>Whether both secrets have the same limbs, compared in constant time.</summary>
    public bool FixedTimeEquals(SharingSecret other) =>
        CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(_limbs.AsSpan()), MemoryMarshal.AsBytes(other._limbs.AsSpan()));

    /// <summary>Writes the <see cref="SerializedSize"/> bytes of the limbs, little-endian, in order.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length != SerializedSize)
        {
            throw new ArgumentException($"The destination must be {SerializedSize} bytes.", nameof(destination));
        }

        LimbCodec.Write(_limbs, destination);
    }

    /// <summary>Zeroes the limbs.</summary>
    public void Dispose() => CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(_limbs.AsSpan()));
}

/// <summary>Limb checks and encoding shared by secrets and shares.</summary>
internal static class LimbCodec
{
    public static void EnsureInField(ReadOnlySpan<uint> limbs)
    {
        for (int i = 0; i < limbs.Length; i++)
        {
            if (limbs[i] >= PrimeField.Prime)
            {
                throw new SecretSharingException(SecretSharingError.LimbOutOfRange, $"Limb {i} is not below p = 2^31 - 1.");
            }
        }
    }

    public static void Write(ReadOnlySpan<uint> limbs, Span<byte> destination)
    {
        for (int i = 0; i < limbs.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[(i * sizeof(uint))..], limbs[i]);
        }
    }
}
