using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using System.Security.Cryptography.X509Certificates;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Receipts;

/// <summary>
/// A COSE receipt in CCF's profile (draft-ietf-cose-merkle-tree-proofs,
/// draft-birkholz-cose-receipts-ccf-profile): the service's <see cref="CoseLedgerSignature"/> with,
/// in its unprotected header, <c>vdp</c> (396) = <c>{-1: [proof, ...]}</c>, each proof a CBOR
/// <c>{1: [write_set_digest, commit_evidence, claims_digest], 2: [[left?, hash], ...]}</c>. It is
/// verified with the service certificate alone: the root recomputed from a proof is the detached
/// payload the service signed.
/// </summary>
public sealed class CoseReceipt
{
    /// <summary>Larger inputs are refused before parsing.</summary>
    public const int MaxBytes = 64 * 1024;

    private const int MaxProofs = 16;
    private const int MaxPathLength = 64;

    private readonly CoseSign1Message _message;

    private CoseReceipt(CoseSign1Message message, TxId signatureTxId, string? issuer, string? subject, DateTimeOffset? issuedAt, byte[] keyId, IReadOnlyList<(LeafComponents Leaf, MerkleProof Path)> proofs)
    {
        _message = message;
        SignatureTxId = signatureTxId;
        Issuer = issuer;
        Subject = subject;
        IssuedAt = issuedAt;
        KeyId = keyId;
        Proofs = proofs;
    }

    /// <summary>The signature transaction whose root the service signed (<c>ccf.v1.txid</c>).</summary>
    public TxId SignatureTxId { get; }

    /// <summary>CWT <c>iss</c>, <c>sub</c> and <c>iat</c>, when present.</summary>
    public string? Issuer { get; }

    public string? Subject { get; }

    public DateTimeOffset? IssuedAt { get; }

    /// <summary>The <c>kid</c>: hex SHA-256 of the signing key's SubjectPublicKeyInfo, as bytes.</summary>
    public byte[] KeyId { get; }

    /// <summary>The inclusion proofs (CCF gives one): the leaf's components and the path to the root.</summary>
    public IReadOnlyList<(LeafComponents Leaf, MerkleProof Path)> Proofs { get; }

    /// <summary>The transaction the (first) proof is for, read from its commit evidence.</summary>
    public TxId? TxId => CommitEvidence.TryParse(Proofs[0].Leaf.CommitEvidence, out CommitEvidence? evidence) ? evidence.TxId : null;

    /// <summary>The root the (first) proof leads to: what the signature must be over.</summary>
    public Sha256Hash ComputeRoot() => Proofs[0].Path.ComputeRoot(Proofs[0].Leaf.ComputeLeaf());

