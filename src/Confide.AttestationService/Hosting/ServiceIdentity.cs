using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.AttestationService.Hosting;

/// <summary>
/// The identity the attestation service has on the simulation TEE, where no CPU measures it. On a
/// real TEE (Gramine, TDX) the hardware reports the identity and this is not used.
/// </summary>
public static class ServiceIdentity
{
    /// <summary>The product id the service seals its keys under.</summary>
    public const ushort ProductId = 1;

    /// <summary>
    /// MRENCLAVE: SHA-256 over the service's code (its assemblies, in a fixed order); MRSIGNER: a
    /// constant for the Confide attestation service, so that a newer build opens the keys an older
    /// one sealed (product policy), as a newer enclave from the same signer would.
    /// </summary>
    public static TeeIdentity Simulated() => SimulatedIdentity.Of("Confide attestation service", ProductId, typeof(AttestationEngine).Assembly, typeof(Confide.Attestation.Verification.QuoteVerifier).Assembly, typeof(Confide.Attestation.Policy.AttestationPolicy).Assembly, typeof(ITee).Assembly);
}
