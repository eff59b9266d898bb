using Confide.Attestation.Verification;

namespace Confide.Tls.Verification;

/// <summary>How a peer's certificate carried its attestation.</summary>
public enum AttestedCertificateKind
{
    /// <summary>TCG DICE tagged evidence (interoperable RA-TLS).</summary>
    DiceEvidence,

    /// <summary>An Open Enclave remote report (EGo, Open Enclave).</summary>
    OpenEnclaveReport,

    /// <summary>A raw quote in a legacy extension (Gramine, Intel SGX SDK).</summary>
    LegacyQuote,

    /// <summary>An attestation token from a trusted attestation service.</summary>
    AttestationToken,
}

/// <summary>A verified TLS peer: the enclave it is, and how that was established.</summary>
public sealed record AttestedPeer(
    AttestedCertificateKind Kind,
    byte[] UniqueId,
    byte[] SignerId,
    ushort ProductId,
    ushort SecurityVersion,
    bool Debug,
    bool Simulated,
    TcbStatus? TcbStatus,
    DateTimeOffset ValidUntil)
{
    /// <summary>Token mode: the token's claims.</summary>
    public IDictionary<string, object>? TokenClaims { get; init; }

    public string UniqueIdHex => Convert.ToHexStringLower(UniqueId);

    public string SignerIdHex => Convert.ToHexStringLower(SignerId);
}
