using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.KeyRelease.Hosting;

/// <summary>
/// The identity the key broker has on the simulation TEE, where no CPU measures it. On a real TEE
/// (Gramine, TDX) the hardware reports the identity and this is not used.
/// </summary>
public static class KeyBrokerIdentity
{
    /// <summary>The product id the broker seals its keys under (the attestation service is 1).</summary>
    public const ushort ProductId = 2;

    /// <summary>
    /// MRENCLAVE: SHA-256 over the broker's code (its assemblies, in a fixed order); MRSIGNER: a
    /// constant for the Confide key broker, so that a newer build opens the keys an older one sealed
    /// (product policy), as a newer enclave from the same signer would.
    /// </summary>
    public static TeeIdentity Simulated() => SimulatedIdentity.Of("Confide key broker", ProductId, typeof(KeyBrokerServer).Assembly, typeof(Confide.AttestationService.AdminAuthenticationOptions).Assembly, typeof(ITee).Assembly);
}
