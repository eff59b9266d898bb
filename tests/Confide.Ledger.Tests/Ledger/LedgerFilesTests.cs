using System.Buffers.Binary;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Tests.Support;

namespace Confide.Ledger.Tests.Ledger;

/// <summary>
/// <see cref="LedgerWriter"/> and <see cref="LedgerReader"/> on real chunk files: chunking on
/// signatures, the chunk layout, <c>.committed</c> renaming, rollback truncation, reopening after a
/// crash, and damaged files reported with file, offset and seqno.
/// </summary>
public sealed class LedgerFilesTests
{
    [Fact]
    public void Entries_RoundTripAcrossChunks_InSeqnoOrder()
    {
        using TestLedger ledger = TestLedger.Create().Write(12, signatureInterval: 5);

        List<StoredEntry> read = [.. new LedgerReader(ledger.Directory.Path, ledger.Secret).ReadEntries()];

        Assert.Equal(ledger.Entries.Select(entry => entry.TxId), read.Select(stored => stored.Entry.TxId));
        Assert.Equal(ledger.Entries.Select(entry => entry.WriteSetDigest), read.Select(stored => stored.Entry.WriteSetDigest));
        LedgerEntry first = read[0].Entry;
        Assert.Equal(TestLedger.PrivateMarker(1), first.WriteSet.Find("records")!.Writes[0].Value.ToArray());
    }

    [Fact]
    public void PrivateValues_NeverAppearInTheChunkFiles()
    {
        using TestLedger ledger = TestLedger.Create().Write(12, signatureInterval: 5);

        foreach (string file in Directory.GetFiles(ledger.Directory.Path))
        {
            byte[] bytes = File.ReadAllBytes(file);
            foreach (LedgerEntry entry in ledger.Entries)
            {
                Assert.Equal(-1, bytes.AsSpan().IndexOf(TestLedger.PrivateMarker(entry.TxId.Seqno)));
            }

            Assert.NotEqual(-1, bytes.AsSpan().IndexOf("public message"u8));
        }
    }

    [Fact]
    public void ReplayingTheLedger_RebuildsTheStoreAndTheTree()
    {
        using TestLedger ledger = TestLedger.Create().Write(12, signatureInterval: 5);
        var replica = new Store();

        foreach (StoredEntry stored in new LedgerReader(ledger.Directory.Path, ledger.Secret).ReadEntries())
        {
            replica.Apply(stored.Entry.WriteSet, stored.Entry.TxId.Seqno);
        }

        Assert.Equal(ledger.Store.Version, replica.Version);
        Transaction expected = ledger.Store.BeginTransaction();
        Transaction actual = replica.BeginTransaction();
        foreach (string map in new[] { "records", "public:records", InternalMaps.Signatures, InternalMaps.Tree })
        {
            Assert.Equal(Dump(expected.GetMap(map)), Dump(actual.GetMap(map)));
        }

        Assert.Equal(ledger.Appender.Tree.Root, LedgerAppender.RebuildTree(new LedgerReader(ledger.Directory.Path)).Root);
    }

    [Fact]
    public void Chunks_CloseAfterASignature_OnceLargeEnough_AndEndOnSignatures()
    {
        // Chunk size 1 byte: every signature closes its chunk.
        using TestLedger ledger = TestLedger.Create().Write(12, signatureInterval: 5, endWithSignature: false);

        Assert.Equal(["ledger_1-5", "ledger_11", "ledger_6-10"], ledger.Directory.FileNames());
        var reader = new LedgerReader(ledger.Directory.Path);
        foreach (IGrouping<string, StoredEntry> chunk in reader.ReadEntries().GroupBy(stored => Path.GetFileName(stored.File)))
        {
            if (ChunkName.TryParse(chunk.Key, out ChunkName? name) && name.Value.IsComplete)
            {
                Assert.True(chunk.Last().Entry.IsSignature, chunk.Key);
            }
        }
    }

    [Fact]
    public void LargeChunkSize_KeepsEntriesInOneChunkUntilItIsReached()
    {
        using TestLedger ledger = TestLedger.Create(chunkSize: 4000).Write(30, signatureInterval: 5);

        string[] names = ledger.Directory.FileNames();
        Assert.True(names.Length is > 1 and < 10, string.Join(", ", names));
        foreach (string name in names.Where(name => name.Contains('-', StringComparison.Ordinal)))
        {
            Assert.True(new FileInfo(Path.Combine(ledger.Directory.Path, name)).Length >= 4000, name);
        }
    }

