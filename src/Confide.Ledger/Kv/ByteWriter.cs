using System.Buffers;
using System.Buffers.Binary;

namespace Confide.Ledger.Kv;

/// <summary>Appends CCF's raw encodings (little-endian integers, u64-length-prefixed byte strings).</summary>
internal static class ByteWriter
{
    public static void WriteUInt64(IBufferWriter<byte> writer, ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(writer.GetSpan(sizeof(ulong)), value);
        writer.Advance(sizeof(ulong));
    }

    public static void WriteBytes(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes) => writer.Write(bytes);

    public static void WriteLengthPrefixed(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        WriteUInt64(writer, (ulong)bytes.Length);
        writer.Write(bytes);
    }
}
