namespace Confide.Tls.Verification;

/// <summary>Why a peer's attested certificate was refused.</summary>
public enum AttestedTlsError
{
    /// <summary>No certificate, or it is not self-signed by its own key, or outside its validity.</summary>
    InvalidCertificate,

    /// <summary>The certificate carries none of the evidence extensions.</summary>
    NoEvidence,

    /// <summary>The extension is larger than the limit.</summary>
    EvidenceTooLarge,

    /// <summary>The extension's content cannot be parsed (CBOR, report header, quote).</summary>
    MalformedEvidence,

    /// <summary>The evidence (quote or token) did not verify: signature, chain, collateral, TCB, debug, simulation.</summary>
    EvidenceRejected,

    /// <summary>The evidence is genuine but for another key: the certificate's key is not the one bound in it.</summary>
    KeyNotBound,

    /// <summary>The attested enclave is not the one the policy admits.</summary>
    IdentityMismatch,
}

/// <summary>A peer's attested certificate was refused; <see cref="Error"/> says why.</summary>
public sealed class AttestedTlsException(AttestedTlsError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public AttestedTlsError Error { get; } = error;
}
