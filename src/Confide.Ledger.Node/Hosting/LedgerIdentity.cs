using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Ledger.Node.Hosting;

/// <summary>
/// The identity a ledger node has on the simulation TEE when it runs as an ordinary process (no
/// enclave package measured it). On a real TEE, or as an enclave package, the measured identity is used.
/// </summary>
public static class LedgerIdentity
{
    /// <summary>The product id node secrets are sealed under (attestation service 1, key broker 2, inference 3).</summary>
    public const ushort ProductId = 4;

    public static TeeIdentity Simulated() => SimulatedIdentity.Of("Confide ledger node", ProductId, typeof(LedgerNode).Assembly, typeof(Confide.Ledger.Kv.Store).Assembly, typeof(ITee).Assembly);
}
