using System.Text;
using Confide.Ledger.Kv;

namespace Confide.Ledger.Tests.Kv;

/// <summary>
/// <see cref="Store"/> and <see cref="Transaction"/>: snapshot isolation, optimistic conflicts on
/// keys and enumerations, tombstones, replay and rollback.
/// </summary>
public sealed class StoreTests
{
    private const string Records = "records";
    private const string PublicRecords = "public:records";

    [Fact]
    public void Commit_AppliesWritesAtTheNextVersion()
    {
        var store = new Store();
        Transaction tx = store.BeginTransaction();
        tx.GetMap(Records).PutString("k", "v");

        CommitResult result = tx.TryCommit();

        Assert.Equal(CommitStatus.Committed, result.Status);
        Assert.Equal(1, result.Version);
        Assert.Equal(1, store.Version);
        Assert.Equal("v", store.BeginTransaction().GetMap(Records).GetString("k"));
    }

    [Fact]
    public void Transaction_ReadsItsSnapshot_NotLaterCommits()
    {
        var store = new Store();
        Commit(store, Records, "k", "old");
        Transaction reader = store.BeginTransaction();

        Commit(store, Records, "k", "new");

        Assert.Equal("old", reader.GetMap(Records).GetString("k"));
        Assert.Equal("new", store.BeginTransaction().GetMap(Records).GetString("k"));
    }

    [Fact]
    public void Transaction_ReadsItsOwnWrites_AndOthersDoNotSeeThemBeforeCommit()
    {
        var store = new Store();
        Transaction writer = store.BeginTransaction();
        writer.GetMap(Records).PutString("k", "mine");

        Assert.Equal("mine", writer.GetMap(Records).GetString("k"));
        Assert.Null(store.BeginTransaction().GetMap(Records).GetString("k"));
    }

    [Fact]
    public void Commit_Conflicts_WhenAKeyItReadWasWrittenSince()
    {
        var store = new Store();
        Commit(store, Records, "balance", "10");
        Transaction first = store.BeginTransaction();
        Transaction second = store.BeginTransaction();
        first.GetMap(Records).PutString("balance", first.GetMap(Records).GetString("balance") + "+1");
        second.GetMap(Records).PutString("balance", second.GetMap(Records).GetString("balance") + "+2");

        Assert.Equal(CommitStatus.Committed, first.TryCommit().Status);
        CommitResult loser = second.TryCommit();

        Assert.Equal(CommitStatus.Conflict, loser.Status);
        Assert.Equal(Records, loser.ConflictingMap);
        Assert.Equal("balance"u8.ToArray(), loser.ConflictingKey);
        Assert.Null(loser.WriteSet);
        Assert.Equal("10+1", store.BeginTransaction().GetMap(Records).GetString("balance"));
    }

    [Fact]
    public void Commit_Conflicts_WhenAnAbsentKeyItCheckedIsCreatedSince()
    {
        var store = new Store();
        Transaction tx = store.BeginTransaction();
        Assert.False(tx.GetMap(Records).Has("k"));
        tx.GetMap(Records).PutString("k", "created once");

        Commit(store, Records, "k", "someone else");

        Assert.Equal(CommitStatus.Conflict, tx.TryCommit().Status);
    }

