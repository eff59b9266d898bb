using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Receipts;

/// <summary>
/// A transaction receipt in CCF's JSON form: the node certificate, the leaf (as its components, or
/// the signed root itself for a signature transaction), the inclusion proof, and the node's
/// signature over the root.
/// </summary>
/// <remarks>
/// <code>
/// { "cert": "&lt;PEM&gt;",
///   "leaf_components": { "claims_digest": "&lt;hex&gt;", "commit_evidence": "ce:2.500:&lt;hex&gt;", "write_set_digest": "&lt;hex&gt;" },
///   "node_id": "&lt;hex SHA-256 of the node's public key&gt;",
///   "proof": [ {"left": "&lt;hex&gt;"}, {"right": "&lt;hex&gt;"} ],
///   "signature": "&lt;base64 DER ECDSA over the root&gt;",
///   "service_endorsements": [ "&lt;PEM&gt;" ] }
/// </code>
/// A signature transaction's receipt has <c>"leaf": "&lt;hex root&gt;"</c> instead of
/// <c>leaf_components</c> and an empty proof.
/// </remarks>
public sealed class Receipt
{
    /// <summary>A receipt; exactly one of <paramref name="leafComponents"/> and <paramref name="leaf"/> is given.</summary>
    public Receipt(string certificatePem, string nodeId, LeafComponents? leafComponents, Sha256Hash? leaf, MerkleProof proof, byte[] signature, IReadOnlyList<string>? serviceEndorsements = null)
    {
        ArgumentNullException.ThrowIfNull(certificatePem);
        ArgumentNullException.ThrowIfNull(nodeId);
        ArgumentNullException.ThrowIfNull(proof);
        ArgumentNullException.ThrowIfNull(signature);
        if ((leafComponents is null) == (leaf is null))
        {
            throw new ArgumentException("A receipt has either leaf components or a leaf, not both and not neither.", nameof(leafComponents));
        }

        CertificatePem = certificatePem;
        NodeId = nodeId;
        LeafComponents = leafComponents;
        Leaf = leaf;
        Proof = proof;
        Signature = signature;
        ServiceEndorsements = serviceEndorsements ?? [];
    }

    /// <summary>The signing node's certificate, PEM (<c>cert</c>).</summary>
    public string CertificatePem { get; }

    /// <summary>The signing node's ID (<c>node_id</c>).</summary>
    public string NodeId { get; }

    /// <summary>The components of the leaf (<c>leaf_components</c>); null for a signature transaction.</summary>
    public LeafComponents? LeafComponents { get; }

    /// <summary>The leaf itself (<c>leaf</c>), only for a signature transaction: the signed root.</summary>
    public Sha256Hash? Leaf { get; }

    /// <summary>The inclusion proof (<c>proof</c>).</summary>
    public MerkleProof Proof { get; }

    /// <summary>DER ECDSA signature over the root (<c>signature</c>).</summary>
    public byte[] Signature { get; }

    /// <summary>Certificates endorsing the node certificate up to the service identity, after recoveries.</summary>
    public IReadOnlyList<string> ServiceEndorsements { get; }

    /// <summary>The transaction the receipt is for, when the commit evidence says so.</summary>
    public TxId? TxId => LeafComponents is not null && CommitEvidence.TryParse(LeafComponents.CommitEvidence, out CommitEvidence? evidence) ? evidence.TxId : null;

    /// <summary>The leaf: hashed from the components, or given.</summary>
    public Sha256Hash ComputeLeaf() => LeafComponents?.ComputeLeaf() ?? Leaf!.Value;

    /// <summary>The root the proof leads to from the leaf (what the signature must cover).</summary>
    public Sha256Hash ComputeRoot() => Proof.ComputeRoot(ComputeLeaf());

    /// <summary>The receipt as CCF's JSON.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("cert", CertificatePem);
            if (LeafComponents is not null)
            {
                json.WriteStartObject("leaf_components");
                json.WriteString("claims_digest", LeafComponents.ClaimsDigest.ToString());
                json.WriteString("commit_evidence", LeafComponents.CommitEvidence);
                json.WriteString("write_set_digest", LeafComponents.WriteSetDigest.ToString());
                json.WriteEndObject();
            }
            else
            {
                json.WriteString("leaf", Leaf!.Value.ToString());
            }

