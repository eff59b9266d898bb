namespace Confide.Tls.Verification;

/// <summary>Why a peer's attested certificate was refused.</summary>
public enum AttestedTlsError
{
    /// <summary>No certificate, or it is outside its validity, or not signed as the policy requires: by its own key, or by a trusted issuer (itself within its validity).</summary>
    InvalidCertificate,

    /// <summary>The certificate carries none of the evidence extensions.</summary>
    NoEvidence,

    /// <summary>The evidence or collateral extension is larger than the limit.</summary>
    EvidenceTooLarge,

    /// <summary>The extension's content cannot be parsed (CBOR, report header, quote, collateral).</summary>
    MalformedEvidence,

    /// <summary>The evidence (quote or token) did not verify: signature, chain, collateral, TCB, debug, simulation.</summary>
    EvidenceRejected,

    /// <summary>The evidence is genuine but for another key: the certificate's key is not the one bound in it.</summary>
    KeyNotBound,

    /// <summary>The attested enclave is not the one the policy admits (or its unique id is no longer allowed).</summary>
    IdentityMismatch,
}

/// <summary>A peer's attested certificate was refused; <see cref="Error"/> says why.</summary>
public sealed class AttestedTlsException(AttestedTlsError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public AttestedTlsError Error { get; } = error;
}
