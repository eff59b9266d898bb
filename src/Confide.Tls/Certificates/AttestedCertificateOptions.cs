using System.Security.Cryptography.X509Certificates;

namespace Confide.Tls.Certificates;

/// <summary>How an attested certificate is made.</summary>
public sealed class AttestedCertificateOptions
{
    /// <summary>The subject; EGo uses CN=EGo, Gramine CN=RATLS, Open Enclave CN=Open Enclave SDK.</summary>
    public string Subject { get; set; } = "CN=Confide enclave";

    /// <summary>
    /// Names for the subject alternative name (clients do not rely on them; some TLS stacks want
    /// one). A name that is an IP address is written as an IP address name.
    /// </summary>
    public IList<string> DnsNames { get; } = ["localhost"];

    /// <summary>
    /// How long a certificate is valid. Short, so that its evidence stays fresh (a TCB recovery
    /// reaches clients within a lifetime); the provider replaces it before it expires.
    /// </summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The provider makes a new certificate when the current one has less than this left.</summary>
    public TimeSpan RefreshBefore { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Which extensions carry the evidence. Default both: interoperable DICE and Open Enclave / EGo.</summary>
    public AttestedCertificateFormats Formats { get; set; } = AttestedCertificateFormats.Dice | AttestedCertificateFormats.OpenEnclave;

    /// <summary>
    /// The certificate that issues (signs) the attested certificate, with its private key (ECDSA or
    /// RSA); null: self-signed by the certificate's own key. An issuer adds a second proof beside the
    /// evidence — e.g. a service identity endorsing its members — that verifiers check with
    /// <see cref="Verification.AttestedTlsPolicy.TrustedIssuers"/>. The certificate's validity is
    /// kept within the issuer's.
    /// </summary>
    public X509Certificate2? Issuer { get; set; }

    /// <summary>
    /// Carry the quote's collateral (as the TEE hands it out) in the
    /// <see cref="AttestedTlsOids.Collateral"/> extension, so that verifiers need no collateral
    /// source of their own. Safe to take from the peer: every piece is signed by Intel (or the
    /// simulation root) and verified like collateral from anywhere else, dates included. Needs a TEE
    /// that supplies collateral with its evidence (the simulation does).
    /// </summary>
    public bool IncludeCollateral { get; set; }

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

/// <summary>The evidence encodings a certificate can carry.</summary>
[Flags]
public enum AttestedCertificateFormats
{
    /// <summary>TCG DICE tagged evidence (2.23.133.5.4.9), as Gramine and the Intel SGX SDK write it.</summary>
    Dice = 1,

    /// <summary>An Open Enclave remote report (1.3.6.1.4.1.311.105.1) over SHA-256(DER SPKI), as EGo writes it.</summary>
    OpenEnclave = 2,
}