            json.WriteString("node_id", NodeId);
            json.WriteStartArray("proof");
            foreach (ProofStep step in Proof.Steps)
            {
                json.WriteStartObject();
                json.WriteString(step.Side == ProofSide.Left ? "left" : "right", step.Hash.ToString());
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteBase64String("signature", Signature);
            if (ServiceEndorsements.Count > 0)
            {
                json.WriteStartArray("service_endorsements");
                foreach (string endorsement in ServiceEndorsements)
                {
                    json.WriteStringValue(endorsement);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Parses CCF's JSON.</summary>
    /// <exception cref="FormatException">Not a receipt.</exception>
    public static Receipt Parse(string json) =>
        TryParse(json, out Receipt? receipt, out string? error) ? receipt : throw new FormatException($"Not a receipt: {error}");

    /// <summary>Parses CCF's JSON; false (with why) for anything else.</summary>
    public static bool TryParse([NotNullWhen(true)] string? json, [NotNullWhen(true)] out Receipt? receipt, [NotNullWhen(false)] out string? error)
    {
        receipt = null;
        if (json is null)
        {
            error = "no JSON";
            return false;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            receipt = FromElement(document.RootElement);
            error = null;
            return true;
        }
        catch (Exception exception) when (exception is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            error = exception.Message;
            return false;
        }
    }

    private static Receipt FromElement(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("the receipt is not a JSON object");
        }

        string certificate = RequiredString(root, "cert");
        string nodeId = RequiredString(root, "node_id");
        byte[] signature = Convert.FromBase64String(RequiredString(root, "signature"));

        LeafComponents? components = null;
        Sha256Hash? leaf = null;
        if (root.TryGetProperty("leaf_components", out JsonElement leafComponents))
        {
            components = new LeafComponents(
                Digest(RequiredString(leafComponents, "write_set_digest"), "write_set_digest"),
                RequiredString(leafComponents, "commit_evidence"),
                Digest(RequiredString(leafComponents, "claims_digest"), "claims_digest"));
        }
        else if (root.TryGetProperty("leaf", out _))
        {
            leaf = Digest(RequiredString(root, "leaf"), "leaf");
        }
        else
        {
            throw new FormatException("neither 'leaf_components' nor 'leaf'");
        }

        var steps = new List<ProofStep>();
        foreach (JsonElement element in Required(root, "proof", JsonValueKind.Array).EnumerateArray())
        {
            steps.Add(ProofStepOf(element));
        }

        var endorsements = new List<string>();
        if (root.TryGetProperty("service_endorsements", out JsonElement endorsementArray) && endorsementArray.ValueKind != JsonValueKind.Null)
        {
            foreach (JsonElement endorsement in endorsementArray.EnumerateArray())
            {
                endorsements.Add(endorsement.GetString() ?? throw new FormatException("a service endorsement is null"));
            }
        }

        return new Receipt(certificate, nodeId, components, leaf, new MerkleProof(steps), signature, endorsements);
    }

    private static ProofStep ProofStepOf(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("a proof step is not an object");
        }

        List<JsonProperty> properties = [.. element.EnumerateObject()];
        if (properties.Count != 1 || properties[0].Name is not ("left" or "right") || properties[0].Value.ValueKind != JsonValueKind.String)
        {
            throw new FormatException("a proof step is not {\"left\": hex} or {\"right\": hex}");
        }

        ProofSide side = properties[0].Name == "left" ? ProofSide.Left : ProofSide.Right;
        return new ProofStep(side, Digest(properties[0].Value.GetString()!, $"proof {properties[0].Name}"));
    }

    private static JsonElement Required(JsonElement parent, string name, JsonValueKind kind)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(name, out JsonElement value) || value.ValueKind != kind)
        {
            throw new FormatException($"'{name}' is missing or not a {kind}");
        }

        return value;
    }

    private static string RequiredString(JsonElement parent, string name) => Required(parent, name, JsonValueKind.String).GetString()!;

    private static Sha256Hash Digest(string hex, string name) =>
        Sha256Hash.TryParse(hex, out Sha256Hash digest) ? digest : throw new FormatException($"'{name}' is not 64 hex digits");
}
