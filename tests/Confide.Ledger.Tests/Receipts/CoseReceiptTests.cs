using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;
using Confide.Ledger.Receipts;

namespace Confide.Ledger.Tests.Receipts;

/// <summary>
/// COSE receipts in CCF's profile: a real CCF receipt parses to what CCF's own decoder reads, and
/// ours are verified with the service certificate alone; every alteration is refused with its reason.
/// </summary>
public sealed class CoseReceiptTests : IDisposable
{
    private readonly ECDsa _serviceKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private readonly X509Certificate2 _service;

    public CoseReceiptTests()
    {
        _service = new CertificateRequest("CN=CCF Service", _serviceKey, HashAlgorithmName.SHA384).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
    }

    [Fact]
    public void A_real_CCF_receipt_parses_to_what_CCFs_decoder_reads_and_its_proof_leads_to_the_published_root()
    {
        CoseReceipt receipt = CoseReceipt.Parse(Convert.FromHexString(KnownVectors.CcfCoseReceiptHex));

        Assert.Equal("4d920e51dc9066736e43378ca1428ceae0d54352f40e51b20edc8c6b7c561d05", System.Text.Encoding.ASCII.GetString(receipt.KeyId));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1764259187), receipt.IssuedAt);
        Assert.Equal("service.example.com", receipt.Issuer);
        Assert.Equal("ledger.signature", receipt.Subject);
        Assert.Equal(TxId.Parse("2.17"), receipt.SignatureTxId);
        Assert.Equal(TxId.Parse("2.16"), receipt.TxId);
        Assert.Equal(KnownVectors.CcfCoseReceiptRoot, receipt.ComputeRoot().ToString());

        // Verified against a key that is not the service's, it is refused on the kid before any math.
        var error = Assert.Throws<ReceiptVerificationException>(() => CoseReceipt.Verify(Convert.FromHexString(KnownVectors.CcfCoseReceiptHex), _service));
        Assert.Equal(ReceiptVerificationError.UntrustedCertificate, error.Error);
    }

    [Fact]
    public void Our_receipt_verifies_with_the_service_certificate_and_carries_the_transaction()
    {
        (byte[] receipt, LeafComponents leaf) = MakeReceipt(out Sha256Hash root);

        CoseReceipt verified = CoseReceipt.Verify(receipt, _service);

        Assert.Equal(root, verified.ComputeRoot());
        Assert.Equal(TxId.Parse("3.6"), verified.SignatureTxId);
        Assert.Equal(TxId.Parse("3.4"), verified.TxId);
        Assert.Equal(leaf, verified.Proofs.Single().Leaf);
        Assert.Equal("ledger.signature", verified.Subject);
        Assert.Equal("confide.test", verified.Issuer);
    }

    [Fact]
    public void Every_alteration_is_refused_with_its_reason()
    {
        (byte[] receipt, LeafComponents leaf) = MakeReceipt(out _);
        MerkleProof path = CoseReceipt.Parse(receipt).Proofs[0].Path;
        byte[] signature = StripProof(receipt);

        // Another leaf (its commit evidence, its write set), or another path: the root changes.
        Assert.Equal(ReceiptVerificationError.InvalidSignature, Refused(CoseReceipt.Create(signature, leaf with { CommitEvidence = leaf.CommitEvidence.Replace("3.4", "3.5", StringComparison.Ordinal) }, path)));
        Assert.Equal(ReceiptVerificationError.InvalidSignature, Refused(CoseReceipt.Create(signature, leaf with { WriteSetDigest = Sha256Hash.Compute("other"u8) }, path)));
        Assert.Equal(ReceiptVerificationError.InvalidSignature, Refused(CoseReceipt.Create(signature, leaf, new MerkleProof(path.Steps.Reverse()))));

        // The signature's last byte, and a receipt signed by another service.
        byte[] flipped = (byte[])receipt.Clone();
        flipped[^1] ^= 1;
        Assert.Equal(ReceiptVerificationError.InvalidSignature, Refused(flipped));
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        byte[] foreign = CoseReceipt.Create(CoseLedgerSignature.Create(other, TxId.Parse("3.6"), CoseReceipt.Parse(receipt).ComputeRoot(), DateTimeOffset.UtcNow, "confide.test"), leaf, path);
        Assert.Equal(ReceiptVerificationError.UntrustedCertificate, Refused(foreign));

        // Not a receipt: a bare signature, truncations, garbage, an attached payload, oversize.
        Assert.Equal(ReceiptVerificationError.Malformed, Refused(signature));
        for (int length = 0; length < receipt.Length; length += 7)
        {
            Assert.Equal(ReceiptVerificationError.Malformed, Refused(receipt[..length]));
        }

        Assert.Equal(ReceiptVerificationError.Malformed, Refused([0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40]));
        Assert.Equal(ReceiptVerificationError.Malformed, Refused(new byte[CoseReceipt.MaxBytes + 1]));
        var attached = new System.Security.Cryptography.Cose.CoseSigner(_serviceKey, HashAlgorithmName.SHA384);
        Assert.Equal(ReceiptVerificationError.Malformed, Refused(System.Security.Cryptography.Cose.CoseSign1Message.SignEmbedded([1, 2, 3], attached)));

        // A proof whose hash is not 32 bytes, or whose shape is not CCF's.
        Assert.Equal(ReceiptVerificationError.Malformed, Refused(WithProof(signature, writer =>
        {
            writer.WriteStartMap(2);
            writer.WriteInt32(1);
            writer.WriteStartArray(3);
            writer.WriteByteString(new byte[31]);
            writer.WriteTextString(leaf.CommitEvidence);
            writer.WriteByteString(new byte[32]);
            writer.WriteEndArray();
            writer.WriteInt32(2);
            writer.WriteStartArray(0);
            writer.WriteEndArray();
            writer.WriteEndMap();
        })));
        Assert.Equal(ReceiptVerificationError.Malformed, Refused(WithProof(signature, writer => writer.WriteTextString("not a proof"))));
    }

    [Fact]
    public void A_ledger_signature_verifies_only_for_its_transaction_root_and_key()
    {
        Sha256Hash root = Sha256Hash.Compute("root"u8);
        byte[] cose = CoseLedgerSignature.Create(_serviceKey, TxId.Parse("2.9"), root, DateTimeOffset.UtcNow, "confide.test");
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        Assert.True(CoseLedgerSignature.Verify(cose, TxId.Parse("2.9"), root, _serviceKey));
        Assert.False(CoseLedgerSignature.Verify(cose, TxId.Parse("2.10"), root, _serviceKey)); // copied to another transaction
        Assert.False(CoseLedgerSignature.Verify(cose, TxId.Parse("2.9"), Sha256Hash.Compute("other"u8), _serviceKey));
        Assert.False(CoseLedgerSignature.Verify(cose, TxId.Parse("2.9"), root, other));
        Assert.False(CoseLedgerSignature.Verify(cose.AsSpan(0, cose.Length - 3), TxId.Parse("2.9"), root, _serviceKey));
        Assert.False(CoseLedgerSignature.Verify([1, 2, 3], TxId.Parse("2.9"), root, _serviceKey));
        Assert.Equal(CoseLedgerSignature.KeyId(_serviceKey.ExportSubjectPublicKeyInfo()), CoseLedgerSignature.ReadKeyId(cose));
    }

    public void Dispose()
    {
        _serviceKey.Dispose();
        _service.Dispose();
    }

    private ReceiptVerificationError Refused(byte[] receipt) =>
        Assert.Throws<ReceiptVerificationException>(() => CoseReceipt.Verify(receipt, _service)).Error;

    /// <summary>A receipt for seqno 4 of a six-leaf tree, under the signature at 3.6.</summary>
    private (byte[] Receipt, LeafComponents Leaf) MakeReceipt(out Sha256Hash root)
    {
        LedgerSecret secret = LedgerSecret.Generate();
        var tree = new MerkleTree();
        LeafComponents? target = null;
        for (int seqno = 0; seqno < 6; seqno++)
        {
            var leaf = new LeafComponents(Sha256Hash.Compute([(byte)seqno]), CommitEvidence.Create(secret, new TxId(3, seqno)).Value, Sha256Hash.Zero);
            tree.Append(leaf.ComputeLeaf());
            if (seqno == 4)
            {
                target = leaf;
            }
        }

        root = tree.GetRoot(6);
        byte[] signature = CoseLedgerSignature.Create(_serviceKey, TxId.Parse("3.6"), root, DateTimeOffset.UtcNow, "confide.test");
        return (CoseReceipt.Create(signature, target!, tree.GetProof(4, 6)), target!);
    }

    /// <summary>The signature the receipt was made from (the receipt minus its unprotected proofs).</summary>
    private static byte[] StripProof(byte[] receipt)
    {
        var message = System.Security.Cryptography.Cose.CoseMessage.DecodeSign1(receipt);
        message.UnprotectedHeaders.Remove(new System.Security.Cryptography.Cose.CoseHeaderLabel(CoseLedgerSignature.VdpLabel));
        return message.Encode();
    }

    private static byte[] WithProof(byte[] signature, Action<CborWriter> writeProof)
    {
        var proof = new CborWriter();
        writeProof(proof);
        var vdp = new CborWriter();
        vdp.WriteStartMap(1);
        vdp.WriteInt32(CoseLedgerSignature.InclusionProofsKey);
        vdp.WriteStartArray(1);
        vdp.WriteByteString(proof.Encode());
        vdp.WriteEndArray();
        vdp.WriteEndMap();
        var message = System.Security.Cryptography.Cose.CoseMessage.DecodeSign1(signature);
        message.UnprotectedHeaders.Add(new System.Security.Cryptography.Cose.CoseHeaderLabel(CoseLedgerSignature.VdpLabel), System.Security.Cryptography.Cose.CoseHeaderValue.FromEncodedValue(vdp.Encode()));
        return message.Encode();
    }
}
