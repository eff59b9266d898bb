namespace Confide.Ledger.Recovery;

/// <summary>Why a split, a combination or share bytes were refused.</summary>
public enum SecretSharingError
{
    /// <summary>A share count outside 1..<see cref="SecretSharing.MaxShares"/>.</summary>
    InvalidShareCount,

    /// <summary>A threshold below 1, or above the number of shares.</summary>
    InvalidThreshold,

    /// <summary>Fewer shares than the threshold were given to combine.</summary>
    InsufficientShares,

    /// <summary>Two shares to combine have the same x coordinate.</summary>
    DuplicateShare,

    /// <summary>Share bytes of a length other than <see cref="Share.SerializedSize"/>.</summary>
    InvalidLength,

    /// <summary>
    /// A share x coordinate outside 1..<see cref="SecretSharing.MaxShares"/>, including 0 (which CCF
    /// uses for the whole secret, given to recovery owners).
    /// </summary>
    InvalidShareIndex,

    /// <summary>A limb that is not an element of the field: at least p = 2^31 − 1.</summary>
    LimbOutOfRange,
}

/// <summary>A secret sharing operation refused, with a typed reason.</summary>
public sealed class SecretSharingException(SecretSharingError error, string message) : Exception(message)
{
    /// <summary>The reason.</summary>
    public SecretSharingError Error { get; } = error;
}
