using System.Security.Cryptography;

namespace Confide.Ledger.Recovery;

/// <summary>
/// Collects the decrypted shares of one <see cref="RecoveryIssuance"/> as members submit them, and once
/// it holds the threshold, recovers the ledger secret. Not thread-safe. Disposing zeroes the shares held.
/// </summary>
/// <remarks>
/// Each submission is checked on arrival: it must parse as a share, be exactly the share issued with its
/// index (by the issuance's digest; an altered share or another issuance's is refused), and not have
/// been submitted already. The recovered wrapping key is then still checked by the GCM tag of the
/// wrapped ledger secret.
/// </remarks>
public sealed class RecoverySession(RecoveryIssuance issuance) : IDisposable
{
    private readonly List<Share> _accepted = [];

    /// <summary>The issuance being recovered.</summary>
    public RecoveryIssuance Issuance { get; } = issuance;

    /// <summary>How many shares recover the ledger secret.</summary>
    public int Threshold => Issuance.Threshold;

    /// <summary>How many shares have been accepted.</summary>
    public int SubmittedCount => _accepted.Count;

    /// <summary>How many more shares are needed (0 once <see cref="IsComplete"/>).</summary>
    public int StillNeeded => Math.Max(0, Threshold - _accepted.Count);

    /// <summary>Whether the threshold has been reached and <see cref="RecoverLedgerSecret"/> can run.</summary>
    public bool IsComplete => StillNeeded == 0;

    /// <summary>Accepts one decrypted 44-byte share.</summary>
    /// <returns>How many more shares are needed.</returns>
    /// <exception cref="RecoveryException">
    /// <see cref="RecoveryError.AlreadyComplete"/>, <see cref="RecoveryError.MalformedShare"/>,
    /// <see cref="RecoveryError.NotOfThisIssuance"/> or <see cref="RecoveryError.DuplicateShare"/>.
    /// </exception>
    public int Submit(ReadOnlySpan<byte> shareBytes)
    {
        if (IsComplete)
        {
            throw new RecoveryException(RecoveryError.AlreadyComplete, $"The threshold of {Threshold} shares has already been reached.");
        }

        Share share;
        try
        {
            share = Share.Parse(shareBytes);
        }
        catch (SecretSharingException e)
        {
            throw new RecoveryException(RecoveryError.MalformedShare, $"Not a share: {e.Message}", e);
        }

        if (!Issuance.Issued(share.X, shareBytes))
        {
            share.Dispose();
            throw new RecoveryException(RecoveryError.NotOfThisIssuance, $"The share with index {share.X} is not the one this issuance issued: altered, or of another issuance.");
        }

        if (_accepted.Exists(accepted => accepted.X == share.X))
        {
            share.Dispose();
            throw new RecoveryException(RecoveryError.DuplicateShare, $"The share with index {share.X} was already submitted.");
        }

        _accepted.Add(share);
        return StillNeeded;
    }

    /// <summary>
    /// Combines the accepted shares into the sharing secret, derives the wrapping key and unwraps the
    /// ledger secret (the caller should zero it after use). The secret and the key are zeroed.
    /// </summary>
    /// <exception cref="RecoveryException">
    /// <see cref="RecoveryError.NotEnoughShares"/> before the threshold; <see cref="RecoveryError.UnwrapFailed"/>
    /// when the GCM tag of the wrapped ledger secret does not verify under the recovered key.
    /// </exception>
    public byte[] RecoverLedgerSecret()
    {
        if (!IsComplete)
        {
            throw new RecoveryException(RecoveryError.NotEnoughShares, $"{SubmittedCount} of {Threshold} shares submitted; {StillNeeded} more needed.");
        }

        using SharingSecret secret = SecretSharing.Combine(_accepted, Threshold);
        Span<byte> wrappingKey = stackalloc byte[WrappingKey.Size];
        try
        {
            WrappingKey.Derive(secret, wrappingKey);
            return LedgerSecretWrapping.Unwrap(wrappingKey, Issuance.WrappedLedgerSecret.Span);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(wrappingKey);
        }
    }

    /// <summary>Zeroes and drops the accepted shares.</summary>
    public void Dispose()
    {
        foreach (Share share in _accepted)
        {
            share.Dispose();
        }

        _accepted.Clear();
    }
}
