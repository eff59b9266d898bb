using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Confide.Ledger.Ledger;

/// <summary>Settings of a <see cref="LedgerWriter"/>.</summary>
public sealed class LedgerWriterOptions
{
    /// <summary>
    /// A chunk is closed at the first signature transaction once it holds at least this many bytes
    /// (CCF's <c>ledger.chunk_size</c>, default "5MB").
    /// </summary>
    public long ChunkSize { get; init; } = 5 * 1024 * 1024;
}

/// <summary>
/// Appends entries to a ledger directory of chunk files (layout in <see cref="ChunkName"/> and
/// <see cref="LedgerReader"/>), closes a chunk after a signature transaction once it is large enough,
/// renames complete chunks to <c>.committed</c> as commit advances, and truncates the uncommitted
/// suffix when Raft rolls its log back.
/// </summary>
/// <remarks>
/// <para>Durability: <see cref="Flush"/> fsyncs the open chunk (and the directory if a file was
/// created); closing, renaming, deleting and truncating a chunk are fsynced as they happen. A crash
/// can leave a torn last entry in the open chunk; <see cref="Open"/> cuts it off.</para>
/// <para>Not thread-safe: one writer per directory, called in seqno order (a
/// <see cref="Kv.CommitHook"/> provides that order).</para>
/// </remarks>
public sealed class LedgerWriter : IDisposable
{
    private readonly LedgerWriterOptions _options;
    private readonly List<(ChunkName Name, string Path)> _complete = [];
    private OpenChunk? _open;
    private bool _directoryDirty;
    private bool _disposed;

    private LedgerWriter(string directory, LedgerWriterOptions options)
    {
        Directory = directory;
        _options = options;
    }

    /// <summary>The ledger directory.</summary>
    public string Directory { get; }

    /// <summary>The seqno of the last entry, 0 when the ledger is empty (then any seqno may come first).</summary>
    public long LastSeqno { get; private set; }

    /// <summary>The highest seqno passed to <see cref="Commit"/> (or found committed on disk).</summary>
    public long CommittedSeqno { get; private set; }

    /// <summary>The chunks, oldest first; the last may be open.</summary>
    public IReadOnlyList<ChunkName> Chunks =>
        [.. _complete.Select(chunk => chunk.Name), .. _open is null ? Array.Empty<ChunkName>() : [new ChunkName(_open.Start, null, false)]];

    /// <summary>
    /// Opens (creating it if needed) a ledger directory to append to. An open chunk left by a previous
    /// run is continued; a torn entry at its end (a crash in the middle of a write) is cut off.
    /// </summary>
    /// <exception cref="LedgerFormatException">The directory holds malformed or non-contiguous chunks.</exception>
    public static LedgerWriter Open(string directory, LedgerWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        System.IO.Directory.CreateDirectory(directory);
        var writer = new LedgerWriter(directory, options ?? new LedgerWriterOptions());
        foreach ((ChunkName name, string path) in ChunkFiles.List(directory, committedOnly: false))
        {
            if (name.End is long end)
            {
                writer._complete.Add((name, path));
                writer.LastSeqno = end;
                writer.CommittedSeqno = name.IsCommitted ? Math.Max(writer.CommittedSeqno, end) : writer.CommittedSeqno;
            }
            else
            {
                writer.ResumeOpenChunk(name, path);
            }
        }

        return writer;
    }

