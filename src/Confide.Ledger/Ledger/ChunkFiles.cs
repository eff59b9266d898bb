using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Confide.Ledger.Ledger;

/// <summary>
/// The chunk file layout shared by the writer and the reader, CCF's:
/// <code>
/// [0..8)      u64 LE offset of the offset table; 0 while the chunk is open
/// [8..T)      entries, back to back
/// [T..end)    offset table: one u32 LE file offset per entry (complete chunks only)
/// </code>
/// </summary>
internal static class ChunkFiles
{
    public const int TableOffsetSize = sizeof(ulong);
    public const int PositionSize = sizeof(uint);

    /// <summary>
    /// The chunk files of a directory in seqno order, checked to follow each other with no gap and at
    /// most one open chunk, last. CCF's recovery files (<c>.recovery</c>, <c>.ignored</c>) are skipped.
    /// </summary>
    public static List<(ChunkName Name, string Path)> List(string directory, bool committedOnly)
    {
        var chunks = new List<(ChunkName Name, string Path)>();
        foreach (string path in Directory.EnumerateFiles(directory))
        {
            string fileName = System.IO.Path.GetFileName(path);
            if (!ChunkName.IsChunkLike(fileName) || ChunkName.IsIgnored(fileName))
            {
                continue;
            }

            if (!ChunkName.TryParse(fileName, out ChunkName? name))
            {
                throw new LedgerFormatException(LedgerFormatError.InvalidChunkName, $"'{fileName}' is not ledger_<start>, ledger_<start>-<end> or ledger_<start>-<end>.committed", file: path);
            }

            if (!committedOnly || name.Value.IsCommitted)
            {
                chunks.Add((name.Value, path));
            }
        }

        chunks.Sort((left, right) => left.Name.Start.CompareTo(right.Name.Start));
        for (int i = 1; i < chunks.Count; i++)
        {
            ChunkName previous = chunks[i - 1].Name;
            ChunkName current = chunks[i].Name;
            if (previous.End is not long previousEnd)
            {
                throw new LedgerFormatException(LedgerFormatError.NotContiguous, $"open chunk {previous} is followed by {current}; only the last chunk may be open", file: chunks[i].Path);
            }

            if (current.Start != previousEnd + 1)
            {
                throw new LedgerFormatException(LedgerFormatError.NotContiguous, $"{current} does not follow {previous} (expected a chunk starting at {previousEnd + 1})", file: chunks[i].Path);
            }
        }

        return chunks;
    }

    public static ulong ReadTableOffset(SafeFileHandle file)
    {
        Span<byte> header = stackalloc byte[TableOffsetSize];
        ReadExactly(file, header, 0);
        return BinaryPrimitives.ReadUInt64LittleEndian(header);
    }

    public static uint ReadPosition(SafeFileHandle file, long tableOffset, int index)
    {
        Span<byte> position = stackalloc byte[PositionSize];
        ReadExactly(file, position, tableOffset + ((long)index * PositionSize));
        return BinaryPrimitives.ReadUInt32LittleEndian(position);
    }

    /// <summary>
    /// The size after the 8-byte header of the entry at <paramref name="offset"/>, or null when fewer
    /// than 8 bytes are left before <paramref name="limit"/>.
    /// </summary>
    public static long? ReadDeclaredSize(SafeFileHandle file, long offset, long limit)
    {
        if (limit - offset < EntryFormat.HeaderSize)
        {
            return null;
        }

        Span<byte> header = stackalloc byte[EntryFormat.HeaderSize];
        ReadExactly(file, header, offset);
        return LedgerEntry.ReadDeclaredSize(header);
    }

    public static void ReadExactly(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            int read = RandomAccess.Read(file, buffer, offset);
            if (read == 0)
            {
                throw new EndOfStreamException($"The file ended before offset {offset + buffer.Length}.");
            }

            buffer = buffer[read..];
            offset += read;
        }
    }
}
