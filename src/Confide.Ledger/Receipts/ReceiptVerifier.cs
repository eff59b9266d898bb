using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Receipts;

/// <summary>
/// Offline receipt verification, CCF's (doc/use_apps/verify_tx.rst, python ccf.receipt):
/// recompute the leaf, fold the proof into a root, check the node's ECDSA signature over the root,
/// and check the node certificate is endorsed by the service identity.
/// </summary>
public static class ReceiptVerifier
{
    /// <summary>Verifies a receipt against the service identity certificate.</summary>
    /// <exception cref="ReceiptVerificationException">With the reason it does not verify.</exception>
    public static void Verify(Receipt receipt, X509Certificate2 serviceIdentity)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        ArgumentNullException.ThrowIfNull(serviceIdentity);
        using X509Certificate2 nodeCertificate = LoadCertificate(receipt.CertificatePem, "cert");
        VerifySignature(receipt, nodeCertificate);
        VerifyEndorsements(receipt, nodeCertificate, serviceIdentity);
    }

    /// <summary>Parses and verifies a receipt in CCF's JSON.</summary>
    /// <exception cref="ReceiptVerificationException">With the reason (<see cref="ReceiptVerificationError.Malformed"/> if it does not parse).</exception>
    public static Receipt Verify(string receiptJson, X509Certificate2 serviceIdentity)
    {
        if (!Receipt.TryParse(receiptJson, out Receipt? receipt, out string? error))
        {
            throw new ReceiptVerificationException(ReceiptVerificationError.Malformed, $"Not a receipt: {error}");
        }

        Verify(receipt, serviceIdentity);
        return receipt;
    }

    /// <summary>
    /// Steps 1–4 only: the node ID matches the certificate and the signature verifies over the
    /// recomputed root. Says nothing about whether the node belongs to the service.
    /// </summary>
    /// <exception cref="ReceiptVerificationException">With the reason.</exception>
    public static void VerifySignature(Receipt receipt)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        using X509Certificate2 nodeCertificate = LoadCertificate(receipt.CertificatePem, "cert");
        VerifySignature(receipt, nodeCertificate);
    }

    /// <summary><see cref="Verify(Receipt, X509Certificate2)"/> returning the reason instead of throwing.</summary>
    public static bool TryVerify(Receipt receipt, X509Certificate2 serviceIdentity, out ReceiptVerificationError? error)
    {
        try
        {
            Verify(receipt, serviceIdentity);
            error = null;
            return true;
        }
        catch (ReceiptVerificationException exception)
        {
            error = exception.Error;
            return false;
        }
    }

    private static void VerifySignature(Receipt receipt, X509Certificate2 nodeCertificate)
    {
        string nodeId = LedgerSigner.ComputeNodeId(nodeCertificate);
        if (!string.Equals(nodeId, receipt.NodeId, StringComparison.OrdinalIgnoreCase))
        {
            throw new ReceiptVerificationException(ReceiptVerificationError.NodeIdMismatch, $"node_id {receipt.NodeId} is not the node certificate's key ({nodeId}).");
        }

        using ECDsa key = nodeCertificate.GetECDsaPublicKey()
            ?? throw new ReceiptVerificationException(ReceiptVerificationError.Malformed, "The node certificate's key is not an ECDSA key.");
        Sha256Hash root = receipt.ComputeRoot();
        bool valid;
        try
        {
            valid = key.VerifyHash(root.Span, receipt.Signature, DSASignatureFormat.Rfc3279DerSequence);
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

    // cert ← endorsements[0] ← endorsements[1] ← ... ← service identity
    private static void VerifyEndorsements(Receipt receipt, X509Certificate2 nodeCertificate, X509Certificate2 serviceIdentity)
    {
        var endorsers = new List<X509Certificate2>();
        try
        {
            foreach (string pem in receipt.ServiceEndorsements)
            {
                endorsers.Add(LoadCertificate(pem, "service_endorsements"));
            }

            X509Certificate2 current = nodeCertificate;
            foreach (X509Certificate2 endorser in endorsers.Append(serviceIdentity))
            {
                bool endorsed;
                try
                {
                    endorsed = CertificateEndorsement.IsEndorsedBy(current, endorser);
                }
                catch (CryptographicException exception)
                {
                    throw new ReceiptVerificationException(ReceiptVerificationError.UntrustedCertificate, $"Cannot check the endorsement of '{current.Subject}': {exception.Message}", exception);
                }

                if (!endorsed)
                {
                    throw new ReceiptVerificationException(ReceiptVerificationError.UntrustedCertificate, $"'{current.Subject}' is not endorsed by '{endorser.Subject}': the node is not part of this service.");
                }

                current = endorser;
            }
        }
        finally
        {
            foreach (X509Certificate2 endorser in endorsers)
            {
                endorser.Dispose();
            }
        }
    }

    private static X509Certificate2 LoadCertificate(string pem, string field)
    {
        try
        {
            return X509Certificate2.CreateFromPem(pem);
        }
        catch (Exception exception) when (exception is CryptographicException or ArgumentException)
        {
            throw new ReceiptVerificationException(ReceiptVerificationError.Malformed, $"'{field}' is not a PEM certificate.", exception);
        }
    }
}
