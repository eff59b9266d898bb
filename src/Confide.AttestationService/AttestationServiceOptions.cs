using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.Tee;

namespace Confide.AttestationService;

/// <summary>How the attestation service verifies evidence, what it accepts, and who may manage it.</summary>
public sealed class AttestationServiceOptions
{
    /// <summary>
    /// The URL clients reach the service at, when it is not the listen URL (behind a Kubernetes
    /// Service or a load balancer): the tokens' issuer and the base of their jku. Null: the listen URL.
    /// </summary>
    public Uri? PublicUrl { get; init; }

    /// <summary>Where collateral comes from (a file or folder, Intel PCS / a PCCS, a simulated platform).</summary>
    public required ICollateralProvider Collateral { get; init; }

    /// <summary>Trust anchors and the clock collateral is judged by (pinned for recorded evidence such as the test vectors).</summary>
    public QuoteVerifierOptions Verifier { get; init; } = new();

    /// <summary>The clock tokens are issued by (never pinned with the verifier's: relying parties check tokens against now).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Accept simulated evidence (chaining to <c>Verifier.SimulationRoots</c>). Default false.</summary>
    public bool AllowSimulation { get; init; }

    /// <summary>Largest request body accepted. Default 1 MiB (a quote with its chain is under 10 KiB).</summary>
    public long MaxRequestBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// The TEE the service runs in. It seals the token-signing keys in the data directory and
    /// attests them in their certificates. Null: an in-memory key, lost when the service stops.
    /// </summary>
    public ITee? Tee { get; init; }

    /// <summary>Who may call the policy and certificate-management APIs.</summary>
    public AdminAuthenticationOptions AdminAuthentication { get; init; } = new();

    /// <summary>
    /// Policy-management certificates that make a new instance isolated-mode (every policy change
    /// signed by one of them). Used on first start only; afterwards the stored set rules.
    /// </summary>
    public IList<X509Certificate2> InitialPolicySigners { get; init; } = [];
}
