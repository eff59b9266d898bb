using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;

namespace Confide.AttestationService;

/// <summary>How the attestation service verifies evidence and what it accepts.</summary>
public sealed class AttestationServiceOptions
{
    /// <summary>Where collateral comes from (a file or folder, Intel PCS / a PCCS, a simulated platform).</summary>
    public required ICollateralProvider Collateral { get; init; }

    /// <summary>Trust anchors and the clock (pinned for recorded evidence such as the test vectors).</summary>
    public QuoteVerifierOptions Verifier { get; init; } = new();

    /// <summary>Accept simulated evidence (chaining to <c>Verifier.SimulationRoots</c>). Default false.</summary>
    public bool AllowSimulation { get; init; }

    /// <summary>Largest attest request body accepted. Default 1 MiB (a quote with its chain is under 10 KiB).</summary>
    public long MaxRequestBytes { get; init; } = 1024 * 1024;
}
