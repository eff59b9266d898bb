using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Confide.Ledger.Recovery;

/// <summary>
/// One share of a <see cref="SharingSecret"/>: the point (x, y) of each limb's polynomial, where x is
/// the share index (1-based) and y holds <see cref="SharingSecret.LimbCount"/> field elements.
/// </summary>
/// <remarks>
/// Serialised as CCF's <c>ccf::crypto::sharing::Share</c>: 44 bytes, x then y[0..9], each a uint32
/// little-endian (CCF writes the integers in host order, and its hosts are x86-64). Parsing is strict:
/// exactly 44 bytes, x in 1..<see cref="SecretSharing.MaxShares"/>, every limb below p. Disposing zeroes y.
/// </remarks>
public sealed class Share : IDisposable
{
    /// <summary>Bytes of a serialised share: x and 10 limbs, 4 bytes each.</summary>
    public const int SerializedSize = sizeof(uint) + SharingSecret.SerializedSize;

    private readonly uint[] _y;

    /// <summary>A share of index <paramref name="x"/> with limbs <paramref name="y"/> (copied).</summary>
    /// <exception cref="SecretSharingException">x outside 1..255, not 10 limbs, or a limb at least p.</exception>
    public Share(uint x, ReadOnlySpan<uint> y)
    {
        EnsureIndex(x);
        if (y.Length != SharingSecret.LimbCount)
        {
            throw new SecretSharingException(SecretSharingError.InvalidLength, $"A share has {SharingSecret.LimbCount} limbs, not {y.Length}.");
        }

        LimbCodec.EnsureInField(y);
        X = x;
        _y = y.ToArray();
    }

    private Share(uint x, uint[] y)
    {
        X = x;
        _y = y;
    }

    internal static Share Adopt(uint x, uint[] y) => new(x, y);

    /// <summary>The share index, the x coordinate: 1..<see cref="SecretSharing.MaxShares"/>.</summary>
    public uint X { get; }

    /// <summary>The y coordinate of each limb (a view of this share's own memory, zero once disposed).</summary>
    public ReadOnlySpan<uint> Y => _y;

    /// <summary>Parses exactly <see cref="SerializedSize"/> bytes in CCF's layout.</summary>
    /// <exception cref="SecretSharingException">A wrong length, an x outside 1..255, or a limb at least p.</exception>
    public static Share Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != SerializedSize)
        {
            throw new SecretSharingException(SecretSharingError.InvalidLength, $"A share is {SerializedSize} bytes, not {bytes.Length}.");
        }

        uint x = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        EnsureIndex(x);

        var y = new uint[SharingSecret.LimbCount];
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(sizeof(uint) * (i + 1))..]);
        }

        try
        {
            LimbCodec.EnsureInField(y);
        }
        catch (SecretSharingException)
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(y.AsSpan()));
            throw;
        }

        return new Share(x, y);
    }

    /// <summary>The <see cref="SerializedSize"/> bytes of this share (the caller should zero them after use).</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[SerializedSize];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>Writes the <see cref="SerializedSize"/> bytes of this share.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length != SerializedSize)
        {
            throw new ArgumentException($"The destination must be {SerializedSize} bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination, X);
        LimbCodec.Write(_y, destination[sizeof(uint)..]);
    }

    /// <summary>Zeroes the limbs.</summary>
    public void Dispose() => CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(_y.AsSpan()));

    private static void EnsureIndex(uint x)
    {
        if (x is 0 or > SecretSharing.MaxShares)
        {
            string why = x == 0 ? " (x = 0 is CCF's whole-secret share for recovery owners, not supported)" : string.Empty;
            throw new SecretSharingException(SecretSharingError.InvalidShareIndex, $"Share index {x} is outside 1..{SecretSharing.MaxShares}{why}.");
        }
    }
}