    [Fact]
    public void Commit_Conflicts_WhenAnEnumeratedMapIsWrittenSince()
    {
        var store = new Store();
        Commit(store, Records, "a", "1");
        Transaction tx = store.BeginTransaction();
        int count = 0;
        tx.GetMap(Records).ForEach((_, _) => ++count > 0);
        tx.GetMap("public:count").PutString("records", count.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Commit(store, Records, "b", "2");

        CommitResult result = tx.TryCommit();
        Assert.Equal(CommitStatus.Conflict, result.Status);
        Assert.Equal(Records, result.ConflictingMap);
        Assert.Null(result.ConflictingKey);
    }

    [Fact]
    public void BlindWrites_DoNotConflict()
    {
        var store = new Store();
        Transaction tx = store.BeginTransaction();
        tx.GetMap(Records).PutString("k", "blind");

        Commit(store, Records, "k", "other");

        Assert.Equal(CommitStatus.Committed, tx.TryCommit().Status);
        Assert.Equal("blind", store.BeginTransaction().GetMap(Records).GetString("k"));
    }

    [Fact]
    public void ReadOnlyTransaction_GetsNoVersionAndNoWriteSet()
    {
        var store = new Store();
        Commit(store, Records, "k", "v");
        Commit(store, Records, "k", "w");
        Transaction tx = store.BeginTransaction();
        _ = tx.GetMap(Records).GetString("k");

        CommitResult result = tx.TryCommit();

        Assert.Equal(CommitStatus.ReadOnly, result.Status);
        Assert.Equal(2, result.Version);
        Assert.Null(result.WriteSet);
        Assert.Equal(2, store.Version);
    }

    [Fact]
    public void Remove_IsATombstone_OlderSnapshotsStillSeeTheValue()
    {
        var store = new Store();
        Commit(store, Records, "k", "v");
        Transaction before = store.BeginTransaction();

        Transaction remover = store.BeginTransaction();
        remover.GetMap(Records).Remove("k");
        CommitResult removed = remover.TryCommit();

        Assert.Equal(["k"u8.ToArray()], removed.WriteSet!.Find(Records)!.Removes.Select(key => key.ToArray()));
        Assert.Equal("v", before.GetMap(Records).GetString("k"));
        Transaction after = store.BeginTransaction();
        Assert.False(after.GetMap(Records).Has("k"));
        int seen = 0;
        after.GetMap(Records).ForEach((_, _) => ++seen > 0);
        Assert.Equal(0, seen);
    }

    [Fact]
    public void ForEach_VisitsKeysInByteOrder_WithOwnWritesOverlaid()
    {
        var store = new Store();
        Transaction setup = store.BeginTransaction();
        foreach (string key in new[] { "b", "d", "a" })
        {
            setup.GetMap(Records).PutString(key, key.ToUpperInvariant());
        }

        setup.TryCommit();
        Transaction tx = store.BeginTransaction();
        tx.GetMap(Records).PutString("c", "C");
        tx.GetMap(Records).Remove("d");

        var seen = new List<string>();
        tx.GetMap(Records).ForEach((key, value) =>
        {
            seen.Add($"{Encoding.UTF8.GetString(key.Span)}={Encoding.UTF8.GetString(value.Span)}");
            return true;
        });

        Assert.Equal(["a=A", "b=B", "c=C"], seen);
    }

    [Fact]
    public void CommittedTransaction_CannotBeUsedAgain()
    {
        var store = new Store();
        Transaction tx = store.BeginTransaction();
        MapHandle map = tx.GetMap(Records);
        tx.TryCommit();

        Assert.Throws<InvalidOperationException>(() => map.PutString("k", "v"));
        Assert.Throws<InvalidOperationException>(() => tx.TryCommit());
    }

    [Fact]
    public void Apply_ReplaysAWriteSetOnAnotherStore_OnlyAtTheNextVersion()
    {
        var primary = new Store();
        Transaction tx = primary.BeginTransaction();
        tx.GetMap(Records).PutString("k", "v");
        tx.GetMap(PublicRecords).PutString("p", "q");
        CommitResult result = tx.TryCommit();
        var follower = new Store();

        Assert.Throws<ArgumentOutOfRangeException>(() => follower.Apply(result.WriteSet!, 2));
        follower.Apply(result.WriteSet!, result.Version);

        Transaction read = follower.BeginTransaction();
        Assert.Equal("v", read.GetMap(Records).GetString("k"));
        Assert.Equal("q", read.GetMap(PublicRecords).GetString("p"));
        Assert.Equal(1, follower.Version);
    }

    [Fact]
    public void CommitHook_RunsInVersionOrderBeforeTheVersionIsVisible_AndCanAbortTheCommit()
    {
        var store = new Store();
        var seen = new List<long>();
        Transaction tx = store.BeginTransaction();
        tx.GetMap(Records).PutString("k", "v");
        tx.TryCommit((version, _) =>
        {
            seen.Add(version);
            Assert.Equal(0, store.Version);
        });

        Transaction failing = store.BeginTransaction();
        failing.GetMap(Records).PutString("k", "never");
        Assert.Throws<IOException>(() => failing.TryCommit((_, _) => throw new IOException("disk full")));

        Assert.Equal([1L], seen);
        Assert.Equal(1, store.Version);
        Assert.Equal("v", store.BeginTransaction().GetMap(Records).GetString("k"));
    }

    [Fact]
    public void ApplyNext_BuildsTheWriteSetForTheVersionItWillHave()
    {
        var store = new Store();
        Commit(store, Records, "k", "v");

        long version = store.ApplyNext(next => new WriteSetBuilder().Put("public:seqno", "s"u8, Encoding.UTF8.GetBytes(next.ToString(System.Globalization.CultureInfo.InvariantCulture))).Build());

        Assert.Equal(2, version);
        Assert.Equal("2", store.BeginTransaction().GetMap("public:seqno").GetString("s"));
    }

    [Fact]
    public void Rollback_ForgetsLaterVersions_AndReadersOfThemConflict()
    {
        var store = new Store();
        Commit(store, Records, "k", "1");
        Commit(store, Records, "k", "2");
        Commit(store, Records, "other", "x");
        Transaction stale = store.BeginTransaction();
        _ = stale.GetMap(Records).GetString("k");
        stale.GetMap(Records).PutString("k", "3");

        store.Rollback(1);

        Assert.Equal(1, store.Version);
        Transaction read = store.BeginTransaction();
        Assert.Equal("1", read.GetMap(Records).GetString("k"));
        Assert.Null(read.GetMap(Records).GetString("other"));
        Assert.Equal(CommitStatus.Conflict, stale.TryCommit().Status);
        Commit(store, Records, "k", "2 again");
        Assert.Equal(2, store.Version);
    }

    [Fact]
    public void Compact_KeepsCurrentValues_AndOlderReadersMustRetry()
    {
        var store = new Store();
        Commit(store, Records, "k", "1");
        Commit(store, Records, "k", "2");
        Transaction old = store.BeginTransaction();
        _ = old.GetMap(Records).GetString("k");
        old.GetMap(Records).PutString("j", "x");
        Commit(store, Records, "gone", "x");
        Transaction remover = store.BeginTransaction();
        remover.GetMap(Records).Remove("gone");
        remover.TryCommit();

        store.Compact(store.Version);

        Transaction read = store.BeginTransaction();
        Assert.Equal("2", read.GetMap(Records).GetString("k"));
        Assert.False(read.GetMap(Records).Has("gone"));
        Assert.Equal(CommitStatus.Conflict, old.TryCommit().Status);
    }

    [Fact]
    public async Task ConcurrentIncrements_WithRetries_LoseNoUpdate()
    {
        var store = new Store();
        Commit(store, Records, "n", "0");

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 50; i++)
            {
                while (true)
                {
                    Transaction tx = store.BeginTransaction();
                    MapHandle map = tx.GetMap(Records);
                    int n = int.Parse(map.GetString("n")!, System.Globalization.CultureInfo.InvariantCulture);
                    map.PutString("n", (n + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    if (tx.TryCommit().Status == CommitStatus.Committed)
                    {
                        break;
                    }
                }
            }
        })));

        Assert.Equal("200", store.BeginTransaction().GetMap(Records).GetString("n"));
    }

    [Fact]
    public void JsonHelpers_RoundTrip()
    {
        var store = new Store();
        Transaction tx = store.BeginTransaction();
        tx.GetMap(PublicRecords).PutJson("42", new Message("hello", 42));
        tx.TryCommit();

        Message? read = store.BeginTransaction().GetMap(PublicRecords).GetJson<Message>("42");

        Assert.Equal(new Message("hello", 42), read);
    }

    private static void Commit(Store store, string map, string key, string value)
    {
        Transaction tx = store.BeginTransaction();
        tx.GetMap(map).PutString(key, value);
        Assert.Equal(CommitStatus.Committed, tx.TryCommit().Status);
    }

    private sealed record Message(string Msg, int Id);
}
