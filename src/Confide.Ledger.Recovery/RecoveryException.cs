namespace Confide.Ledger.Recovery;

/// <summary>Why issuing recovery shares, wrapping, or recovering the ledger secret was refused.</summary>
public enum RecoveryError
{
    /// <summary>A recovery member's encryption key is not an RSA public key in PEM.</summary>
    InvalidMemberKey,

    /// <summary>A recovery member's RSA key is shorter than <see cref="RecoveryShares.MinimumRsaKeySize"/> bits.</summary>
    WeakMemberKey,

    /// <summary>No recovery members, a member without an id, or two members with the same id.</summary>
    InvalidMembers,

    /// <summary>No share was issued to this member.</summary>
    UnknownMember,

    /// <summary>An encrypted share that the member's private key does not decrypt (wrong key or altered bytes).</summary>
    ShareDecryptionFailed,

    /// <summary>Submitted bytes that are not a share: a wrong length, an x outside 1..255, a limb at least p.</summary>
    MalformedShare,

    /// <summary>A well-formed share that is not one issued by this issuance: altered, or of another issuance.</summary>
    NotOfThisIssuance,

    /// <summary>The same share was already submitted.</summary>
    DuplicateShare,

    /// <summary>The threshold has been reached; no further shares are taken.</summary>
    AlreadyComplete,

    /// <summary>Recovery was asked for before the threshold of shares was submitted.</summary>
    NotEnoughShares,

    /// <summary>A wrapped ledger secret of the wrong length.</summary>
    MalformedWrappedSecret,

    /// <summary>
    /// The AES-GCM tag does not verify: the wrapping key is not the one that wrapped (a wrong set of
    /// shares) or the wrapped ledger secret was altered.
    /// </summary>
    UnwrapFailed,
}

/// <summary>A recovery operation refused, with a typed reason.</summary>
public sealed class RecoveryException(RecoveryError error, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The reason.</summary>
    public RecoveryError Error { get; } = error;
}
