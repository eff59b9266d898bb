using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;
using Confide.Ledger.Receipts;
using Confide.Ledger.Tests.Support;

namespace Confide.Ledger.Tests.Receipts;

/// <summary>
/// Receipts: real CCF receipts verify (the leaf, the proof fold and the signature are CCF's), our
/// receipts round-trip through CCF's JSON and verify, and every altered field fails with its reason.
/// </summary>
public sealed class ReceiptTests : IClassFixture<ReceiptTests.LedgerFixture>
{
    private readonly LedgerFixture _fixture;

    public ReceiptTests(LedgerFixture fixture) => _fixture = fixture;

    [Fact]
    public void CcfDocumentationReceipt_LeafProofAndSignatureVerify()
    {
        Receipt receipt = Receipt.Parse(KnownVectors.CcfDocumentationReceipt);

        ReceiptVerifier.VerifySignature(receipt);

        Assert.Equal(new TxId(2, 662), receipt.TxId);
        Assert.Equal(7, receipt.Proof.Steps.Count);
    }

    [Fact]
    public void CcfDocumentationReceipt_WithAnyBitOfTheLeafChanged_FailsItsSignature()
    {
        Receipt receipt = Receipt.Parse(KnownVectors.CcfDocumentationReceipt);
        LeafComponents components = receipt.LeafComponents!;

        Receipt changed = WithComponents(receipt, components with { CommitEvidence = components.CommitEvidence.Replace("e4237", "e4236", StringComparison.Ordinal) });

        Assert.Equal(ReceiptVerificationError.InvalidSignature, Assert.Throws<ReceiptVerificationException>(() => ReceiptVerifier.VerifySignature(changed)).Error);
    }

    [Fact]
    public void AzureLedgerReceipt_VerifiesAgainstItsServiceIdentity()
    {
        using X509Certificate2 service = X509Certificate2.CreateFromPem(KnownVectors.AzureServiceCertificate);

        Receipt receipt = ReceiptVerifier.Verify(KnownVectors.AzureReceipt, service);

        Assert.Equal(new TxId(2, 35), receipt.TxId);
        Assert.False(ReceiptVerifier.TryVerify(receipt, _fixture.Ledger.Service.Certificate, out ReceiptVerificationError? error));
        Assert.Equal(ReceiptVerificationError.UntrustedCertificate, error);
    }

    [Fact]
    public void OurReceipts_ForEveryTransaction_VerifyAfterAJsonRoundTrip()
    {
        TestLedger ledger = _fixture.Ledger;
        long lastSignature = ledger.Entries.Last(entry => entry.IsSignature).TxId.Seqno;
        foreach (LedgerEntry entry in ledger.Entries.Where(entry => entry.TxId.Seqno < lastSignature))
        {
            Receipt receipt = BuildReceipt(entry.TxId.Seqno);

            Receipt parsed = Receipt.Parse(receipt.ToJson());

            ReceiptVerifier.Verify(parsed, ledger.Service.Certificate);
            Assert.Equal(receipt.ToJson(), parsed.ToJson());
        }
    }