    /// <summary>
    /// Appends <paramref name="entry"/>, which must be the next seqno. After a signature transaction
    /// the chunk is closed if it reached <see cref="LedgerWriterOptions.ChunkSize"/> (or the entry asks
    /// for it with <see cref="EntryFlags.ForceChunkAfter"/>), so a complete chunk always ends on a signature.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not the next seqno, or the chunk would outgrow its 32-bit offset table.</exception>
    public void Append(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ObjectDisposedException.ThrowIf(_disposed, this);
        long seqno = entry.TxId.Seqno;
        if (seqno < 1 || (LastSeqno != 0 && seqno != LastSeqno + 1))
        {
            throw new InvalidOperationException($"Entry {entry.TxId} does not follow seqno {LastSeqno}.");
        }

        OpenChunk chunk = _open ??= CreateOpenChunk(seqno);
        long position = chunk.Stream.Length;
        if (position + entry.Bytes.Length > uint.MaxValue)
        {
            throw new InvalidOperationException($"Entry {entry.TxId} would take chunk {chunk.Start} past 4 GiB, beyond its offset table; emit signatures more often or use a smaller chunk size.");
        }

        chunk.Stream.Position = position;
        chunk.Stream.Write(entry.Bytes.Span);
        chunk.Positions.Add((uint)position);
        LastSeqno = seqno;

        if (entry.IsSignature && (chunk.Stream.Length >= _options.ChunkSize || entry.Flags.HasFlag(EntryFlags.ForceChunkAfter)))
        {
            CloseOpenChunk();
        }
    }

