using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.AttestationService.Client;
using Microsoft.Extensions.Logging;

namespace Confide.Tls.Verification;

/// <summary>
/// Which enclave a TLS peer must be, in EGo's terms: either its <see cref="UniqueId"/>
/// (MRENCLAVE; MRTD for a TD), or its <see cref="SignerId"/> + <see cref="ProductId"/> +
/// <see cref="MinimumSecurityVersion"/>. Debug and simulated enclaves are refused unless allowed.
/// One of the two identities must be given: a policy that admits any enclave is an error.
/// </summary>
public sealed class AttestedTlsPolicy
{
    public byte[]? UniqueId { get; set; }

    public byte[]? SignerId { get; set; }

    public ushort? ProductId { get; set; }

    public ushort MinimumSecurityVersion { get; set; }

    public bool AllowDebug { get; set; }

    /// <summary>Accept evidence from the simulation TEE (chaining to <c>Verifier.SimulationRoots</c>). Never in production.</summary>
    public bool AllowSimulation { get; set; }

    /// <summary>The platform TCB levels accepted. Default: UpToDate and SWHardeningNeeded.</summary>
    public IReadOnlySet<TcbStatus> AcceptedTcbStatuses { get; set; } = VerificationPolicy.Default.AcceptedTcbStatuses;

    /// <summary>Where collateral for evidence comes from (Intel PCS / a PCCS, files, the simulated platform).</summary>
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

    /// <summary>A further check on the verified peer (e.g. a claim in a token); return a reason to refuse, or null.</summary>
    public Func<AttestedPeer, string?>? AdditionalCheck { get; set; }

    /// <summary>Where refusals are logged, with their reason.</summary>
    public ILogger? Logger { get; set; }

    internal void Validate()
    {
        if (UniqueId is null && SignerId is null)
        {
            throw new InvalidOperationException("An attested TLS policy must name the enclave: UniqueId, or SignerId with ProductId.");
        }

        if (SignerId is not null && ProductId is null)
        {
            throw new InvalidOperationException("A SignerId policy also needs a ProductId (EGo's rule: the signer signs many products).");
        }
    }
}
