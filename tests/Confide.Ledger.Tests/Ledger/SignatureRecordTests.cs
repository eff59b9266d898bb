using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;
using Confide.Ledger.Tests.Support;

namespace Confide.Ledger.Tests.Ledger;

/// <summary><see cref="SignatureRecord"/> and <see cref="LedgerSigner"/>: CCF's PrimarySignature JSON, and what a signature transaction writes.</summary>
public sealed class SignatureRecordTests
{
    [Fact]
    public void Record_IsCcfsPrimarySignatureJson_AndVerifies()
    {
        using var service = new TestService();
        TestNode node = service.CreateNode();
        Sha256Hash root = Sha256Hash.Compute("root"u8);

        SignatureRecord record = SignatureRecord.Create(node.Signer, new TxId(2, 40), root);
        JsonObject json = JsonNode.Parse(record.ToJson())!.AsObject();

        Assert.Equal(["node", "seqno", "view", "commit_seqno", "commit_view", "root", "sig", "hashed_nonce", "cert"], json.Select(property => property.Key));
        Assert.Equal(40, json["seqno"]!.GetValue<long>());
        Assert.Equal(2, json["view"]!.GetValue<long>());
        Assert.Equal(0, json["commit_seqno"]!.GetValue<long>());
        Assert.Equal(root.ToString(), json["root"]!.GetValue<string>());
        Assert.Equal(LedgerSigner.ComputeNodeId(node.Certificate), json["node"]!.GetValue<string>());
        using ECDsa key = node.Certificate.GetECDsaPublicKey()!;
        Assert.True(key.VerifyHash(root.Span, Convert.FromBase64String(json["sig"]!.GetValue<string>()), DSASignatureFormat.Rfc3279DerSequence));

        SignatureRecord parsed = SignatureRecord.Parse(record.ToJson());
        Assert.True(parsed.VerifySignature());
        Assert.True(parsed.NodeIdMatchesCertificate());
        Assert.Equal(record.ToJson(), parsed.ToJson());
    }

    [Fact]
    public void SignatureTransaction_WritesTheRecordAndTheTreeUnderTheSingletonKey()
    {
        using var service = new TestService();
        TestNode node = service.CreateNode();
        var tree = new MerkleTree([Sha256Hash.Zero, Sha256Hash.Compute("1"u8), Sha256Hash.Compute("2"u8)]);
        SignatureRecord record = SignatureRecord.Create(node.Signer, new TxId(2, 3), tree.GetRoot(3));

        WriteSet writeSet = record.ToWriteSet(tree.Serialise(3));

        Assert.Equal([InternalMaps.Signatures, InternalMaps.Tree], writeSet.Maps.Select(map => map.Name));
        Assert.All(writeSet.Maps, map => Assert.Equal(new byte[8], map.Writes.Single().Key.ToArray()));
        Assert.Equal(record.Root, MerkleTree.Deserialise(writeSet.Find(InternalMaps.Tree)!.Writes[0].Value.Span).Root);
    }

    [Fact]
    public void TamperedRecord_DoesNotVerify()
    {
        using var service = new TestService();
        TestNode node = service.CreateNode();
        SignatureRecord record = SignatureRecord.Create(node.Signer, new TxId(2, 40), Sha256Hash.Compute("root"u8));

        var otherRoot = new SignatureRecord(record.NodeId, record.TxId, Sha256Hash.Compute("other"u8), record.Signature, record.CertificatePem);
        var otherNode = new SignatureRecord(new string('0', 64), record.TxId, record.Root, record.Signature, record.CertificatePem);

        Assert.False(otherRoot.VerifySignature());
        Assert.False(otherNode.NodeIdMatchesCertificate());
        Assert.False(SignatureRecord.TryParse("{\"node\": 1}"u8, out _, out _));
        Assert.False(SignatureRecord.TryParse("not json"u8, out _, out _));
    }

    [Fact]
    public void Signer_RefusesACertificateForAnotherKey()
    {
        using var service = new TestService();
        TestNode node = service.CreateNode();
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        Assert.Throws<ArgumentException>(() => new EcdsaLedgerSigner(otherKey, node.Certificate));
    }
}
