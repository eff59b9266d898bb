using System.Security.Cryptography.X509Certificates;

namespace Confide.Attestation.Verification;

/// <summary>Trust anchors and the clock of a <see cref="QuoteVerifier"/>.</summary>
public sealed class QuoteVerifierOptions
{
    /// <summary>Roots a genuine quote may chain to. Default: the Intel SGX Root CA (pinned).</summary>
    public IList<X509Certificate2> TrustedRoots { get; } = [Verification.TrustedRoots.IntelSgxRootCa()];

    /// <summary>Roots of simulated platforms; quotes chaining to them verify only under a policy that allows simulation.</summary>
    public IList<X509Certificate2> SimulationRoots { get; } = [];

    /// <summary>
    /// Remember verified collateral and PCK chains by content, so that a quote from a known
    /// platform costs two ECDSA verifications (QE report, quote). Validity windows are still
    /// checked against the clock on every call. Default true.
    /// </summary>
    public bool CacheVerifiedCollateral { get; set; } = true;

    /// <summary>The verification time source; collateral must be valid at this time (half-open windows).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