    /// <summary>Makes a receipt: <paramref name="coseSignature"/> with the proof of <paramref name="leaf"/> added.</summary>
    /// <exception cref="ReceiptVerificationException">The signature is not a detached COSE_Sign1.</exception>
    public static byte[] Create(ReadOnlySpan<byte> coseSignature, LeafComponents leaf, MerkleProof path)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        ArgumentNullException.ThrowIfNull(path);
        CoseSign1Message message = Decode(coseSignature);
        var proofs = new CborWriter();
        proofs.WriteStartMap(1);
        proofs.WriteInt32(CoseLedgerSignature.InclusionProofsKey);
        proofs.WriteStartArray(1);
        proofs.WriteByteString(EncodeProof(leaf, path));
        proofs.WriteEndArray();
        proofs.WriteEndMap();
        var label = new CoseHeaderLabel(CoseLedgerSignature.VdpLabel);
        message.UnprotectedHeaders.Remove(label);
        message.UnprotectedHeaders.Add(label, CoseHeaderValue.FromEncodedValue(proofs.Encode()));
        return message.Encode();
    }

    /// <summary>Parses a receipt: its shape only, nothing verified.</summary>
    /// <exception cref="ReceiptVerificationException">Malformed, with the reason.</exception>
    public static CoseReceipt Parse(ReadOnlySpan<byte> receipt)
    {
        if (receipt.Length > MaxBytes)
        {
            throw Malformed($"The receipt is {receipt.Length} bytes; at most {MaxBytes} are accepted.");
        }

        CoseSign1Message message = Decode(receipt);
        CoseHeaderMap protectedHeaders = message.ProtectedHeaders;
        if (!protectedHeaders.TryGetValue(new CoseHeaderLabel(CoseLedgerSignature.VdsLabel), out CoseHeaderValue vds) || ReadInt(vds, "vds") != CoseLedgerSignature.CcfLedgerSha256)
        {
            throw Malformed($"The protected header has no vds ({CoseLedgerSignature.VdsLabel}) = {CoseLedgerSignature.CcfLedgerSha256} (CCF_LEDGER_SHA256).");
        }

        byte[] keyId = protectedHeaders.TryGetValue(CoseHeaderLabel.KeyIdentifier, out CoseHeaderValue kid) ? Read(() => kid.GetValueAsBytes(), "kid") : throw Malformed("The protected header has no kid.");
        TxId signatureTxId = protectedHeaders.TryGetValue(new CoseHeaderLabel(CoseLedgerSignature.CcfHeader), out CoseHeaderValue ccf)
            ? ReadTxId(ccf)
            : throw Malformed($"The protected header has no \"{CoseLedgerSignature.CcfHeader}\" with the signature's txid.");
        (string? issuer, string? subject, DateTimeOffset? issuedAt) = protectedHeaders.TryGetValue(new CoseHeaderLabel(CoseLedgerSignature.CwtClaimsLabel), out CoseHeaderValue cwt)
            ? ReadCwt(cwt)
            : (null, null, null);

        if (!message.UnprotectedHeaders.TryGetValue(new CoseHeaderLabel(CoseLedgerSignature.VdpLabel), out CoseHeaderValue vdp))
        {
            throw Malformed($"The unprotected header has no vdp ({CoseLedgerSignature.VdpLabel}): this is a signature, not a receipt.");
        }

        return new CoseReceipt(message, signatureTxId, issuer, subject, issuedAt, keyId, ReadProofs(vdp.EncodedValue));
    }

    /// <summary>
    /// Verifies <paramref name="receipt"/> against the service identity: every proof leads to the
    /// same root, and the service key signed it. Returns the parsed receipt.
    /// </summary>
    /// <exception cref="ReceiptVerificationException">Malformed, signed by another key, or not over the recomputed root.</exception>
    public static CoseReceipt Verify(ReadOnlySpan<byte> receipt, X509Certificate2 serviceCertificate)
    {
        ArgumentNullException.ThrowIfNull(serviceCertificate);
        CoseReceipt parsed = Parse(receipt);
        using ECDsa key = serviceCertificate.GetECDsaPublicKey() ?? throw new ReceiptVerificationException(ReceiptVerificationError.UntrustedCertificate, "The service certificate holds no EC key.");
        if (!CryptographicOperations.FixedTimeEquals(parsed.KeyId, CoseLedgerSignature.KeyId(key.ExportSubjectPublicKeyInfo())))
        {
            throw new ReceiptVerificationException(ReceiptVerificationError.UntrustedCertificate, "The receipt's kid is not this service's key: it was signed by another service identity.");
        }

        Sha256Hash root = parsed.ComputeRoot();
        if (parsed.Proofs.Skip(1).Any(p => p.Path.ComputeRoot(p.Leaf.ComputeLeaf()) != root))
        {
            throw new ReceiptVerificationException(ReceiptVerificationError.InvalidSignature, "The receipt's proofs lead to different roots.");
        }

        bool verified;
        try
        {
            verified = parsed._message.VerifyDetached(key, root.ToArray());
        }
        catch (CryptographicException ex)
        {
            throw new ReceiptVerificationException(ReceiptVerificationError.InvalidSignature, $"The signature cannot be checked with the service key: {ex.Message}", ex);
        }

        return verified
            ? parsed
            : throw new ReceiptVerificationException(ReceiptVerificationError.InvalidSignature, $"The service's signature does not verify over root {root} recomputed from the leaf and the proof.");
    }

    private static byte[] EncodeProof(LeafComponents leaf, MerkleProof path)
    {
        var writer = new CborWriter();
        writer.WriteStartMap(2);
        writer.WriteInt32(1);
        writer.WriteStartArray(3);
        writer.WriteByteString(leaf.WriteSetDigest.Span);
        writer.WriteTextString(leaf.CommitEvidence);
        writer.WriteByteString(leaf.ClaimsDigest.Span);
        writer.WriteEndArray();
        writer.WriteInt32(2);
        writer.WriteStartArray(path.Steps.Count);
        foreach (ProofStep step in path.Steps)
        {
            writer.WriteStartArray(2);
            writer.WriteBoolean(step.Side == ProofSide.Left);
            writer.WriteByteString(step.Hash.Span);
            writer.WriteEndArray();
        }

        writer.WriteEndArray();
        writer.WriteEndMap();
        return writer.Encode();
    }

    private static List<(LeafComponents, MerkleProof)> ReadProofs(ReadOnlyMemory<byte> vdp)
    {
        return Read(() =>
        {
            var reader = new CborReader(vdp);
            int? entries = reader.ReadStartMap();
            List<(LeafComponents, MerkleProof)>? proofs = null;
            for (int i = 0; entries is null ? reader.PeekState() != CborReaderState.EndMap : i < entries; i++)
            {
                if (reader.ReadInt32() != CoseLedgerSignature.InclusionProofsKey || proofs is not null)
                {
                    throw Malformed("vdp holds something other than one inclusion-proofs entry (-1).");
                }

                int? count = reader.ReadStartArray();
                proofs = [];
                while (reader.PeekState() != CborReaderState.EndArray)
                {
                    if (proofs.Count == MaxProofs)
                    {
                        throw Malformed($"More than {MaxProofs} inclusion proofs.");
                    }

                    proofs.Add(ReadProof(reader.ReadByteString()));
                }

                reader.ReadEndArray();
                _ = count;
            }

            reader.ReadEndMap();
            if (reader.BytesRemaining != 0 || proofs is null || proofs.Count == 0)
            {
                throw Malformed("vdp holds no inclusion proof.");
            }

            return proofs;
        }, "vdp");
    }

    private static (LeafComponents, MerkleProof) ReadProof(byte[] encoded)
    {
        var reader = new CborReader(encoded);
        if (reader.ReadStartMap() != 2 || reader.ReadInt32() != 1)
        {
            throw Malformed("An inclusion proof is not {1: leaf, 2: path}.");
        }

        if (reader.ReadStartArray() != 3)
        {
            throw Malformed("A proof's leaf is not [write_set_digest, commit_evidence, claims_digest].");
        }

        Sha256Hash writeSet = Digest(reader.ReadByteString(), "write_set_digest");
        string commitEvidence = reader.ReadTextString();
        Sha256Hash claims = Digest(reader.ReadByteString(), "claims_digest");
        reader.ReadEndArray();
        if (reader.ReadInt32() != 2)
        {
            throw Malformed("An inclusion proof is not {1: leaf, 2: path}.");
        }

        int? length = reader.ReadStartArray();
        if (length is null or > MaxPathLength)
        {
            throw Malformed($"A proof's path must be a definite array of at most {MaxPathLength} steps.");
        }

        var steps = new List<ProofStep>(length.Value);
        for (int i = 0; i < length; i++)
        {
            if (reader.ReadStartArray() != 2)
            {
                throw Malformed("A path step is not [left?, hash].");
            }

            bool left = reader.ReadBoolean();
            steps.Add(new ProofStep(left ? ProofSide.Left : ProofSide.Right, Digest(reader.ReadByteString(), "path hash")));
            reader.ReadEndArray();
        }

        reader.ReadEndArray();
        reader.ReadEndMap();
        if (reader.BytesRemaining != 0)
        {
            throw Malformed("Bytes follow an inclusion proof.");
        }

        return (new LeafComponents(writeSet, commitEvidence, claims), new MerkleProof(steps));
    }

    private static Sha256Hash Digest(byte[] bytes, string what) =>
        bytes.Length == 32 ? Sha256Hash.FromBytes(bytes) : throw Malformed($"A {what} is {bytes.Length} bytes, not 32.");

    private static TxId ReadTxId(CoseHeaderValue value) => Read(() =>
    {
        var reader = new CborReader(value.EncodedValue);
        int? entries = reader.ReadStartMap();
        string? txid = null;
        for (int i = 0; entries is null ? reader.PeekState() != CborReaderState.EndMap : i < entries; i++)
        {
            string key = reader.ReadTextString();
            if (key == "txid")
            {
                txid = reader.ReadTextString();
            }
            else
            {
                reader.SkipValue();
            }
        }

        return Ledger.TxId.TryParse(txid, out TxId id) ? id : throw Malformed($"\"{CoseLedgerSignature.CcfHeader}\".txid is not view.seqno.");
    }, CoseLedgerSignature.CcfHeader);

    private static (string?, string?, DateTimeOffset?) ReadCwt(CoseHeaderValue value) => Read(() =>
    {
        var reader = new CborReader(value.EncodedValue);
        int? entries = reader.ReadStartMap();
        string? issuer = null, subject = null;
        DateTimeOffset? issuedAt = null;
        for (int i = 0; entries is null ? reader.PeekState() != CborReaderState.EndMap : i < entries; i++)
        {
            switch (reader.PeekState() == CborReaderState.UnsignedInteger || reader.PeekState() == CborReaderState.NegativeInteger ? reader.ReadInt64() : long.MinValue)
            {
                case 1:
                    issuer = reader.ReadTextString();
                    break;
                case 2:
                    subject = reader.ReadTextString();
                    break;
                case 6:
                    issuedAt = DateTimeOffset.FromUnixTimeSeconds(reader.ReadInt64());
                    break;
                case long.MinValue:
                    reader.SkipValue(); // a text key
                    reader.SkipValue();
                    break;
                default:
                    reader.SkipValue();
                    break;
            }
        }

        return (issuer, subject, issuedAt);
    }, "CWT claims");

    private static int ReadInt(CoseHeaderValue value, string what) => Read(() => value.GetValueAsInt32(), what);

    private static CoseSign1Message Decode(ReadOnlySpan<byte> bytes)
    {
        CoseSign1Message message;
        try
        {
            message = CoseMessage.DecodeSign1(bytes);
        }
        catch (CryptographicException ex)
        {
            throw new ReceiptVerificationException(ReceiptVerificationError.Malformed, $"Not a COSE_Sign1 message: {ex.Message}", ex);
        }

        return message.Content is null
            ? message
            : throw Malformed("The payload is attached; CCF's signatures and receipts detach the root they sign.");
    }

    private static T Read<T>(Func<T> read, string what)
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (ex is CborContentException or InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            throw new ReceiptVerificationException(ReceiptVerificationError.Malformed, $"The receipt's {what} does not parse: {ex.Message}", ex);
        }
    }

    private static ReceiptVerificationException Malformed(string message) => new(ReceiptVerificationError.Malformed, message);
}
