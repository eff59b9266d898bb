using Confide.Attestation.Quotes;

namespace Confide.Attestation.Collateral;

/// <summary>
/// Supplies the collateral a quote needs: where it comes from (a file, Intel's PCS, a PCCS, the
/// simulated platform) is the provider's business; the verifier checks every byte of it anyway.
/// </summary>
public interface ICollateralProvider
{
    /// <exception cref="CollateralException">The collateral cannot be obtained or is malformed.</exception>
    ValueTask<QuoteCollateral> GetCollateralAsync(CollateralRequest request, CancellationToken cancellationToken = default);
}

/// <summary>Which PCK CA issued the PCK certificate: it selects the PCK CRL.</summary>
public enum PckCaType
{
    /// <summary>"Intel SGX PCK Processor CA" (SGX type Standard).</summary>
    Processor,

    /// <summary>"Intel SGX PCK Platform CA" (scalable SGX, and TDX platforms).</summary>
    Platform,
}

/// <summary>What a quote needs collateral for: its TEE, its platform's FMSPC and its PCK CA.</summary>
public sealed record CollateralRequest(TeeType TeeType, byte[] Fmspc, PckCaType PckCa)
{
    public string FmspcHex => Convert.ToHexStringLower(Fmspc);
}

/// <summary>Collateral that could not be obtained or parsed.</summary>
public sealed class CollateralException(string message, Exception? inner = null) : Exception(message, inner);
