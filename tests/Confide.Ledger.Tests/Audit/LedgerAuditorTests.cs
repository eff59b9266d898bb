using Confide.Ledger.Audit;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;
using Confide.Ledger.Tests.Support;

namespace Confide.Ledger.Tests.Audit;

/// <summary>
/// <see cref="LedgerAuditor"/> on real ledgers: a good one passes, and a copy with one altered byte,
/// a forged signature, a foreign node or a missing chunk is reported at the right entry.
/// </summary>
public sealed class LedgerAuditorTests
{
    [Fact]
    public void CoseSignatures_AreCheckedAgainstTheServiceIdentity_AndAForgedOneIsNamed()
    {
        using TestLedger ledger = TestLedger.Create();
        ledger.Commit(ledger.Appender.NextSeqno);
        ledger.Commit(ledger.Appender.NextSeqno);
        ledger.SignWithCose();
        ledger.Commit(ledger.Appender.NextSeqno);
        LedgerEntry wrongRoot = ledger.SignWithCose(coseRoot: Sha256Hash.Compute("another root"u8));
        ledger.Commit(ledger.Appender.NextSeqno);
        ledger.SignWithCose();
        ledger.Writer.Flush();

        AuditReport report = LedgerAuditor.Audit(ledger.Directory.Path, ledger.Service.Certificate);
        Assert.False(report.Passed);
        Assert.Equal(AuditProblem.BadCoseSignature, report.Failure!.Problem);
        Assert.Equal(wrongRoot.TxId.Seqno, report.Failure.Seqno);

        // Without the service identity the COSE signatures cannot be checked (their key is not in the ledger).
        Assert.True(LedgerAuditor.Audit(ledger.Directory.Path).Passed);

        using TestLedger good = TestLedger.Create();
        good.Commit(good.Appender.NextSeqno);
        good.SignWithCose();
        good.Commit(good.Appender.NextSeqno);
        good.SignWithCose();
        good.Writer.Flush();
        Assert.True(LedgerAuditor.Audit(good.Directory.Path, good.Service.Certificate).Passed);

        // Signed by another key: refused as well.
        using TestLedger foreign = TestLedger.Create();
        using var other = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP384);
        foreign.Commit(foreign.Appender.NextSeqno);
        foreign.SignWithCose(coseKey: other);
        foreign.Writer.Flush();
        Assert.Equal(AuditProblem.BadCoseSignature, LedgerAuditor.Audit(foreign.Directory.Path, foreign.Service.Certificate).Failure!.Problem);
    }

    [Fact]
    public void GoodLedger_Passes_WithAndWithoutTheSecret()
    {
        using TestLedger ledger = TestLedger.Create().Write(12, signatureInterval: 5);
        ledger.Commit(ledger.Appender.NextSeqno); // one unsigned transaction at the end
        ledger.Writer.Flush();

        AuditReport withSecret = LedgerAuditor.Audit(ledger.Directory.Path, ledger.Service.Certificate, ledger.Secret);
        AuditReport withoutSecret = LedgerAuditor.Audit(ledger.Directory.Path, ledger.Service.Certificate);

        foreach (AuditReport report in new[] { withSecret, withoutSecret })
        {
            Assert.True(report.Passed, report.ToString());
            Assert.Equal(16, report.EntryCount);
            Assert.Equal(1, report.FirstSeqno);
            Assert.Equal(16, report.LastSeqno);
            Assert.Equal(3, report.SignatureCount);
            Assert.Equal(new TxId(TestLedger.View, 15), report.LastSignedTxId);
            Assert.Equal(1, report.UnsignedCount);
        }

        Assert.True(withSecret.PrivateDomainsVerified);
        Assert.False(withoutSecret.PrivateDomainsVerified);
    }

    [Fact]
    public void FlippedPrivateByte_WithoutTheSecret_IsFoundThroughTheNextSignature()
    {
        using TestLedger ledger = TestLedger.Create().Write(12, signatureInterval: 5);
        StoredEntry target = Stored(ledger, 7);
        FlipByte(target, target.Entry.Bytes.Length - 3); // inside the encrypted private domain

        AuditReport report = LedgerAuditor.Audit(ledger.Directory.Path, ledger.Service.Certificate);

        Assert.False(report.Passed);
        Assert.Equal(AuditProblem.LeafMismatch, report.Failure!.Problem);
        Assert.Equal(7, report.Failure.Seqno);
        Assert.Equal(target.File, report.Failure.File);
        Assert.Equal(target.Offset, report.Failure.Offset);
    }

    [Fact]
    public void FlippedByte_WithTheSecret_IsFoundAtThatEntry()
    {
        using TestLedger ledger = TestLedger.Create().Write(12, signatureInterval: 5);
        StoredEntry target = Stored(ledger, 7);
        FlipByte(target, target.Entry.Bytes.Length - 3);

        AuditReport report = LedgerAuditor.Audit(ledger.Directory.Path, ledger.Service.Certificate, ledger.Secret);

        Assert.Equal(AuditProblem.TamperedEntry, report.Failure!.Problem);
        Assert.Equal(7, report.Failure.Seqno);
        Assert.Equal(target.File, report.Failure.File);
        Assert.Equal(LedgerFormatError.AuthenticationFailed, report.Failure.FormatError);
    }

    [Fact]
    public void EveryFlippedByteOfAnEntry_NamesThatEntry()
    {
        using TestLedger ledger = TestLedger.Create().Write(8, signatureInterval: 5);
        StoredEntry target = Stored(ledger, 3); // in the complete chunk ledger_1-5
        byte[] original = File.ReadAllBytes(target.File);

        for (int position = 0; position < target.Entry.Bytes.Length; position++)
        {
            byte[] damaged = (byte[])original.Clone();
            damaged[target.Offset + position] ^= 0x01;
            File.WriteAllBytes(target.File, damaged);

            AuditReport report = LedgerAuditor.Audit(ledger.Directory.Path, ledger.Service.Certificate);

            Assert.False(report.Passed, $"byte {position}");
            Assert.Equal(3, report.Failure!.Seqno);
        }

        File.WriteAllBytes(target.File, original);
        Assert.True(LedgerAuditor.Audit(ledger.Directory.Path, ledger.Service.Certificate).Passed);
    }

    [Fact]
    public void FlippedByte_AfterACommitFlushedTheTree_IsStillNamed()
    {
        using TestLedger ledger = TestLedger.Create().Write(10, signatureInterval: 5);
        ledger.Appender.Commit(ledger.Appender.LastSignatureSeqno); // later signatures record a flushed tree
        ledger.Write(10, signatureInterval: 5);
        long seqno = ledger.Entries.Last(entry => !entry.IsSignature && ledger.Entries.Any(signature => signature.IsSignature && signature.TxId.Seqno > entry.TxId.Seqno)).TxId.Seqno;
        StoredEntry target = Stored(ledger, seqno);
        FlipByte(target, target.Entry.Bytes.Length - 3);

        AuditReport report = LedgerAuditor.Audit(ledger.Directory.Path);

        Assert.Equal(AuditProblem.LeafMismatch, report.Failure!.Problem);
        Assert.Equal(seqno, report.Failure.Seqno);
    }

    [Fact]
    public void TamperedUnsignedTail_PassesWithoutTheSecret_ButNotWithIt()
    {
        using TestLedger ledger = TestLedger.Create().Write(7, signatureInterval: 5, endWithSignature: false);
        ledger.Writer.Dispose();
        StoredEntry target = Stored(ledger, 8);
        FlipByte(target, target.Entry.Bytes.Length - 3);

        AuditReport withoutSecret = LedgerAuditor.Audit(ledger.Directory.Path);
        AuditReport withSecret = LedgerAuditor.Audit(ledger.Directory.Path, secret: ledger.Secret);

        Assert.True(withoutSecret.Passed);
        Assert.Equal(3, withoutSecret.UnsignedCount);
        Assert.Equal(AuditProblem.TamperedEntry, withSecret.Failure!.Problem);
        Assert.Equal(8, withSecret.Failure.Seqno);
    }

    [Fact]
    public void SignatureOverTheWrongRoot_IsARootMismatchAtTheSignature()
    {
        using TestLedger ledger = TestLedger.Create().Write(3, signatureInterval: 100, endWithSignature: false);
        LedgerEntry? signature = null;
        ledger.Store.ApplyNext(
            seqno => SignatureRecord.Create(ledger.Node.Signer, new TxId(TestLedger.View, seqno), Sha256Hash.Compute("not the root"u8)).ToWriteSet(),
            (version, writeSet) => signature = ledger.Appender.Append(new TxId(TestLedger.View, version), writeSet));
        ledger.Writer.Flush();

        AuditReport report = LedgerAuditor.Audit(ledger.Directory.Path, ledger.Service.Certificate);

        Assert.Equal(AuditProblem.RootMismatch, report.Failure!.Problem);
        Assert.Equal(signature!.TxId.Seqno, report.Failure.Seqno);
    }

    [Fact]
    public void ForgedSignature_IsABadSignature()
    {
        using TestLedger ledger = TestLedger.Create().Write(3, signatureInterval: 100, endWithSignature: false);
        var forger = new ForgingSigner(ledger.Node.Signer);
        ledger.Store.ApplyNext(
            seqno => ledger.Appender.CreateSignature(new TxId(TestLedger.View, seqno), forger),
            (version, writeSet) => ledger.Appender.Append(new TxId(TestLedger.View, version), writeSet));
        ledger.Writer.Flush();

        AuditReport report = LedgerAuditor.Audit(ledger.Directory.Path);

        Assert.Equal(AuditProblem.BadSignature, report.Failure!.Problem);
        Assert.Equal(4, report.Failure.Seqno);
    }

    [Fact]
    public void NodeOfAnotherService_IsUntrusted_OnlyWhenTheServiceIdentityIsGiven()
    {
        using var otherService = new TestService("Another CCF Network");
        using TestLedger ledger = TestLedger.Create(service: otherService).Write(6, signatureInterval: 5);
        using var expectedService = new TestService();

        AuditReport untrusted = LedgerAuditor.Audit(ledger.Directory.Path, expectedService.Certificate);

        Assert.Equal(AuditProblem.UntrustedNode, untrusted.Failure!.Problem);
        Assert.Equal(5, untrusted.Failure.Seqno);
        Assert.True(LedgerAuditor.Audit(ledger.Directory.Path).Passed);
    }

    [Fact]
    public void TruncatedChunk_IsAMalformedLedgerWithItsLocation()
    {
        using TestLedger ledger = TestLedger.Create().Write(7, signatureInterval: 5, endWithSignature: false);
        ledger.Writer.Dispose();
        StoredEntry target = Stored(ledger, 7);
        using (FileStream stream = File.Open(target.File, FileMode.Open))
        {
            stream.SetLength(target.Offset + 20);
        }

        AuditReport report = LedgerAuditor.Audit(ledger.Directory.Path);

        Assert.Equal(AuditProblem.MalformedLedger, report.Failure!.Problem);
        Assert.Equal(LedgerFormatError.LengthOutOfRange, report.Failure.FormatError);
        Assert.Equal((target.File, target.Offset, 7L), (report.Failure.File!, report.Failure.Offset!.Value, report.Failure.Seqno!.Value));
        Assert.Equal(6, report.EntryCount);
    }

    [Fact]
    public void LedgerWithoutItsFirstChunk_IsNotFromGenesis()
    {
        using TestLedger ledger = TestLedger.Create().Write(8, signatureInterval: 5);
        File.Delete(Path.Combine(ledger.Directory.Path, "ledger_1-5"));

        AuditReport report = LedgerAuditor.Audit(ledger.Directory.Path);

        Assert.Equal(AuditProblem.NotFromGenesis, report.Failure!.Problem);
        Assert.Equal(6, report.Failure.Seqno);
    }

    [Fact]
    public void EmptyDirectory_PassesWithNothingInIt()
    {
        using var directory = new TempDirectory();

        AuditReport report = LedgerAuditor.Audit(directory.Path);

        Assert.True(report.Passed);
        Assert.Equal(0, report.EntryCount);
        Assert.Null(report.LastSignedTxId);
    }

    private static StoredEntry Stored(TestLedger ledger, long seqno) =>
        new LedgerReader(ledger.Directory.Path).ReadEntries().Single(stored => stored.Entry.TxId.Seqno == seqno);

    private static void FlipByte(StoredEntry entry, int positionInEntry)
    {
        using FileStream stream = new(entry.File, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        stream.Position = entry.Offset + positionInEntry;
        int value = stream.ReadByte();
        stream.Position = entry.Offset + positionInEntry;
        stream.WriteByte((byte)(value ^ 0x01));
    }

    /// <summary>Presents a real node's identity but signs something else than the root it is given.</summary>
    private sealed class ForgingSigner(LedgerSigner real) : LedgerSigner
    {
        public override string NodeId => real.NodeId;

        public override string CertificatePem => real.CertificatePem;

        public override byte[] SignRoot(Sha256Hash root) => real.SignRoot(Sha256Hash.Compute(root.Span));
    }
}
