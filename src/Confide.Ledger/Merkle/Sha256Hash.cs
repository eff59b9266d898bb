using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Confide.Ledger.Merkle;

/// <summary>
/// A SHA-256 digest: the unit of the Merkle tree, of leaves, write-set digests and claims digests.
/// Immutable; <c>default</c> is the all-zero digest (CCF's "no claims" value and its leaf 0).
/// </summary>
/// <remarks>
/// Digests here are public values (they are written in the clear to the ledger and to receipts),
/// so equality is an ordinary comparison, not a constant-time one.
/// </remarks>
public readonly struct Sha256Hash : IEquatable<Sha256Hash>
{
    /// <summary>The digest length in bytes.</summary>
    public const int Size = 32;

    private static readonly byte[] ZeroBytes = new byte[Size];

    private readonly byte[]? _bytes;

    private Sha256Hash(byte[] bytes) => _bytes = bytes;

    /// <summary>The all-zero digest.</summary>
    public static Sha256Hash Zero => default;

    /// <summary>The 32 bytes of the digest.</summary>
    public ReadOnlySpan<byte> Span => _bytes ?? ZeroBytes;

    /// <summary>True for the all-zero digest.</summary>
    public bool IsZero => Span.IndexOfAnyExcept((byte)0) < 0;

    /// <summary>SHA-256 of <paramref name="data"/>.</summary>
    public static Sha256Hash Compute(ReadOnlySpan<byte> data) => new(SHA256.HashData(data));

    /// <summary>The inner node of CCF's Merkle tree: SHA-256(left ‖ right).</summary>
    public static Sha256Hash Combine(Sha256Hash left, Sha256Hash right)
    {
        Span<byte> both = stackalloc byte[2 * Size];
        left.Span.CopyTo(both);
        right.Span.CopyTo(both[Size..]);
        return Compute(both);
    }

    /// <summary>Wraps 32 bytes (copied).</summary>
    /// <exception cref="ArgumentException">Not exactly 32 bytes.</exception>
    public static Sha256Hash FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"A SHA-256 digest is {Size} bytes, not {bytes.Length}.", nameof(bytes));
        }

        return new Sha256Hash(bytes.ToArray());
    }

    /// <summary>Parses 64 hex digits (either case).</summary>
    /// <exception cref="FormatException">Not 64 hex digits.</exception>
    public static Sha256Hash Parse(string hex) =>
        TryParse(hex, out Sha256Hash hash) ? hash : throw new FormatException($"'{hex}' is not a SHA-256 digest in hex (64 hex digits).");

    /// <summary>Parses 64 hex digits (either case); false for anything else.</summary>
    public static bool TryParse([NotNullWhen(true)] string? hex, out Sha256Hash hash)
    {
        hash = default;
        if (hex is null || hex.Length != 2 * Size)
        {
            return false;
        }

        byte[] bytes = new byte[Size];
        if (Convert.FromHexString(hex, bytes, out _, out int written) != System.Buffers.OperationStatus.Done || written != Size)
        {
            return false;
        }

        hash = new Sha256Hash(bytes);
        return true;
    }

    /// <summary>Copies the 32 bytes into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<byte> destination) => Span.CopyTo(destination);

    /// <summary>A new array holding the 32 bytes.</summary>
    public byte[] ToArray() => Span.ToArray();

    /// <summary>Lower-case hex, as CCF writes digests in JSON.</summary>
    public override string ToString() => Convert.ToHexStringLower(Span);

    public bool Equals(Sha256Hash other) => Span.SequenceEqual(other.Span);

    public override bool Equals(object? obj) => obj is Sha256Hash other && Equals(other);

    public override int GetHashCode() => BitConverter.ToInt32(Span);

    public static bool operator ==(Sha256Hash left, Sha256Hash right) => left.Equals(right);

    public static bool operator !=(Sha256Hash left, Sha256Hash right) => !left.Equals(right);
}