    [Fact]
    public void CompleteChunk_HasItsOffsetTable_OpenChunkAZeroHeader()
    {
        using TestLedger ledger = TestLedger.Create().Write(7, signatureInterval: 5, endWithSignature: false);
        byte[] complete = File.ReadAllBytes(Path.Combine(ledger.Directory.Path, "ledger_1-5"));
        byte[] open = File.ReadAllBytes(Path.Combine(ledger.Directory.Path, "ledger_6"));

        long tableOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(complete);
        Assert.Equal(5 * 4, complete.Length - tableOffset);
        long expected = 8;
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(expected, BinaryPrimitives.ReadUInt32LittleEndian(complete.AsSpan((int)tableOffset + (4 * i))));
            expected += ledger.Entries[i].Bytes.Length;
        }

        Assert.Equal(tableOffset, expected);
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(open));
        Assert.Equal(8 + ledger.Entries.Skip(5).Sum(entry => entry.Bytes.Length), open.Length);
    }

    [Fact]
    public void Commit_RenamesCompleteChunksUpToIt()
    {
        using TestLedger ledger = TestLedger.Create().Write(12, signatureInterval: 5, endWithSignature: false);

        ledger.Appender.Commit(12);

        Assert.Equal(["ledger_1-5.committed", "ledger_11", "ledger_6-10.committed"], ledger.Directory.FileNames());
        Assert.Equal(10, new LedgerReader(ledger.Directory.Path, committedOnly: true).ReadEntries().Count());
    }

    [Fact]
    public void Reopen_FindsTheCommitPointAndTheLastSeqno()
    {
        using TestLedger ledger = TestLedger.Create().Write(12, signatureInterval: 5, endWithSignature: false);
        ledger.Appender.Commit(12);
        ledger.Writer.Dispose();

        using LedgerWriter writer = LedgerWriter.Open(ledger.Directory.Path);

        Assert.Equal(10, writer.CommittedSeqno); // what the .committed names say
        Assert.Equal(14, writer.LastSeqno);
        Assert.Equal([new ChunkName(1, 5, true), new ChunkName(6, 10, true), new ChunkName(11, null, false)], writer.Chunks);
    }

    [Fact]
    public void Truncate_WithinTheOpenChunk_ThenAppendContinues()
    {
        using TestLedger ledger = TestLedger.Create().Write(8, signatureInterval: 5, endWithSignature: false);

        ledger.Appender.Truncate(7);
        ledger.Store.Rollback(7);
        ledger.Commit(8);
        ledger.Writer.Flush();

        List<StoredEntry> read = [.. new LedgerReader(ledger.Directory.Path, ledger.Secret).ReadEntries()];
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), read.Select(stored => stored.Entry.TxId.Seqno));
        Assert.Equal(["ledger_1-5", "ledger_6"], ledger.Directory.FileNames());
    }

    [Fact]
    public void Truncate_IntoACompleteUncommittedChunk_ReopensIt()
    {
        using TestLedger ledger = TestLedger.Create().Write(12, signatureInterval: 5, endWithSignature: false);
        ledger.Appender.Commit(5);

        ledger.Appender.Truncate(7);
        ledger.Store.Rollback(7);

        Assert.Equal(["ledger_1-5.committed", "ledger_6"], ledger.Directory.FileNames());
        Assert.Equal([.. Enumerable.Range(1, 7).Select(i => (long)i)], new LedgerReader(ledger.Directory.Path).ReadEntries().Select(stored => stored.Entry.TxId.Seqno));

        ledger.Write(6, signatureInterval: 5);
        Assert.Equal(15, new LedgerReader(ledger.Directory.Path, ledger.Secret).ReadEntries().Count());
    }

    [Fact]
    public void Truncate_BelowTheCommitPoint_IsRefused()
    {
        using TestLedger ledger = TestLedger.Create().Write(7, signatureInterval: 5);
        ledger.Appender.Commit(5);

        Assert.Throws<InvalidOperationException>(() => ledger.Writer.Truncate(4));
    }

    [Fact]
    public void Reopen_ContinuesTheOpenChunk_AndCutsATornTail()
    {
        using TestLedger ledger = TestLedger.Create().Write(7, signatureInterval: 5, endWithSignature: false);
        ledger.Writer.Dispose();
        string open = Path.Combine(ledger.Directory.Path, "ledger_6");
        long goodLength = new FileInfo(open).Length;
        using (FileStream stream = File.Open(open, FileMode.Append))
        {
            stream.Write(ledger.Entries[^1].Bytes.Span[..20]); // a crash in the middle of a write
        }

        using LedgerWriter writer = LedgerWriter.Open(ledger.Directory.Path);

        Assert.Equal(8, writer.LastSeqno);
        Assert.Equal(goodLength, new FileInfo(open).Length);
        using var secret = LedgerSecret.FromBytes(ledger.Secret.Export());
        writer.Append(LedgerEntry.Create(new TxId(2, 9), new WriteSetBuilder().Put("records", "k"u8, "v"u8).Build(), secret));
        writer.Flush();
        Assert.Equal(9, new LedgerReader(ledger.Directory.Path, secret).ReadEntries().Count());
    }

    [Fact]
    public void Append_RequiresTheNextSeqno()
    {
        using TestLedger ledger = TestLedger.Create().Write(3, signatureInterval: 100, endWithSignature: false);

        Assert.Throws<InvalidOperationException>(() => ledger.Writer.Append(LedgerEntry.Create(new TxId(2, 5), WriteSet.Empty, ledger.Secret)));
    }

    [Fact]
    public void TruncatedFile_IsReportedWithFileOffsetAndSeqno()
    {
        using TestLedger ledger = TestLedger.Create().Write(7, signatureInterval: 5, endWithSignature: false);
        ledger.Writer.Dispose();
        string open = Path.Combine(ledger.Directory.Path, "ledger_6");
        long entry7 = 8 + ledger.Entries[5].Bytes.Length;
        using (FileStream stream = File.Open(open, FileMode.Open))
        {
            stream.SetLength(entry7 + 30);
        }

        LedgerFormatException error = ReadAllExpectingError(ledger.Directory.Path);

        Assert.Equal(LedgerFormatError.LengthOutOfRange, error.Error);
        Assert.Equal(open, error.File);
        Assert.Equal(entry7, error.Offset);
        Assert.Equal(7, error.Seqno);
    }

    [Fact]
    public void HugeSizeField_IsAnErrorNotAnAllocation()
    {
        using TestLedger ledger = TestLedger.Create().Write(7, signatureInterval: 5, endWithSignature: false);
        string complete = Path.Combine(ledger.Directory.Path, "ledger_1-5");
        byte[] bytes = File.ReadAllBytes(complete);
        long entry2 = 8 + ledger.Entries[0].Bytes.Length;
        bytes.AsSpan((int)entry2 + 2, 6).Fill(0xFF);
        File.WriteAllBytes(complete, bytes);

        LedgerFormatException error = ReadAllExpectingError(ledger.Directory.Path);

        Assert.Equal(LedgerFormatError.LengthOutOfRange, error.Error);
        Assert.Equal(complete, error.File);
        Assert.Equal(entry2, error.Offset);
        Assert.Equal(2, error.Seqno);
    }

    [Fact]
    public void FlippedByteInsideAnEntry_IsLocatedInThatEntry()
    {
        using TestLedger ledger = TestLedger.Create().Write(7, signatureInterval: 5, endWithSignature: false);
        string complete = Path.Combine(ledger.Directory.Path, "ledger_1-5");
        byte[] bytes = File.ReadAllBytes(complete);
        long entry3 = 8 + ledger.Entries[0].Bytes.Length + ledger.Entries[1].Bytes.Length;
        bytes[entry3 + 100] ^= 0x01;
        File.WriteAllBytes(complete, bytes);

        LedgerFormatException error = Assert.Throws<LedgerFormatException>(() => new LedgerReader(ledger.Directory.Path, ledger.Secret).ReadEntries().ToList());

        Assert.Equal(3, error.Seqno);
        Assert.Equal(complete, error.File);
        Assert.InRange(error.Offset!.Value, entry3, entry3 + ledger.Entries[2].Bytes.Length);
    }

    [Fact]
    public void BadOffsetTable_IsRefused()
    {
        using TestLedger ledger = TestLedger.Create().Write(5, signatureInterval: 5);
        string complete = Path.Combine(ledger.Directory.Path, "ledger_1-5");
        byte[] bytes = File.ReadAllBytes(complete);
        int tableOffset = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        byte[] original = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(tableOffset), 9);
        File.WriteAllBytes(complete, bytes);

        Assert.Equal(LedgerFormatError.InvalidOffsetTable, ReadAllExpectingError(ledger.Directory.Path).Error);

        // A later position that disagrees with the previous entry's size could be either one's fault;
        // it is reported at that entry, whose extent it is.
        bytes = (byte[])original.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(tableOffset + 4), 9);
        File.WriteAllBytes(complete, bytes);
        LedgerFormatException sizeError = ReadAllExpectingError(ledger.Directory.Path);
        Assert.Equal((LedgerFormatError.SizeMismatch, 1L), (sizeError.Error, sizeError.Seqno!.Value));

        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        File.WriteAllBytes(complete, bytes);
        Assert.Equal(LedgerFormatError.InvalidOffsetTable, ReadAllExpectingError(ledger.Directory.Path).Error);
    }

    [Fact]
    public void MissingChunk_IsAGap()
    {
        using TestLedger ledger = TestLedger.Create().Write(12, signatureInterval: 5);
        File.Delete(Path.Combine(ledger.Directory.Path, "ledger_6-10"));

        LedgerFormatException error = Assert.Throws<LedgerFormatException>(() => new LedgerReader(ledger.Directory.Path).ListChunks());

        Assert.Equal(LedgerFormatError.NotContiguous, error.Error);
        Assert.EndsWith("ledger_11-15", error.File, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ledger_x")]
    [InlineData("ledger_5-3")]
    [InlineData("ledger_0")]
    [InlineData("ledger_3.committed")]
    public void MalformedChunkName_IsRefused(string name)
    {
        using var directory = new TempDirectory();
        File.WriteAllBytes(Path.Combine(directory.Path, name), new byte[8]);

        Assert.Equal(LedgerFormatError.InvalidChunkName, ReadAllExpectingError(directory.Path).Error);
    }

    [Fact]
    public void GarbageFiles_AreRefused_NeverACrash()
    {
        var random = new Random(99);
        for (int round = 0; round < 40; round++)
        {
            using var directory = new TempDirectory();
            byte[] garbage = new byte[random.Next(0, 2000) | 1]; // odd: never exactly an empty open chunk
            random.NextBytes(garbage);
            if (round % 2 == 0 && garbage.Length >= 8)
            {
                garbage.AsSpan(0, 8).Clear(); // an "open" chunk, so framing is exercised
            }

            File.WriteAllBytes(Path.Combine(directory.Path, round % 3 == 0 ? "ledger_1-3" : "ledger_1"), garbage);

            ReadAllExpectingError(directory.Path);
        }
    }

    [Fact]
    public async Task RandomlyDamagedLedger_EndsInALedgerFormatException_OrReadsFine_WithoutHanging()
    {
        using TestLedger ledger = TestLedger.Create().Write(12, signatureInterval: 5);
        var random = new Random(7);
        string[] files = Directory.GetFiles(ledger.Directory.Path);

        Task fuzz = Task.Run(() =>
        {
            for (int round = 0; round < 60; round++)
            {
                using TempDirectory copy = ledger.Directory.Copy();
                string file = Path.Combine(copy.Path, Path.GetFileName(files[random.Next(files.Length)]));
                byte[] bytes = File.ReadAllBytes(file);
                for (int flips = random.Next(1, 4); flips > 0; flips--)
                {
                    bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                }

                File.WriteAllBytes(file, round % 4 == 0 ? bytes[..random.Next(bytes.Length)] : bytes);
                try
                {
                    _ = new LedgerReader(copy.Path, round % 2 == 0 ? ledger.Secret : null).ReadEntries().Count();
                }
                catch (LedgerFormatException)
                {
                }
            }
        }, TestContext.Current.CancellationToken);

        Assert.Same(fuzz, await Task.WhenAny(fuzz, Task.Delay(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken)));
        await fuzz;
    }

    private static List<string> Dump(MapHandle map)
    {
        var entries = new List<string>();
        map.ForEach((key, value) =>
        {
            entries.Add($"{Convert.ToHexString(key.Span)}={Convert.ToHexString(value.Span)}");
            return true;
        });
        return entries;
    }

    private static LedgerFormatException ReadAllExpectingError(string directory) =>
        Assert.Throws<LedgerFormatException>(() => new LedgerReader(directory).ReadEntries().ToList());
}
