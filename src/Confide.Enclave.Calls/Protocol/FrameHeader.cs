using System.Buffers.Binary;

namespace Confide.Enclave.Calls.Protocol;

/// <summary>
/// The fixed 16-byte frame header: <c>u32 payload length | u8 kind | u8 reserved (0) | u16 method
/// ordinal | u64 call id</c>, little-endian. Fixed size so that the reader knows, before touching a
/// payload, how large it claims to be and can refuse it without buffering it.
/// </summary>
internal readonly record struct FrameHeader(int PayloadLength, FrameKind Kind, ushort Method, ulong CallId)
{
    public const int Size = 16;

    public const int ProtocolVersion = 1;

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)PayloadLength);
        destination[4] = (byte)Kind;
        destination[5] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], Method);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], CallId);
    }

    /// <summary>Reads a header; the length is returned as read (unsigned) so that callers can bound it.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out FrameHeader header, out uint declaredLength, out string? error)
    {
        declaredLength = BinaryPrimitives.ReadUInt32LittleEndian(source);
        var kind = (FrameKind)source[4];
        header = new FrameHeader((int)Math.Min(declaredLength, int.MaxValue), kind, BinaryPrimitives.ReadUInt16LittleEndian(source[6..]), BinaryPrimitives.ReadUInt64LittleEndian(source[8..]));
        error = kind is < FrameKind.Hello or > FrameKind.Cancel ? $"unknown frame kind {(byte)kind}"
            : source[5] != 0 ? "reserved header byte is not zero"
            : null;
        return error is null;
    }
}
