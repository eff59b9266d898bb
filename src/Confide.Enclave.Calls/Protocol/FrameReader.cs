using System.Buffers;

namespace Confide.Enclave.Calls.Protocol;

/// <summary>
/// Reads frames from a stream into one reusable buffer. A frame whose declared size exceeds the
/// limit is skipped (its bytes are drained, never stored) and reported, so the peer gets an error
/// and the channel stays usable. The payload of a returned frame is valid until the next read.
/// </summary>
internal sealed class FrameReader(Stream stream, int maxPayload) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
    private int _start;
    private int _end;

    public enum FrameStatus
    {
        Ok,
        EndOfStream,
        TooLarge,
        Malformed,
    }

    public readonly record struct Frame(FrameStatus Status, FrameHeader Header, ReadOnlyMemory<byte> Payload, uint DeclaredLength, string? Error);

    public async ValueTask<Frame> ReadAsync(CancellationToken cancellationToken)
    {
        if (!await FillAsync(FrameHeader.Size, cancellationToken).ConfigureAwait(false))
        {
            return new Frame(FrameStatus.EndOfStream, default, default, 0, _end > _start ? "truncated header" : null);
        }

        bool valid = FrameHeader.TryRead(_buffer.AsSpan(_start, FrameHeader.Size), out FrameHeader header, out uint declared, out string? error);
        _start += FrameHeader.Size;
        if (!valid)
        {
            return new Frame(FrameStatus.Malformed, header, default, declared, error);
        }

        if (declared > (uint)maxPayload)
        {
            if (!await SkipAsync(declared, cancellationToken).ConfigureAwait(false))
            {
                return new Frame(FrameStatus.EndOfStream, header, default, declared, "truncated payload");
            }

            return new Frame(FrameStatus.TooLarge, header, default, declared, null);
        }

        int length = (int)declared;
        if (!await FillAsync(length, cancellationToken).ConfigureAwait(false))
        {
            return new Frame(FrameStatus.EndOfStream, header, default, declared, "truncated payload");
        }

        ReadOnlyMemory<byte> payload = _buffer.AsMemory(_start, length);
        _start += length;
        return new Frame(FrameStatus.Ok, header, payload, declared, null);
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

    private async ValueTask<bool> FillAsync(int needed, CancellationToken cancellationToken)
    {
        if (_end - _start >= needed)
        {
            return true;
        }

        if (_buffer.Length - _start < needed)
        {
            int buffered = _end - _start;
            byte[] target = _buffer.Length >= needed ? _buffer : ArrayPool<byte>.Shared.Rent(needed);
            Buffer.BlockCopy(_buffer, _start, target, 0, buffered);
            if (!ReferenceEquals(target, _buffer))
            {
                ArrayPool<byte>.Shared.Return(_buffer, clearArray: true);
                _buffer = target;
            }

            _start = 0;
            _end = buffered;
        }

        while (_end - _start < needed)
        {
            int read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }

            _end += read;
        }

        return true;
    }

    private async ValueTask<bool> SkipAsync(uint count, CancellationToken cancellationToken)
    {
        ulong remaining = count;
        while (remaining > 0)
        {
            if (_end == _start)
            {
                _start = _end = 0;
                int read = await stream.ReadAsync(_buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return false;
                }

                _end = read;
            }

            int take = (int)Math.Min(remaining, (ulong)(_end - _start));
            _start += take;
            remaining -= (ulong)take;
        }

        return true;
    }
}
