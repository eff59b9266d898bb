using System.Security.Cryptography;
using System.Text;

namespace Confide.Ledger.Recovery;

/// <summary>
/// One member's part of an issuance: the share index x, the share RSA-OAEP-encrypted to the member, and
/// a digest that lets a recovery recognise the decrypted share as this issuance's.
/// </summary>
public sealed class IssuedShare
{
    /// <summary>The size of <see cref="ShareDigest"/>: SHA-256.</summary>
    public const int DigestSize = 32;

    /// <summary>A member's issued share.</summary>
    /// <exception cref="ArgumentException">An empty id, an x outside 1..255, or a digest that is not 32 bytes.</exception>
    public IssuedShare(string memberId, uint x, ReadOnlyMemory<byte> encryptedShare, ReadOnlyMemory<byte> shareDigest)
    {
        ArgumentException.ThrowIfNullOrEmpty(memberId);
        if (x is 0 or > SecretSharing.MaxShares)
        {
            throw new ArgumentOutOfRangeException(nameof(x), x, $"A share index is in 1..{SecretSharing.MaxShares}.");
        }

        if (shareDigest.Length != DigestSize)
        {
            throw new ArgumentException($"A share digest is {DigestSize} bytes.", nameof(shareDigest));
        }

        MemberId = memberId;
        X = x;
        EncryptedShare = encryptedShare;
        ShareDigest = shareDigest;
    }

    /// <summary>The recovery member the share is for.</summary>
    public string MemberId { get; }

    /// <summary>The share index.</summary>
    public uint X { get; }

    /// <summary>RSA-OAEP-SHA256 (MGF1-SHA256, no label) of the 44-byte share, under the member's key.</summary>
    public ReadOnlyMemory<byte> EncryptedShare { get; }

    /// <summary>SHA-256 of a domain label, the issuance id and the 44-byte share (see <see cref="RecoveryIssuance"/>).</summary>
    public ReadOnlyMemory<byte> ShareDigest { get; }
}

/// <summary>
/// The public record of one issuance of recovery shares, what a service stores in its ledger: the
/// ledger secret wrapped under a fresh wrapping key, and that key's sharing secret split k-of-n with each
/// share encrypted to one recovery member. Nothing in it is secret.
/// </summary>
/// <remarks>
/// Beyond CCF's record (wrapped ledger secret and encrypted shares), each share carries a digest,
/// SHA-256(<c>"Confide recovery share v1"</c> || 0x00 || issuance id[16] || share[44]), so that a
/// recovery refuses an altered share, or one from another issuance, when it is submitted and names it,
/// instead of failing only at the threshold on the GCM tag. A share holds ~310 bits the digest does not
/// let one guess.
/// </remarks>
public sealed class RecoveryIssuance
{
    /// <summary>The size of <see cref="IssuanceId"/>.</summary>
    public const int IssuanceIdSize = 16;

    private static readonly byte[] DigestLabel = Encoding.ASCII.GetBytes("Confide recovery share v1\0");

    private readonly Dictionary<uint, IssuedShare> _byIndex;
    private readonly Dictionary<string, IssuedShare> _byMember;

    /// <summary>An issuance, from its parts (as read back from storage).</summary>
    /// <exception cref="ArgumentException">
    /// An id that is not 16 bytes, a wrapped secret that is not 60 bytes, a threshold outside 1..n, no
    /// shares, or two shares with the same index or member.
    /// </exception>
    public RecoveryIssuance(ReadOnlyMemory<byte> issuanceId, int threshold, ReadOnlyMemory<byte> wrappedLedgerSecret, IReadOnlyList<IssuedShare> shares)
    {
        if (issuanceId.Length != IssuanceIdSize)
        {
            throw new ArgumentException($"An issuance id is {IssuanceIdSize} bytes.", nameof(issuanceId));
        }

        if (wrappedLedgerSecret.Length != LedgerSecretWrapping.WrappedSize)
        {
            throw new ArgumentException($"A wrapped ledger secret is {LedgerSecretWrapping.WrappedSize} bytes.", nameof(wrappedLedgerSecret));
        }

        if (shares.Count == 0 || threshold < 1 || threshold > shares.Count)
        {
            throw new ArgumentException($"The threshold {threshold} is outside 1..{shares.Count} (the share count).", nameof(threshold));
        }

        _byIndex = [];
        _byMember = new Dictionary<string, IssuedShare>(StringComparer.Ordinal);
        foreach (IssuedShare share in shares)
        {
            if (!_byIndex.TryAdd(share.X, share) || !_byMember.TryAdd(share.MemberId, share))
            {
                throw new ArgumentException($"Share {share.X} (member {share.MemberId}) repeats an index or a member.", nameof(shares));
            }
        }

        IssuanceId = issuanceId;
        Threshold = threshold;
        WrappedLedgerSecret = wrappedLedgerSecret;
        Shares = [.. shares];
    }

    /// <summary>Random bytes naming this issuance, bound into every share digest.</summary>
    public ReadOnlyMemory<byte> IssuanceId { get; }

    /// <summary>How many shares recover the ledger secret.</summary>
    public int Threshold { get; }

    /// <summary>The ledger secret wrapped under the wrapping key (<see cref="LedgerSecretWrapping"/> layout).</summary>
    public ReadOnlyMemory<byte> WrappedLedgerSecret { get; }

    /// <summary>The issued shares, x = 1..n, in the order of the members given to <see cref="RecoveryShares.Issue"/>.</summary>
    public IReadOnlyList<IssuedShare> Shares { get; }

    /// <summary>The share issued to <paramref name="memberId"/>.</summary>
    /// <exception cref="RecoveryException"><see cref="RecoveryError.UnknownMember"/>.</exception>
    public IssuedShare ShareFor(string memberId) =>
        _byMember.TryGetValue(memberId, out IssuedShare? share)
            ? share
            : throw new RecoveryException(RecoveryError.UnknownMember, $"No share was issued to member {memberId}.");

    /// <summary>Whether <paramref name="shareBytes"/> are exactly the share issued with index <paramref name="x"/> (constant-time on the digest).</summary>
    internal bool Issued(uint x, ReadOnlySpan<byte> shareBytes)
    {
        if (!_byIndex.TryGetValue(x, out IssuedShare? issued))
        {
            return false;
        }

        Span<byte> digest = stackalloc byte[IssuedShare.DigestSize];
        ComputeDigest(IssuanceId.Span, shareBytes, digest);
        return CryptographicOperations.FixedTimeEquals(digest, issued.ShareDigest.Span);
    }

    internal static void ComputeDigest(ReadOnlySpan<byte> issuanceId, ReadOnlySpan<byte> shareBytes, Span<byte> destination)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(DigestLabel);
        hash.AppendData(issuanceId);
        hash.AppendData(shareBytes);
        hash.GetHashAndReset(destination);
    }
}
