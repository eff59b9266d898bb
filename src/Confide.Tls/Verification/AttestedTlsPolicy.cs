using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.AttestationService.Client;
using Microsoft.Extensions.Logging;

namespace Confide.Tls.Verification;

/// <summary>
/// Which enclave a TLS peer must be, in EGo's terms: either its <see cref="UniqueId"/>
/// (MRENCLAVE; MRTD for a TD), or its <see cref="SignerId"/> + <see cref="ProductId"/> +
/// <see cref="MinimumSecurityVersion"/>; and/or one of a changing set of unique ids
/// (<see cref="AllowedUniqueIds"/>). Debug and simulated enclaves are refused unless allowed.
/// An identity must be given: a policy that admits any enclave is an error.
/// </summary>
public sealed class AttestedTlsPolicy
{
    public byte[]? UniqueId { get; set; }

    public byte[]? SignerId { get; set; }

    public ushort? ProductId { get; set; }

    public ushort MinimumSecurityVersion { get; set; }

    /// <summary>
    /// The unique ids (lower-case hex MRENCLAVE or MRTD) admitted now, asked on every verification —
    /// cached certificates included — so that an id taken out of the set refuses the very next
    /// handshake (e.g. a service whose governance removes a code id). The function runs inside TLS
    /// callbacks: it must be quick and must not block on the network. Combined with
    /// <see cref="UniqueId"/> or <see cref="SignerId"/>, the peer must pass both.
    /// </summary>
    public Func<IReadOnlySet<string>>? AllowedUniqueIds { get; set; }

    /// <summary>
    /// Issuers (e.g. a service identity) whose signature the peer's certificate must carry, in place
    /// of its own: when any is given, a certificate must be issued by one of them — name and
    /// signature — and both must be within their validity; a self-signed certificate is refused.
    /// The evidence is still required and checked: issuance proves membership, evidence proves the
    /// enclave. The issuers are trusted as given (no chain above them is built). Empty: self-signed
    /// certificates, as attested TLS usually has.
    /// </summary>
    public IList<X509Certificate2> TrustedIssuers { get; } = [];

    public bool AllowDebug { get; set; }

    /// <summary>Accept evidence from the simulation TEE (chaining to <c>Verifier.SimulationRoots</c>). Never in production.</summary>
    public bool AllowSimulation { get; set; }

    /// <summary>The platform TCB levels accepted. Default: UpToDate and SWHardeningNeeded.</summary>
    public IReadOnlySet<TcbStatus> AcceptedTcbStatuses { get; set; } = VerificationPolicy.Default.AcceptedTcbStatuses;

    /// <summary>
    /// Where collateral for evidence comes from (Intel PCS / a PCCS, files, the simulated platform).
    /// When null, the collateral a certificate carries (<see cref="AttestedTlsOids.Collateral"/>)
    /// is used; when given, that extension is ignored.
    /// </summary>
    public ICollateralProvider? Collateral { get; set; }

    /// <summary>Trust anchors and the clock for evidence.</summary>
    public QuoteVerifierOptions Verifier { get; set; } = new();

    /// <summary>
    /// Attestation services whose tokens are accepted in token-mode certificates (each validates
    /// strictly against its own /certs). Empty: token-mode certificates are refused.
    /// </summary>
    public IList<AttestationClient> TrustedAttestationServices { get; } = [];

    /// <summary>Largest evidence extension accepted.</summary>
    public int MaxEvidenceBytes { get; set; } = 64 * 1024;

    /// <summary>Largest collateral extension accepted (Intel's collateral is 15–25 KB).</summary>
    public int MaxCollateralBytes { get; set; } = 64 * 1024;

    /// <summary>A further check on the verified peer (e.g. a claim in a token); return a reason to refuse, or null.</summary>
    public Func<AttestedPeer, string?>? AdditionalCheck { get; set; }

    /// <summary>Where refusals are logged, with their reason.</summary>
    public ILogger? Logger { get; set; }

    internal void Validate()
    {
        if (UniqueId is null && SignerId is null && AllowedUniqueIds is null)
        {
            throw new InvalidOperationException("An attested TLS policy must name the enclave: UniqueId, SignerId with ProductId, or AllowedUniqueIds.");
        }

        if (SignerId is not null && ProductId is null)
        {
            throw new InvalidOperationException("A SignerId policy also needs a ProductId (EGo's rule: the signer signs many products).");
        }
    }
}
