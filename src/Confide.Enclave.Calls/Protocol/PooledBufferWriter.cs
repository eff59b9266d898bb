using System.Buffers;

namespace Confide.Enclave.Calls.Protocol;

/// <summary>
/// A growable buffer from <see cref="ArrayPool{T}"/> that starts with room for a frame header, so a
/// frame is encoded in place and sent with one write. Cleared on return: payloads may be secrets.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    public PooledBufferWriter(int reserved = FrameHeader.Size, int initialCapacity = 256)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, reserved));
        _written = reserved;
        Reserved = reserved;
    }

    public int Reserved { get; }

    /// <summary>Bytes written after the reserved prefix.</summary>
    public int PayloadLength => _written - Reserved;

    public Memory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public Span<byte> Prefix => _buffer.AsSpan(0, Reserved);

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        byte[] buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }

    private void Ensure(int sizeHint)
    {
        int needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer, clearArray: true);
        _buffer = larger;
    }
}
