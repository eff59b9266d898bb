using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Receipts;

/// <summary>
/// Verifies many receipts of one service: the full check of <see cref="ReceiptVerifier"/>, except
/// that a node certificate (with its endorsements) found endorsed by the service identity once is
/// remembered with its key. A service has a handful of nodes and a client checks many receipts,
/// so after the first receipt of each node the cost is the leaf, the proof and one signature.
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed class ServiceReceiptVerifier : IDisposable
{
    private const int MaxRemembered = 1024;

    private readonly X509Certificate2 _service;
    private readonly ConcurrentDictionary<string, EndorsedNode> _endorsed = new(StringComparer.Ordinal);

    public ServiceReceiptVerifier(X509Certificate2 serviceIdentity)
    {
        ArgumentNullException.ThrowIfNull(serviceIdentity);
        _service = serviceIdentity;
    }

    /// <summary>Parses and verifies a receipt in CCF's JSON.</summary>
    /// <exception cref="ReceiptVerificationException">With the reason.</exception>
    public Receipt Verify(string receiptJson)
    {
        if (!Receipt.TryParse(receiptJson, out Receipt? receipt, out string? error))
        {
            throw new ReceiptVerificationException(ReceiptVerificationError.Malformed, $"Not a receipt: {error}");
        }

        Verify(receipt);
        return receipt;
    }

    /// <exception cref="ReceiptVerificationException">With the reason.</exception>
    public void Verify(Receipt receipt)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        string signer = receipt.CertificatePem + "\n" + string.Join("\n", receipt.ServiceEndorsements);
        if (!_endorsed.TryGetValue(signer, out EndorsedNode? node))
        {
            // First receipt of this node: the whole check, endorsement chain included.
            ReceiptVerifier.Verify(receipt, _service);
            if (_endorsed.Count < MaxRemembered)
            {
                using X509Certificate2 certificate = X509Certificate2.CreateFromPem(receipt.CertificatePem);
                node = new EndorsedNode(receipt.NodeId, certificate.GetECDsaPublicKey()!.ExportSubjectPublicKeyInfo());
                if (!_endorsed.TryAdd(signer, node))
                {
                    node.Dispose();
                }
            }

            return;
        }

        if (!string.Equals(node.NodeId, receipt.NodeId, StringComparison.OrdinalIgnoreCase))
        {
            throw new ReceiptVerificationException(ReceiptVerificationError.NodeIdMismatch, $"node_id {receipt.NodeId} is not the node certificate's key ({node.NodeId}).");
        }

        Sha256Hash root = receipt.ComputeRoot();
        bool valid;
        try
        {
            valid = node.Key.Value!.VerifyHash(root.Span, receipt.Signature, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            valid = false;
        }

        if (!valid)
        {
            throw new ReceiptVerificationException(ReceiptVerificationError.InvalidSignature, $"The signature does not verify over root {root} recomputed from the leaf and the proof.");
        }
    }

    public void Dispose()
    {
        foreach (EndorsedNode node in _endorsed.Values)
        {
            node.Dispose();
        }

        _endorsed.Clear();
    }

    /// <summary>A node found endorsed: its id and its key, one instance per thread (ECDsa objects are not thread-safe).</summary>
    private sealed class EndorsedNode(string nodeId, byte[] subjectPublicKeyInfo) : IDisposable
    {
        public string NodeId { get; } = nodeId.ToLowerInvariant();

        public ThreadLocal<ECDsa> Key { get; } = new(() =>
        {
            var key = ECDsa.Create();
            key.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
            return key;
        }, trackAllValues: true);

        public void Dispose()
        {
            foreach (ECDsa key in Key.Values)
            {
                key.Dispose();
            }

            Key.Dispose();
        }
    }
}
