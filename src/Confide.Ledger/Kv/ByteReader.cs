using System.Buffers.Binary;

namespace Confide.Ledger.Kv;

/// <summary>
/// A bounds-checked cursor over untrusted bytes. Every read says whether it fit; a length field is
/// compared with what is left before anything is sliced, so a huge length is an error, never an
/// allocation or an exception.
/// </summary>
internal ref struct ByteReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;

    public int Position { get; private set; }

    public readonly int Remaining => _data.Length - Position;

    public readonly bool IsAtEnd => Position == _data.Length;

    public bool TryReadByte(out byte value)
    {
        if (Remaining < 1)
        {
            value = 0;
            return false;
        }

        value = _data[Position];
        Position++;
        return true;
    }

    public bool TryReadUInt64(out ulong value)
    {
        if (Remaining < sizeof(ulong))
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadUInt64LittleEndian(_data[Position..]);
        Position += sizeof(ulong);
        return true;
    }

    public bool TryReadBytes(ulong length, out ReadOnlySpan<byte> bytes)
    {
        if (length > (ulong)Remaining)
        {
            bytes = default;
            return false;
        }

        bytes = _data.Slice(Position, (int)length);
        Position += (int)length;
        return true;
    }

    /// <summary>A u64 little-endian length, then that many bytes (CCF's encoding of strings and byte vectors).</summary>
    public bool TryReadLengthPrefixed(out ReadOnlySpan<byte> bytes)
    {
        int start = Position;
        if (TryReadUInt64(out ulong length) && TryReadBytes(length, out bytes))
        {
            return true;
        }

        Position = start;
        bytes = default;
        return false;
    }
}
