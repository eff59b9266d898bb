using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Inference.Hosting;

/// <summary>
/// The identity the inference server has on the simulation TEE, where no CPU measures it. On a
/// real TEE (Gramine, TDX) the hardware reports the identity and this is not used.
/// </summary>
public static class InferenceIdentity
{
    /// <summary>The product id model keys are sealed under (the attestation service is 1, the key broker 2).</summary>
    public const ushort ProductId = 3;

    /// <summary>
    /// MRENCLAVE: SHA-256 over the server's code (its assemblies, in a fixed order); MRSIGNER: a
    /// constant for the Confide inference server, so that a newer build opens model keys an older
    /// one sealed (product policy), as a newer enclave from the same signer would.
    /// </summary>
    public static TeeIdentity Simulated() => SimulatedIdentity.Of("Confide inference server", ProductId, typeof(InferenceServer).Assembly, typeof(ITee).Assembly);
}
