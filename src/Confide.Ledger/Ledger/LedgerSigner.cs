using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Ledger;

/// <summary>
/// The node identity that signs Merkle roots: its key signs, its (service-endorsed) certificate goes
/// into every signature record. The node layer supplies its own (an enclave-held key, for instance).
/// </summary>
public abstract class LedgerSigner
{
    /// <summary>Hex SHA-256 of the node's public key (DER SubjectPublicKeyInfo): CCF's node ID.</summary>
    public abstract string NodeId { get; }

    /// <summary>The node certificate, PEM.</summary>
    public abstract string CertificatePem { get; }

    /// <summary>ECDSA over the 32-byte root taken as a SHA-256 pre-hash, DER-encoded (RFC 3279).</summary>
    public abstract byte[] SignRoot(Sha256Hash root);

    /// <summary>CCF's node ID of a certificate: hex SHA-256 of its public key's DER SubjectPublicKeyInfo.</summary>
    public static string ComputeNodeId(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));
    }
}

/// <summary>A <see cref="LedgerSigner"/> over an ECDSA key held in this process (P-384 in CCF by default).</summary>
public sealed class EcdsaLedgerSigner : LedgerSigner
{
    private readonly ECDsa _key;

    /// <summary>Signs with <paramref name="key"/> (not owned) and presents <paramref name="certificate"/>.</summary>
    /// <exception cref="ArgumentException">The certificate is not for this key.</exception>
    public EcdsaLedgerSigner(ECDsa key, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(certificate);
        if (!key.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(certificate.PublicKey.ExportSubjectPublicKeyInfo()))
        {
            throw new ArgumentException("The certificate's public key is not the signing key's.", nameof(certificate));
        }

        _key = key;
        NodeId = ComputeNodeId(certificate);
        CertificatePem = certificate.ExportCertificatePem();
    }

    public override string NodeId { get; }

    public override string CertificatePem { get; }

    public override byte[] SignRoot(Sha256Hash root) => _key.SignHash(root.Span, DSASignatureFormat.Rfc3279DerSequence);
}
