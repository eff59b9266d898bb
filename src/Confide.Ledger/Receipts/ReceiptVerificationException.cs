namespace Confide.Ledger.Receipts;

/// <summary>Why a receipt was refused.</summary>
public enum ReceiptVerificationError
{
    /// <summary>Not a receipt: bad JSON, a missing or ill-typed field, a certificate that does not parse.</summary>
    Malformed,

    /// <summary><c>node_id</c> is not the SHA-256 of the certificate's public key.</summary>
    NodeIdMismatch,

    /// <summary>
    /// The signature does not verify over the root recomputed from the leaf and the proof: a leaf
    /// component, a proof step or the signature itself was altered (or belongs to another receipt).
    /// </summary>
    InvalidSignature,

    /// <summary>The node certificate is not endorsed by the service identity (directly or through <c>service_endorsements</c>).</summary>
    UntrustedCertificate,
}

/// <summary>A receipt that does not verify, with a typed reason.</summary>
public sealed class ReceiptVerificationException(ReceiptVerificationError error, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The reason.</summary>
    public ReceiptVerificationError Error { get; } = error;
}
