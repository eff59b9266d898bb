using System.Security.Cryptography;
using System.Globalization;
using System.Text;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Tests.Support;

/// <summary>
/// A real ledger on disk, written the way a primary writes it: a store whose commits go through a
/// <see cref="LedgerAppender"/>, one application transaction per seqno (a private and a public
/// record), a signature transaction every <c>signatureInterval</c> seqnos.
/// </summary>
internal sealed class TestLedger : IDisposable
{
    public const long View = 2;

    private TestLedger(TempDirectory directory, LedgerSecret secret, TestService service, TestNode node, Store store, LedgerWriter writer, LedgerAppender appender)
    {
        Directory = directory;
        Secret = secret;
        Service = service;
        Node = node;
        Store = store;
        Writer = writer;
        Appender = appender;
    }

    public TempDirectory Directory { get; }

    public LedgerSecret Secret { get; }

    public TestService Service { get; }

    public TestNode Node { get; }

    public Store Store { get; }

    public LedgerWriter Writer { get; }

    public LedgerAppender Appender { get; }

    public List<LedgerEntry> Entries { get; } = [];

    public static TestLedger Create(long chunkSize = 1, TestService? service = null)
    {
        var directory = new TempDirectory();
        service ??= new TestService();
        TestNode node = service.CreateNode();
        var secret = LedgerSecret.Generate();
        var writer = LedgerWriter.Open(directory.Path, new LedgerWriterOptions { ChunkSize = chunkSize });
        return new TestLedger(directory, secret, service, node, new Store(), writer, new LedgerAppender(writer, secret));
    }

    /// <summary>Writes application transactions, with a signature after every <paramref name="signatureInterval"/> − 1 of them.</summary>
    public TestLedger Write(int transactions, int signatureInterval = 5, bool endWithSignature = true)
    {
        for (int i = 0; i < transactions; i++)
        {
            if (Appender.NextSeqno % signatureInterval == 0)
            {
                Sign();
            }

            Commit(Appender.NextSeqno);
        }

        if (endWithSignature && !Entries[^1].IsSignature)
        {
            Sign();
        }

        Writer.Flush();
        return this;
    }

    public LedgerEntry Commit(long seqno, Sha256Hash claims = default)
    {
        string id = seqno.ToString(CultureInfo.InvariantCulture);
        Transaction tx = Store.BeginTransaction();
        tx.GetMap("records").PutString(id, PrivateMessage(seqno));
        tx.GetMap("public:records").PutString(id, $"public message {id}");
        LedgerEntry? entry = null;
        CommitResult result = tx.TryCommit((version, writeSet) => entry = Appender.Append(new TxId(View, version), writeSet, claims));
        Assert.Equal(CommitStatus.Committed, result.Status);
        Entries.Add(entry!);
        return entry!;
    }

    public LedgerEntry Sign()
    {
        LedgerEntry? entry = null;
        Store.ApplyNext(
            seqno => Appender.CreateSignature(new TxId(View, seqno), Node.Signer),
            (version, writeSet) => entry = Appender.Append(new TxId(View, version), writeSet));
        Entries.Add(entry!);
        return entry!;
    }

    /// <summary>A signature transaction that also carries a COSE ledger signature by <paramref name="coseKey"/> (the service's by default) over <paramref name="coseRoot"/> (the signed root by default).</summary>
    public LedgerEntry SignWithCose(ECDsa? coseKey = null, Sha256Hash? coseRoot = null)
    {
        LedgerEntry? entry = null;
        Store.ApplyNext(
            seqno =>
            {
                var id = new TxId(View, seqno);
                WriteSet signature = Appender.CreateSignature(id, Node.Signer);
                byte[] cose = Confide.Ledger.Receipts.CoseLedgerSignature.Create(coseKey ?? Service.Key, id, coseRoot ?? Appender.Tree.GetRoot(seqno), DateTimeOffset.UtcNow, "confide.test");
                return new WriteSetBuilder().Add(signature).Put(InternalMaps.CoseSignatures, InternalMaps.SingletonKey, cose).Build();
            },
            (version, writeSet) => entry = Appender.Append(new TxId(View, version), writeSet));
        Entries.Add(entry!);
        return entry!;
    }

    public static string PrivateMessage(long seqno) => $"secret-{seqno:D6}-payload";

    public static byte[] PrivateMarker(long seqno) => Encoding.UTF8.GetBytes(PrivateMessage(seqno));

    public void Dispose()
    {
        Writer.Dispose();
        Secret.Dispose();
        Service.Dispose();
        Directory.Dispose();
    }
}
