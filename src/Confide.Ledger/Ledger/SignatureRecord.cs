using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Confide.Ledger.Kv;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Ledger;

/// <summary>
/// The row a signature transaction writes to <see cref="InternalMaps.Signatures"/>: CCF's
/// <c>PrimarySignature</c>, a node's ECDSA signature over the Merkle root of every entry before it.
/// </summary>
/// <remarks>
/// JSON, as CCF: <c>{"node": id, "seqno": s, "view": v, "commit_seqno": 0, "commit_view": 0,
/// "root": hex, "sig": base64 DER, "hashed_nonce": hex, "cert": PEM}</c>. The root signed at seqno s
/// is the root of leaves [0, s), leaf 0 being all-zero and leaf i the entry at seqno i ("the root as
/// of seqno − 1"). <c>hashed_nonce</c> is kept for the shape and is all-zero.
/// </remarks>
public sealed class SignatureRecord
{
    /// <summary>A record with the given fields.</summary>
    public SignatureRecord(string nodeId, TxId txId, Sha256Hash root, byte[] signature, string certificatePem)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentNullException.ThrowIfNull(certificatePem);
        NodeId = nodeId;
        TxId = txId;
        Root = root;
        Signature = signature;
        CertificatePem = certificatePem;
    }

    /// <summary>The signing node's ID.</summary>
    public string NodeId { get; }

    /// <summary>The signature transaction's own ID.</summary>
    public TxId TxId { get; }

    /// <summary>The Merkle root over leaves [0, <see cref="TxId"/>.Seqno).</summary>
    public Sha256Hash Root { get; }

    /// <summary>DER ECDSA signature over <see cref="Root"/> (SHA-256 pre-hash).</summary>
    public byte[] Signature { get; }

    /// <summary>The signing node's certificate, PEM.</summary>
    public string CertificatePem { get; }

    /// <summary>Signs <paramref name="root"/> as the signature transaction <paramref name="txId"/>.</summary>
    public static SignatureRecord Create(LedgerSigner signer, TxId txId, Sha256Hash root)
    {
        ArgumentNullException.ThrowIfNull(signer);
        return new SignatureRecord(signer.NodeId, txId, root, signer.SignRoot(root), signer.CertificatePem);
    }

    /// <summary>
    /// The write set of a signature transaction: this record, and the serialised Merkle tree as of the
    /// signed root (<paramref name="serialisedTree"/>, may be omitted).
    /// </summary>
    public WriteSet ToWriteSet(ReadOnlySpan<byte> serialisedTree = default)
    {
        var builder = new WriteSetBuilder().Put(InternalMaps.Signatures, InternalMaps.SingletonKey, ToJson());
        if (!serialisedTree.IsEmpty)
        {
            builder.Put(InternalMaps.Tree, InternalMaps.SingletonKey, serialisedTree);
        }

        return builder.Build();
    }

    /// <summary>True when <see cref="Signature"/> verifies over <see cref="Root"/> with the certificate's key.</summary>
    public bool VerifySignature()
    {
        if (!TryLoadCertificate(out X509Certificate2? certificate))
        {
            return false;
        }

        using (certificate)
        using (ECDsa? key = certificate.GetECDsaPublicKey())
        {
            return key is not null && key.VerifyHash(Root.Span, Signature, DSASignatureFormat.Rfc3279DerSequence);
        }
    }

    /// <summary>True when <see cref="NodeId"/> is the hash of the certificate's public key.</summary>
    public bool NodeIdMatchesCertificate()
    {
        if (!TryLoadCertificate(out X509Certificate2? certificate))
        {
            return false;
        }

        using (certificate)
        {
            return string.Equals(LedgerSigner.ComputeNodeId(certificate), NodeId, StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>The record as CCF's JSON, UTF-8.</summary>
    public byte[] ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("node", NodeId);
            json.WriteNumber("seqno", TxId.Seqno);
            json.WriteNumber("view", TxId.View);
            json.WriteNumber("commit_seqno", 0);
            json.WriteNumber("commit_view", 0);
            json.WriteString("root", Root.ToString());
            json.WriteBase64String("sig", Signature);
            json.WriteString("hashed_nonce", Sha256Hash.Zero.ToString());
            json.WriteString("cert", CertificatePem);
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    /// <summary>Parses CCF's JSON.</summary>
    /// <exception cref="FormatException">Not a signature record.</exception>
    public static SignatureRecord Parse(ReadOnlySpan<byte> json) =>
        TryParse(json, out SignatureRecord? record, out string? error) ? record : throw new FormatException($"Not a signature record: {error}");

    /// <summary>Parses CCF's JSON; false (with why) for anything else.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, [NotNullWhen(true)] out SignatureRecord? record, [NotNullWhen(false)] out string? error)
    {
        record = null;
        try
        {
            var reader = new Utf8JsonReader(json);
            using JsonDocument document = JsonDocument.ParseValue(ref reader);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "not a JSON object";
                return false;
            }

            if (!TryGetString(root, "node", out string? node, out error)
                || !TryGetInt64(root, "seqno", out long seqno, out error)
                || !TryGetInt64(root, "view", out long view, out error)
                || !TryGetString(root, "root", out string? rootHex, out error)
                || !TryGetString(root, "sig", out string? signature, out error))
            {
                return false;
            }

            if (!Sha256Hash.TryParse(rootHex, out Sha256Hash merkleRoot))
            {
                error = "'root' is not 64 hex digits";
                return false;
            }

            byte[] signatureBytes = Convert.FromBase64String(signature);
            string certificate = root.TryGetProperty("cert", out JsonElement cert) && cert.ValueKind == JsonValueKind.String ? cert.GetString()! : string.Empty;
            if (seqno < 0 || view < 0)
            {
                error = "negative seqno or view";
                return false;
            }

            record = new SignatureRecord(node, new TxId(view, seqno), merkleRoot, signatureBytes, certificate);
            error = null;
            return true;
        }
        catch (Exception exception) when (exception is JsonException or FormatException or InvalidOperationException)
        {
            error = exception.Message;
            return false;
        }
    }

    private bool TryLoadCertificate([NotNullWhen(true)] out X509Certificate2? certificate)
    {
        try
        {
            certificate = X509Certificate2.CreateFromPem(CertificatePem);
            return true;
        }
        catch (CryptographicException)
        {
            certificate = null;
            return false;
        }
        catch (ArgumentException)
        {
            certificate = null;
            return false;
        }
    }

    private static bool TryGetString(JsonElement root, string name, [NotNullWhen(true)] out string? value, [NotNullWhen(false)] out string? error)
    {
        if (root.TryGetProperty(name, out JsonElement element) && element.ValueKind == JsonValueKind.String)
        {
            value = element.GetString()!;
            error = null;
            return true;
        }

        value = null;
        error = $"'{name}' missing or not a string";
        return false;
    }

    private static bool TryGetInt64(JsonElement root, string name, out long value, [NotNullWhen(false)] out string? error)
    {
        if (root.TryGetProperty(name, out JsonElement element) && element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out value))
        {
            error = null;
            return true;
        }

        value = 0;
        error = $"'{name}' missing or not an integer";
        return false;
    }
}
