using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;

namespace Confide.Tee.Simulation;

/// <summary>
/// Serves a simulated platform's collateral through the same interface as Intel's PCS, so that
/// simulated quotes go through exactly the verifier path real ones do.
/// </summary>
public sealed class SimulatedCollateralProvider(SimulatedPlatform platform) : ICollateralProvider
{
    public ValueTask<QuoteCollateral> GetCollateralAsync(CollateralRequest request, CancellationToken cancellationToken = default)
    {
        if (request.TeeType != TeeType.Sgx || !request.Fmspc.AsSpan().SequenceEqual(platform.Fmspc) || request.PckCa != PckCaType.Platform)
        {
            throw new CollateralException($"The simulated platform serves SGX collateral for FMSPC {Convert.ToHexStringLower(platform.Fmspc)} (Platform CA); the request is {request.TeeType} FMSPC {request.FmspcHex} ({request.PckCa}).");
        }

        return ValueTask.FromResult(platform.GetCollateral());
    }
}