    /// <summary>Makes everything appended so far durable (fsync).</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _open?.Stream.Flush(flushToDisk: true);
        if (_directoryDirty)
        {
            DirectorySync.Sync(Directory);
            _directoryDirty = false;
        }
    }

    /// <summary>Records that entries up to <paramref name="seqno"/> are committed: complete chunks ending by then become <c>.committed</c>.</summary>
    public void Commit(long seqno)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (seqno > LastSeqno)
        {
            throw new ArgumentOutOfRangeException(nameof(seqno), seqno, $"The ledger ends at seqno {LastSeqno}.");
        }

        if (seqno <= CommittedSeqno)
        {
            return;
        }

        CommittedSeqno = seqno;
        bool renamed = false;
        for (int i = 0; i < _complete.Count; i++)
        {
            (ChunkName name, string path) = _complete[i];
            if (!name.IsCommitted && name.End <= seqno)
            {
                _complete[i] = Rename(path, name with { IsCommitted = true });
                renamed = true;
            }
        }

        if (renamed)
        {
            DirectorySync.Sync(Directory);
        }
    }

    /// <summary>
    /// Drops every entry after <paramref name="seqno"/> (a Raft rollback): later chunks are deleted and
    /// the chunk holding <paramref name="seqno"/> is cut after it (reopened if it was complete).
    /// </summary>
    /// <exception cref="InvalidOperationException">Committed entries would be dropped.</exception>
    public void Truncate(long seqno)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (seqno < CommittedSeqno)
        {
            throw new InvalidOperationException($"Cannot truncate to seqno {seqno}: entries up to {CommittedSeqno} are committed.");
        }

        if (seqno >= LastSeqno)
        {
            return;
        }

        if (_open is not null && seqno >= _open.Start)
        {
            CutOpenChunk(_open, seqno);
            LastSeqno = seqno;
            return;
        }

        DeleteOpenChunk();
        while (_complete.Count > 0 && _complete[^1].Name.Start > seqno)
        {
            File.Delete(_complete[^1].Path);
            _complete.RemoveAt(_complete.Count - 1);
        }

        if (_complete.Count > 0 && _complete[^1].Name.End > seqno)
        {
            ReopenCompleteChunk(seqno);
        }

        LastSeqno = _complete.Count > 0 || _open is not null ? seqno : 0;
        DirectorySync.Sync(Directory);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Flush();
        _open?.Stream.Dispose();
        _disposed = true;
    }

    private OpenChunk CreateOpenChunk(long start)
    {
        var name = new ChunkName(start, null, false);
        string path = Path.Combine(Directory, name.FileName);
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        stream.Write(new byte[ChunkFiles.TableOffsetSize]); // table offset 0: open
        _directoryDirty = true;
        return new OpenChunk(start, path, stream, []);
    }

    // Writes the offset table, points the header at it, syncs, and renames ledger_<start> to ledger_<start>-<end>.
    private void CloseOpenChunk()
    {
        OpenChunk chunk = _open!;
        long tableOffset = chunk.Stream.Length;
        byte[] table = new byte[chunk.Positions.Count * ChunkFiles.PositionSize];
        for (int i = 0; i < chunk.Positions.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(i * ChunkFiles.PositionSize), chunk.Positions[i]);
        }

        chunk.Stream.Position = tableOffset;
        chunk.Stream.Write(table);
        byte[] header = new byte[ChunkFiles.TableOffsetSize];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)tableOffset);
        chunk.Stream.Position = 0;
        chunk.Stream.Write(header);
        chunk.Stream.Flush(flushToDisk: true);
        chunk.Stream.Dispose();
        _open = null;

        // Not committed yet: its last entry, the signature, was only just appended.
        var complete = new ChunkName(chunk.Start, LastSeqno, IsCommitted: false);
        _complete.Add(Rename(chunk.Path, complete));
        DirectorySync.Sync(Directory);
        _directoryDirty = false;
    }

    private void ResumeOpenChunk(ChunkName name, string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        var positions = new List<uint>();
        long length = stream.Length;
        if (length < ChunkFiles.TableOffsetSize)
        {
            stream.Dispose();
            throw new LedgerFormatException(LedgerFormatError.Truncated, $"{length} bytes, shorter than the 8-byte chunk header", 0, name.Start, path);
        }

        if (ChunkFiles.ReadTableOffset(stream.SafeFileHandle) != 0)
        {
            stream.Dispose();
            throw new LedgerFormatException(LedgerFormatError.InvalidOffsetTable, "open chunk with an offset table", 0, name.Start, path);
        }

        // Frame the entries; the first one that does not fit is a torn write and is cut off.
        long offset = ChunkFiles.TableOffsetSize;
        while (ChunkFiles.ReadDeclaredSize(stream.SafeFileHandle, offset, length) is long size && size <= length - offset - EntryFormat.HeaderSize)
        {
            positions.Add((uint)offset);
            offset += EntryFormat.HeaderSize + size;
        }

        if (offset < length)
        {
            stream.SetLength(offset);
            stream.Flush(flushToDisk: true);
        }

        if (positions.Count == 0)
        {
            stream.Dispose();
            File.Delete(path);
            DirectorySync.Sync(Directory);
            return;
        }

        _open = new OpenChunk(name.Start, path, stream, positions);
        LastSeqno = name.Start + positions.Count - 1;
    }

    private void CutOpenChunk(OpenChunk chunk, long seqno)
    {
        int kept = (int)(seqno - chunk.Start + 1);
        if (kept == 0)
        {
            DeleteOpenChunk();
            DirectorySync.Sync(Directory);
            return;
        }

        chunk.Stream.SetLength(chunk.Positions[kept]);
        chunk.Positions.RemoveRange(kept, chunk.Positions.Count - kept);
        chunk.Stream.Flush(flushToDisk: true);
    }

    private void DeleteOpenChunk()
    {
        if (_open is null)
        {
            return;
        }

        _open.Stream.Dispose();
        File.Delete(_open.Path);
        _open = null;
    }

    // The last complete chunk holds seqno and later entries: drop its table and those entries, reopen it.
    private void ReopenCompleteChunk(long seqno)
    {
        (ChunkName name, string path) = _complete[^1];
        _complete.RemoveAt(_complete.Count - 1);
        var positions = new List<uint>();
        using (SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.Read))
        {
            long tableOffset = (long)ChunkFiles.ReadTableOffset(file);
            int kept = (int)(seqno - name.Start + 1);
            for (int i = 0; i <= kept; i++)
            {
                positions.Add(ChunkFiles.ReadPosition(file, tableOffset, i));
            }
        }

        uint cut = positions[^1];
        positions.RemoveAt(positions.Count - 1);
        var open = new ChunkName(name.Start, null, false);
        string openPath = Rename(path, open).Path;
        var stream = new FileStream(openPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        stream.SetLength(cut);
        stream.Position = 0;
        stream.Write(new byte[ChunkFiles.TableOffsetSize]);
        stream.Flush(flushToDisk: true);
        _open = new OpenChunk(name.Start, openPath, stream, positions);
    }

    private (ChunkName Name, string Path) Rename(string path, ChunkName name)
    {
        string newPath = Path.Combine(Directory, name.FileName);
        File.Move(path, newPath);
        return (name, newPath);
    }

    private sealed record OpenChunk(long Start, string Path, FileStream Stream, List<uint> Positions);
}
