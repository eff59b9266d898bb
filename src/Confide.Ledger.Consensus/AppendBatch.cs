using System.Buffers.Binary;

namespace Confide.Ledger.Consensus;

/// <summary>
/// The content of one engine log entry: the payloads appended together (see
/// <see cref="RaftConsensus"/>'s group commit):
/// <c>version (1) ‖ count (u32 LE) ‖ count × (length (u32 LE) ‖ payload)</c>.
/// This is the engine log's format only: the ledger files hold each payload as its own entry.
/// </summary>
internal static class AppendBatch
{
    private const byte Version = 1;
    private const int HeaderSize = 1 + sizeof(uint);

    public static byte[] Encode(ReadOnlySpan<ReadOnlyMemory<byte>> payloads)
    {
        long size = HeaderSize;
        foreach (ReadOnlyMemory<byte> payload in payloads)
        {
            size += sizeof(uint) + payload.Length;
        }

        byte[] content = new byte[checked((int)size)];
        content[0] = Version;
        BinaryPrimitives.WriteUInt32LittleEndian(content.AsSpan(1), (uint)payloads.Length);
        int offset = HeaderSize;
        foreach (ReadOnlyMemory<byte> payload in payloads)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(content.AsSpan(offset), (uint)payload.Length);
            payload.Span.CopyTo(content.AsSpan(offset + sizeof(uint)));
            offset += sizeof(uint) + payload.Length;
        }

        return content;
    }

    /// <summary>The payloads of an engine entry, as slices of <paramref name="content"/>.</summary>
    /// <exception cref="InvalidDataException">The content is not a well-formed batch (its lengths do not add up).</exception>
    public static List<ReadOnlyMemory<byte>> Decode(ReadOnlyMemory<byte> content, long index)
    {
        ReadOnlySpan<byte> span = content.Span;
        if (span.Length < HeaderSize || span[0] != Version)
        {
            throw new InvalidDataException($"The log entry at index {index} is not a version-{Version} batch ({span.Length} bytes).");
        }

        uint count = BinaryPrimitives.ReadUInt32LittleEndian(span[1..]);
        if (count > (uint)(span.Length - HeaderSize) / sizeof(uint))
        {
            throw new InvalidDataException($"The log entry at index {index} declares {count} payloads in {span.Length} bytes.");
        }

        var payloads = new List<ReadOnlyMemory<byte>>((int)count);
        int offset = HeaderSize;
        for (uint i = 0; i < count; i++)
        {
            if (span.Length - offset < sizeof(uint))
            {
                throw new InvalidDataException($"The log entry at index {index} ends inside the length of payload {i}.");
            }

            uint length = BinaryPrimitives.ReadUInt32LittleEndian(span[offset..]);
            offset += sizeof(uint);
            if (length > (uint)(span.Length - offset))
            {
                throw new InvalidDataException($"Payload {i} of the log entry at index {index} declares {length} bytes; {span.Length - offset} remain.");
            }

            payloads.Add(content.Slice(offset, (int)length));
            offset += (int)length;
        }

        if (offset != span.Length)
        {
            throw new InvalidDataException($"The log entry at index {index} has {span.Length - offset} bytes after its {count} payloads.");
        }

        return payloads;
    }
}
