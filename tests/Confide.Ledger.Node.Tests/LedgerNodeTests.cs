using System.Security.Cryptography;
using System.Text;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Receipts;
using Confide.Tee;

namespace Confide.Ledger.Node.Tests;

public sealed class LedgerNodeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Writes_on_the_leader_commit_at_signatures_and_every_node_holds_the_same_ledger()
    {
        await using var cluster = new TestCluster(3);
        for (int i = 0; i < 3; i++)
        {
            await cluster.StartAsync(i, Ct);
        }

        LedgerNode leader = await cluster.LeaderAsync(Ct);
        var ids = new List<TxId>();
        for (int n = 0; n < 40; n++)
        {
            WriteResult<bool> written = await leader.ExecuteWriteAsync(tx =>
            {
                tx.GetMap("records").PutString($"{n}", $"private message {n}");
                tx.GetMap("public:records").PutString($"{n}", $"public message {n}");
                return new TransactionOutcome<bool>(true);
            }, Ct);
            ids.Add(written.TxId!.Value);
        }

        Assert.Equal(ids.OrderBy(id => id.Seqno), ids);
        Assert.Contains(leader.GetStatus(ids[^1]), new[] { TxStatus.Pending, TxStatus.Committed });
        Assert.Equal(TxStatus.Committed, await leader.WaitForCommitAsync(ids[^1], Ct));

        // Every node applies the same transactions; a read names the last write it could see.
        foreach (LedgerNode node in cluster.Nodes.Select(n => n!))
        {
            await node.WaitForCommitAsync(ids[^1], Ct);
            ReadResult<string?> read = node.ExecuteRead(tx => tx.GetMap("records").GetString("39"));
            Assert.Equal("private message 39", read.Value);
            Assert.True(read.TxId.Seqno >= ids[^1].Seqno);
            Assert.Equal(TxStatus.Committed, node.GetStatus(ids[0]));
        }

        // A seqno held by another view is Invalid; an id beyond the log is Unknown.
        Assert.Equal(TxStatus.Invalid, leader.GetStatus(new TxId(ids[0].View + 5, ids[0].Seqno)));
        Assert.Equal(TxStatus.Unknown, leader.GetStatus(new TxId(ids[0].View, 1_000_000)));

        // Committed chunk files are byte-identical on every node, and private values are not in them.
        await Task.Delay(200, Ct);
        byte[][] ledgers = [.. Enumerable.Range(0, 3).Select(i => ReadLedger(cluster.LedgerDirectory(i), upTo: leader.LastSignedSeqno))];
        Assert.All(ledgers, l => Assert.Equal(ledgers[0], l));
        string text = Encoding.Latin1.GetString(ledgers[0]);
        Assert.Contains("public message 7", text, StringComparison.Ordinal);
        Assert.DoesNotContain("private message", text, StringComparison.Ordinal);

        // A receipt proves the transaction under a signed root.
        Receipt receipt = leader.GetReceipt(ids[5])!;
        Receipts.ReceiptVerifier.Verify(Receipt.Parse(receipt.ToJson()), cluster.Service.Certificate);
        Assert.Equal(ids[5], receipt.TxId);
    }

    [Fact]
    public async Task After_the_leader_stops_a_new_one_carries_on_without_losing_committed_writes()
    {
        await using var cluster = new TestCluster(3);
        for (int i = 0; i < 3; i++)
        {
            await cluster.StartAsync(i, Ct);
        }

        LedgerNode leader = await cluster.LeaderAsync(Ct);
        TxId last = default;
        for (int n = 0; n < 20; n++)
        {
            last = (await leader.ExecuteWriteAsync(tx => Put(tx, n), Ct)).TxId!.Value;
        }

        await leader.WaitForCommitAsync(last, Ct);
        int old = Array.IndexOf(cluster.Nodes, leader);
        await cluster.StopAsync(old);

        LedgerNode next = await cluster.LeaderAsync(Ct);
        TxId after = (await next.ExecuteWriteAsync(tx => Put(tx, 100), Ct)).TxId!.Value;
        Assert.True(after.View > last.View);
        Assert.Equal(TxStatus.Committed, await next.WaitForCommitAsync(after, Ct));
        Assert.Equal("v19", next.ExecuteRead(tx => tx.GetMap("records").GetString("19")).Value);

        // The stopped node restarts from its latest snapshot and its own ledger, and catches up.
        string snapshot = NodeSnapshot.Latest(cluster.SnapshotDirectory(old))!;
        Assert.NotNull(snapshot);
        byte[] sealedSnapshot = await File.ReadAllBytesAsync(snapshot, Ct);
        using (var secret = cluster.Secret())
        {
            NodeSnapshot opened = NodeSnapshot.Open(sealedSnapshot, secret);
            Assert.True(opened.TxId.Seqno >= 10);
            byte[] tampered = sealedSnapshot.ToArray();
            tampered[^5] ^= 1;
            Assert.Throws<InvalidDataException>(() => NodeSnapshot.Open(tampered, secret));
            Assert.Throws<InvalidDataException>(() => NodeSnapshot.Open(sealedSnapshot.AsSpan(0, 40), secret));
            using var other = LedgerSecret.Generate();
            Assert.Throws<InvalidDataException>(() => NodeSnapshot.Open(sealedSnapshot, other));
        }

        await cluster.StartAsync(old, Ct);
        Assert.Equal(TxStatus.Committed, await cluster.Nodes[old]!.WaitForCommitAsync(after, Ct));
        Assert.Equal("v100", cluster.Nodes[old]!.ExecuteRead(tx => tx.GetMap("records").GetString("100")).Value);
    }

    /// <summary>Over mutual attested TLS: a node must be endorsed by the service and run allowed code, checked in every handshake.</summary>
    [Theory]
    [InlineData("endorsed by another service")]
    [InlineData("code id not allowed")]
    public async Task A_node_the_service_did_not_endorse_or_whose_code_it_does_not_allow_takes_no_part_in_consensus(string rogue)
    {
        await using var cluster = new TestCluster(3);
        using ServiceIdentity other = ServiceIdentity.Create("another service");
        await cluster.StartAsync(0, Ct);
        await cluster.StartAsync(1, Ct);
        if (rogue == "code id not allowed")
        {
            await cluster.StartAsync(2, Ct, code: new TeeIdentity(TeeKind.Simulation, SHA256.HashData("other ledger code"u8), TestCluster.Code.SignerId, TestCluster.Code.ProductId, 1, false));
        }
        else
        {
            await cluster.StartAsync(2, Ct, endorsedBy: other);
        }

        LedgerNode leader = await cluster.LeaderAsync(Ct);
        Assert.NotSame(cluster.Nodes[2], leader);
        TxId written = (await leader.ExecuteWriteAsync(tx => Put(tx, 1), Ct)).TxId!.Value;
        Assert.Equal(TxStatus.Committed, await leader.WaitForCommitAsync(written, Ct));
        await Task.Delay(500, Ct);
        Assert.Equal(TxStatus.Unknown, cluster.Nodes[2]!.GetStatus(written));
        Assert.Null(cluster.Nodes[2]!.ExecuteRead(tx => tx.GetMap("records").GetString("1")).Value);
    }

    private static TransactionOutcome<bool> Put(Transaction tx, int n)
    {
        tx.GetMap("records").PutString($"{n}", $"v{n}");
        return new TransactionOutcome<bool>(true);
    }

    private static byte[] ReadLedger(string directory, long upTo)
    {
        using var buffer = new MemoryStream();
        foreach (StoredEntry stored in new LedgerReader(directory).ReadEntries().TakeWhile(e => e.Entry.TxId.Seqno <= upTo))
        {
            buffer.Write(stored.Entry.Bytes.Span);
        }

        return buffer.ToArray();
    }
}
