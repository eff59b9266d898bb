using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;

namespace Confide.Tee.Collateral;

/// <summary>
/// A TEE whose quotes always travel with their collateral. Gramine and configfs-tsm hand out a
/// bare quote, while a verifier that sits elsewhere (a peer node, a joiner's sponsor) needs the
/// PCK CRL, TCB info and QE identity that go with it. When the inner TEE gives none, the
/// collateral for the quote's FMSPC and PCK CA is fetched from a provider — the machine's PCCS,
/// Azure's THIM cache, Intel's PCS, or files — and attached. Nothing is trusted on the way: a
/// verifier checks the collateral's signatures and dates like any other.
/// </summary>
public sealed class CollateralAttachingTee : ITee
{
    private readonly ITee _inner;
    private readonly ICollateralProvider _collateral;

    public CollateralAttachingTee(ITee inner, ICollateralProvider collateral)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(collateral);
        _inner = inner;
        _collateral = collateral;
    }

    public TeeKind Kind => _inner.Kind;

    public bool IsSimulated => _inner.IsSimulated;

    public TeeIdentity Identity => _inner.Identity;

    /// <exception cref="TeeException">The inner TEE failed, or the collateral for its quote cannot be obtained.</exception>
    public async ValueTask<TeeEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken = default)
    {
        TeeEvidence evidence = await _inner.GetEvidenceAsync(reportData, cancellationToken).ConfigureAwait(false);
        if (evidence.CollateralJson is not null || evidence.Format is not (EvidenceFormat.SgxQuote or EvidenceFormat.TdxQuote))
        {
            return evidence;
        }

        if (!Quote.TryParseEvidence(evidence.Data, out Quote? quote, out QuoteFormatException? formatError))
        {
            throw new TeeException(TeeError.DeviceError, $"The TEE's quote does not parse, so its collateral cannot be looked up: {formatError!.Message}");
        }

        if (!QuoteVerifier.TryDescribe(quote!, out CollateralRequest? request))
        {
            throw new TeeException(TeeError.DeviceError, "The TEE's quote carries no readable PCK certificate chain, so its collateral cannot be looked up.");
        }

        try
        {
            QuoteCollateral collateral = await _collateral.GetCollateralAsync(request!, cancellationToken).ConfigureAwait(false);
            return evidence with { CollateralJson = collateral.ToJson() };
        }
        catch (CollateralException ex)
        {
            throw new TeeException(TeeError.DeviceError, $"The collateral for this platform's quotes cannot be obtained: {ex.Message}", ex);
        }
    }

    public byte[] DeriveSealKey(SealKeyRequest request) => _inner.DeriveSealKey(request);

    /// <summary>Nothing to release: the inner TEE and the provider belong to the caller, who outlives this wrapper.</summary>
    public void Dispose()
    {
    }
}