    [Fact]
    public void Json_HasCcfsShape()
    {
        Receipt receipt = BuildReceipt(3);

        JsonObject json = JsonNode.Parse(receipt.ToJson())!.AsObject();

        Assert.Equal(["cert", "leaf_components", "node_id", "proof", "signature"], json.Select(property => property.Key));
        Assert.Equal(["claims_digest", "commit_evidence", "write_set_digest"], json["leaf_components"]!.AsObject().Select(property => property.Key));
        Assert.StartsWith("ce:2.3:", json["leaf_components"]!["commit_evidence"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.All(json["proof"]!.AsArray(), step => Assert.True(step!.AsObject().Single().Key is "left" or "right"));
        Assert.Equal(_fixture.Ledger.Node.Signer.NodeId, json["node_id"]!.GetValue<string>());
        Assert.Equal(64, json["node_id"]!.GetValue<string>().Length);
    }

    [Fact]
    public void SignatureTransactionReceipt_HasTheRootAsItsLeafAndNoProof()
    {
        LedgerEntry signatureEntry = _fixture.Ledger.Entries.First(entry => entry.IsSignature);
        SignatureRecord signature = SignatureOf(signatureEntry);

        Receipt receipt = Receipt.Parse(ReceiptBuilder.BuildForSignature(signature).ToJson());

        Assert.Null(receipt.LeafComponents);
        Assert.Equal(signature.Root, receipt.Leaf);
        Assert.Empty(receipt.Proof.Steps);
        ReceiptVerifier.Verify(receipt, _fixture.Ledger.Service.Certificate);
        Assert.Contains("\"leaf\"", receipt.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public void HistoricalReceipt_FromTheLedgerFiles_Verifies()
    {
        TestLedger ledger = _fixture.Ledger;
        for (long seqno = 1; seqno < 12; seqno++)
        {
            if (ledger.Entries[(int)seqno - 1].IsSignature)
            {
                continue;
            }

            Receipt receipt = ReceiptBuilder.FromLedger(ledger.Directory.Path, ledger.Secret, seqno);

            ReceiptVerifier.Verify(receipt, ledger.Service.Certificate);
            Assert.Equal(new TxId(TestLedger.View, seqno), receipt.TxId);
        }
    }

    public static TheoryData<string> LeafComponentFields => ["write_set_digest", "commit_evidence", "claims_digest"];

    [Theory]
    [MemberData(nameof(LeafComponentFields))]
    public void TamperedLeafComponent_IsAnInvalidSignature(string field)
    {
        JsonObject json = ReceiptJson(4);
        JsonNode components = json["leaf_components"]!;
        string value = components[field]!.GetValue<string>();
        components[field] = field == "commit_evidence"
            ? value[..^1] + (value[^1] == '0' ? "1" : "0")
            : new string(value[0] == '1' ? '2' : '1', 64);

        Assert.Equal(ReceiptVerificationError.InvalidSignature, VerifyError(json));
    }

    [Fact]
    public void TamperedProofStep_IsAnInvalidSignature()
    {
        JsonObject hashChanged = ReceiptJson(4);
        JsonObject step = hashChanged["proof"]![0]!.AsObject();
        string side = step.Single().Key;
        step[side] = new string(step[side]!.GetValue<string>()[0] == '2' ? '3' : '2', 64);
        Assert.Equal(ReceiptVerificationError.InvalidSignature, VerifyError(hashChanged));

        JsonObject sideChanged = ReceiptJson(4);
        JsonObject first = sideChanged["proof"]![0]!.AsObject();
        string key = first.Single().Key;
        string hash = first[key]!.GetValue<string>();
        sideChanged["proof"]![0] = new JsonObject { [key == "left" ? "right" : "left"] = hash };
        Assert.Equal(ReceiptVerificationError.InvalidSignature, VerifyError(sideChanged));

        JsonObject stepDropped = ReceiptJson(4);
        stepDropped["proof"]!.AsArray().RemoveAt(0);
        Assert.Equal(ReceiptVerificationError.InvalidSignature, VerifyError(stepDropped));
    }

    [Fact]
    public void TamperedSignature_IsAnInvalidSignature()
    {
        JsonObject json = ReceiptJson(4);
        byte[] signature = Convert.FromBase64String(json["signature"]!.GetValue<string>());
        signature[^5] ^= 0x01;
        json["signature"] = Convert.ToBase64String(signature);

        Assert.Equal(ReceiptVerificationError.InvalidSignature, VerifyError(json));

        json["signature"] = Convert.ToBase64String("not DER at all"u8);
        Assert.Equal(ReceiptVerificationError.InvalidSignature, VerifyError(json));
    }

    [Fact]
    public void NodeIdOfAnotherNode_IsANodeIdMismatch()
    {
        JsonObject json = ReceiptJson(4);
        json["node_id"] = new string('a', 64);

        Assert.Equal(ReceiptVerificationError.NodeIdMismatch, VerifyError(json));
    }

    [Fact]
    public void ReceiptFromAnotherService_IsUntrusted()
    {
        using var otherService = new TestService("Another CCF Network");

        Assert.False(ReceiptVerifier.TryVerify(BuildReceipt(4), otherService.Certificate, out ReceiptVerificationError? error));
        Assert.Equal(ReceiptVerificationError.UntrustedCertificate, error);
    }

    [Fact]
    public void NodeOfAnotherService_SigningAValidRoot_IsUntrusted()
    {
        using var otherService = new TestService("Another CCF Network");
        TestNode intruder = otherService.CreateNode();
        Receipt genuine = BuildReceipt(4);
        byte[] forged = intruder.Signer.SignRoot(genuine.ComputeRoot());

        var receipt = new Receipt(intruder.Signer.CertificatePem, intruder.Signer.NodeId, genuine.LeafComponents, null, genuine.Proof, forged);

        ReceiptVerifier.VerifySignature(receipt); // internally consistent...
        Assert.False(ReceiptVerifier.TryVerify(receipt, _fixture.Ledger.Service.Certificate, out ReceiptVerificationError? error));
        Assert.Equal(ReceiptVerificationError.UntrustedCertificate, error); // ...but not this service's node
    }

    [Fact]
    public void ServiceEndorsements_ChainANodeOfThePreviousIdentityToTheCurrentOne()
    {
        using var recovered = new TestService("CCF Network (recovered)");
        X509Certificate2 endorsement = recovered.EndorsePreviousIdentity(_fixture.Ledger.Service);
        Receipt original = BuildReceipt(4);
        var endorsed = new Receipt(original.CertificatePem, original.NodeId, original.LeafComponents, null, original.Proof, original.Signature, [endorsement.ExportCertificatePem()]);

        Receipt parsed = ReceiptVerifier.Verify(endorsed.ToJson(), recovered.Certificate);

        Assert.Single(parsed.ServiceEndorsements);
        Assert.False(ReceiptVerifier.TryVerify(original, recovered.Certificate, out ReceiptVerificationError? error));
        Assert.Equal(ReceiptVerificationError.UntrustedCertificate, error);
    }

    public static TheoryData<string> MalformedReceipts =>
    [
        "",
        "[]",
        "{\"cert\": 1}",
        "{\"cert\": \"x\", \"node_id\": \"y\", \"signature\": \"!!\", \"proof\": []}",
        "{\"cert\": \"x\", \"node_id\": \"y\", \"signature\": \"AA==\", \"proof\": [], \"leaf\": \"zz\"}",
        "{\"cert\": \"x\", \"node_id\": \"y\", \"signature\": \"AA==\", \"proof\": [{\"up\": \"00\"}], \"leaf\": \"" + new string('0', 64) + "\"}",
        "{\"cert\": \"x\", \"node_id\": \"y\", \"signature\": \"AA==\", \"proof\": [], \"leaf\": \"" + new string('0', 64) + "\"}",
    ];

    [Theory]
    [MemberData(nameof(MalformedReceipts))]
    public void MalformedReceipt_IsMalformed(string json)
    {
        ReceiptVerificationException error = Assert.Throws<ReceiptVerificationException>(() => ReceiptVerifier.Verify(json, _fixture.Ledger.Service.Certificate));

        Assert.Equal(ReceiptVerificationError.Malformed, error.Error);
    }

    [Fact]
    public void Build_RefusesASignatureThatDoesNotCoverTheEntry()
    {
        TestLedger ledger = _fixture.Ledger;
        LedgerEntry firstSignature = ledger.Entries.First(entry => entry.IsSignature);
        LedgerEntry later = ledger.Entries.First(entry => entry.TxId.Seqno > firstSignature.TxId.Seqno && !entry.IsSignature);
        LeafComponents components = LedgerEntry.Parse(later.Bytes, ledger.Secret).GetLeafComponents();

        Assert.Throws<ArgumentException>(() => ReceiptBuilder.Build(ledger.Appender.Tree, later.TxId.Seqno, components, SignatureOf(firstSignature)));
    }

    [Fact]
    public void ServiceReceiptVerifier_RemembersEndorsedNodesButStillChecksEveryReceipt()
    {
        using var verifier = new ServiceReceiptVerifier(_fixture.Ledger.Service.Certificate);
        verifier.Verify(BuildReceipt(3));
        verifier.Verify(BuildReceipt(4)); // the node is remembered now

        Receipt good = BuildReceipt(6);
        LeafComponents components = good.LeafComponents!;
        Receipt otherLeaf = WithComponents(good, components with { ClaimsDigest = Sha256Hash.Compute("claim"u8) });
        Assert.Equal(ReceiptVerificationError.InvalidSignature, Assert.Throws<ReceiptVerificationException>(() => verifier.Verify(otherLeaf)).Error);

        byte[] signature = good.Signature.ToArray();
        signature[^1] ^= 1;
        Receipt forged = new(good.CertificatePem, good.NodeId, components, null, good.Proof, signature, good.ServiceEndorsements);
        Assert.Equal(ReceiptVerificationError.InvalidSignature, Assert.Throws<ReceiptVerificationException>(() => verifier.Verify(forged)).Error);

        Receipt wrongNode = new(good.CertificatePem, new string('a', 64), components, null, good.Proof, good.Signature, good.ServiceEndorsements);
        Assert.Equal(ReceiptVerificationError.NodeIdMismatch, Assert.Throws<ReceiptVerificationException>(() => verifier.Verify(wrongNode)).Error);

        // A node of another service is never remembered as endorsed.
        using X509Certificate2 azureService = X509Certificate2.CreateFromPem(KnownVectors.AzureServiceCertificate);
        Assert.Equal(ReceiptVerificationError.UntrustedCertificate, Assert.Throws<ReceiptVerificationException>(() => verifier.Verify(KnownVectors.AzureReceipt)).Error);
        Assert.Equal(ReceiptVerificationError.UntrustedCertificate, Assert.Throws<ReceiptVerificationException>(() => verifier.Verify(KnownVectors.AzureReceipt)).Error);
        using var azure = new ServiceReceiptVerifier(azureService);
        Assert.Equal(new TxId(2, 35), azure.Verify(KnownVectors.AzureReceipt).TxId);
    }

    private Receipt BuildReceipt(long seqno)
    {
        TestLedger ledger = _fixture.Ledger;
        LedgerEntry entry = ledger.Entries[(int)seqno - 1];
        LedgerEntry covering = ledger.Entries.First(candidate => candidate.IsSignature && candidate.TxId.Seqno > seqno);
        return ReceiptBuilder.Build(ledger.Appender.Tree, seqno, entry.GetLeafComponents(), SignatureOf(covering));
    }

    private JsonObject ReceiptJson(long seqno) => JsonNode.Parse(BuildReceipt(seqno).ToJson())!.AsObject();

    private ReceiptVerificationError VerifyError(JsonObject json) =>
        Assert.Throws<ReceiptVerificationException>(() => ReceiptVerifier.Verify(json.ToJsonString(), _fixture.Ledger.Service.Certificate)).Error;

    private static SignatureRecord SignatureOf(LedgerEntry entry) =>
        SignatureRecord.Parse(entry.WriteSet.Find(InternalMaps.Signatures)!.Writes[0].Value.Span);

    private static Receipt WithComponents(Receipt receipt, LeafComponents components) =>
        new(receipt.CertificatePem, receipt.NodeId, components, null, receipt.Proof, receipt.Signature, receipt.ServiceEndorsements);

    /// <summary>One ledger for the class: 20 transactions, a signature every 5 seqnos, ending on one.</summary>
    public sealed class LedgerFixture : IDisposable
    {
        internal TestLedger Ledger { get; } = TestLedger.Create().Write(20, signatureInterval: 5);

        public void Dispose() => Ledger.Dispose();
    }
}
