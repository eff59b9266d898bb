using Microsoft.Win32.SafeHandles;

namespace Confide.Ledger.Ledger;

/// <summary>An entry read from a chunk file, with where it was.</summary>
/// <param name="File">The chunk file.</param>
/// <param name="Offset">The entry's byte offset in the file.</param>
/// <param name="Entry">The parsed entry.</param>
public sealed record StoredEntry(string File, long Offset, LedgerEntry Entry);

/// <summary>
/// Reads a ledger directory: every entry of every chunk, in seqno order, each checked (framing,
/// offset table, entry format, seqno sequence and, given the secret, the GCM tag).
/// </summary>
/// <remarks>
/// Anything malformed stops the enumeration with a <see cref="LedgerFormatException"/> naming the
/// file, the offset and the seqno. Lengths are checked against the file before anything is read or
/// allocated, and every loop advances by at least one header, so damaged files neither crash nor hang
/// the reader. The open chunk of a live ledger may end in an entry still being written: read a live
/// ledger after <see cref="LedgerWriter.Flush"/>, or read committed chunks only.
/// </remarks>
public sealed class LedgerReader
{
    private readonly LedgerSecret? _secret;
    private readonly bool _committedOnly;

    /// <summary>A reader of <paramref name="directory"/>; with <paramref name="secret"/> private domains are decrypted and verified.</summary>
    public LedgerReader(string directory, LedgerSecret? secret = null, bool committedOnly = false)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory = directory;
        _secret = secret;
        _committedOnly = committedOnly;
    }

    /// <summary>The ledger directory.</summary>
    public string Directory { get; }

    /// <summary>The chunks, in order (checked to be contiguous).</summary>
    /// <exception cref="LedgerFormatException">A malformed chunk name or a gap between chunks.</exception>
    public IReadOnlyList<ChunkName> ListChunks() => [.. ChunkFiles.List(Directory, _committedOnly).Select(chunk => chunk.Name)];

    /// <summary>Every entry, in seqno order, read lazily.</summary>
    /// <exception cref="LedgerFormatException">While enumerating: the first malformed thing found.</exception>
    public IEnumerable<StoredEntry> ReadEntries()
    {
        foreach ((ChunkName name, string path) in ChunkFiles.List(Directory, _committedOnly))
        {
            foreach (StoredEntry entry in ReadChunk(name, path))
            {
                yield return entry;
            }
        }
    }

    private IEnumerable<StoredEntry> ReadChunk(ChunkName name, string path)
    {
        using SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        long length = RandomAccess.GetLength(file);
        if (length < ChunkFiles.TableOffsetSize)
        {
            throw new LedgerFormatException(LedgerFormatError.Truncated, $"{length} bytes, shorter than the 8-byte chunk header", 0, name.Start, path);
        }

        ulong tableOffset = ChunkFiles.ReadTableOffset(file);
        long limit = CheckTable(name, path, length, tableOffset);
        int expectedCount = name.End is long end ? (int)(end - name.Start + 1) : int.MaxValue;

        long offset = ChunkFiles.TableOffsetSize;
        int index = 0;
        while (name.IsComplete ? index < expectedCount : offset < limit)
        {
            long seqno = name.Start + index;
            if (name.IsComplete)
            {
                uint position = ChunkFiles.ReadPosition(file, limit, index);
                if (position != offset)
                {
                    throw new LedgerFormatException(LedgerFormatError.InvalidOffsetTable, $"the offset table puts entry {index} at {position}; the entries put it at {offset}", limit + ((long)index * ChunkFiles.PositionSize), seqno, path);
                }
            }

            byte[] bytes = ReadEntryBytes(file, path, offset, limit, seqno);
            if (name.IsComplete)
            {
                // A size field that disagrees with the table is this entry's fault, not the next one's.
                long tableEnd = index + 1 < expectedCount ? ChunkFiles.ReadPosition(file, limit, index + 1) : limit;
                if (offset + bytes.Length != tableEnd)
                {
                    throw new LedgerFormatException(LedgerFormatError.SizeMismatch, $"the entry header gives it {bytes.Length} bytes; the offset table gives it {tableEnd - offset}", offset, seqno, path);
                }
            }

            if (!LedgerEntry.TryParse(bytes, _secret, out LedgerEntry? entry, out LedgerFormatException? error))
            {
                throw error.At(path, offset, seqno);
            }

            if (entry.TxId.Seqno != seqno)
            {
                throw new LedgerFormatException(LedgerFormatError.SeqnoMismatch, $"entry {index} of a chunk starting at {name.Start} has seqno {entry.TxId.Seqno}", offset, seqno, path);
            }

            yield return new StoredEntry(path, offset, entry);
            offset += bytes.Length;
            index++;
        }

        if (offset != limit)
        {
            throw new LedgerFormatException(LedgerFormatError.InvalidOffsetTable, $"the entries end at {offset} but the offset table starts at {limit}", offset, name.Start + index, path);
        }
    }

    // Where the entries end: the offset table of a complete chunk, the end of the file of an open one.
    private static long CheckTable(ChunkName name, string path, long length, ulong tableOffset)
    {
        if (!name.IsComplete)
        {
            return tableOffset == 0
                ? length
                : throw new LedgerFormatException(LedgerFormatError.InvalidOffsetTable, $"open chunk with an offset table at {tableOffset}", 0, name.Start, path);
        }

        long expectedCount = name.End!.Value - name.Start + 1;
        if (tableOffset < ChunkFiles.TableOffsetSize || tableOffset > (ulong)length)
        {
            throw new LedgerFormatException(LedgerFormatError.InvalidOffsetTable, $"complete chunk whose offset table is at {tableOffset} in a {length}-byte file", 0, name.Start, path);
        }

        long tableLength = length - (long)tableOffset;
        if (tableLength % ChunkFiles.PositionSize != 0 || tableLength / ChunkFiles.PositionSize != expectedCount || expectedCount > int.MaxValue)
        {
            throw new LedgerFormatException(LedgerFormatError.InvalidOffsetTable, $"the offset table holds {tableLength} bytes; the name says {expectedCount} entries of {ChunkFiles.PositionSize} bytes", (long)tableOffset, name.Start, path);
        }

        return (long)tableOffset;
    }

    private static byte[] ReadEntryBytes(SafeFileHandle file, string path, long offset, long limit, long seqno)
    {
        long? declared = ChunkFiles.ReadDeclaredSize(file, offset, limit);
        if (declared is not long size)
        {
            throw new LedgerFormatException(LedgerFormatError.Truncated, $"{limit - offset} bytes left, fewer than an 8-byte entry header", offset, seqno, path);
        }

        long available = limit - offset - EntryFormat.HeaderSize;
        if (size > available || size + EntryFormat.HeaderSize > Array.MaxLength)
        {
            throw new LedgerFormatException(LedgerFormatError.LengthOutOfRange, $"the entry declares {size} bytes after its header; {available} remain", offset, seqno, path);
        }

        byte[] bytes = new byte[EntryFormat.HeaderSize + size];
        ChunkFiles.ReadExactly(file, bytes, offset);
        return bytes;
    }
}
