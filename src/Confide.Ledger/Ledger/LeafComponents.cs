using System.Text;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Ledger;

/// <summary>
/// What a Merkle leaf is made of (a receipt's <c>leaf_components</c>):
/// leaf = SHA-256(write_set_digest ‖ SHA-256(utf8(commit_evidence)) ‖ claims_digest).
/// </summary>
/// <param name="WriteSetDigest">SHA-256 of the whole serialised entry, its 8-byte header included.</param>
/// <param name="CommitEvidence">The <c>ce:view.seqno:hex</c> string.</param>
/// <param name="ClaimsDigest">The application's claims digest; all-zero when unset.</param>
public sealed record LeafComponents(Sha256Hash WriteSetDigest, string CommitEvidence, Sha256Hash ClaimsDigest)
{
    /// <summary>SHA-256 of the UTF-8 commit evidence.</summary>
    public Sha256Hash CommitEvidenceDigest => Sha256Hash.Compute(Encoding.UTF8.GetBytes(CommitEvidence));

    /// <summary>The leaf these components hash to.</summary>
    public Sha256Hash ComputeLeaf() => ComputeLeaf(WriteSetDigest, CommitEvidenceDigest, ClaimsDigest);

    /// <summary>SHA-256(write-set digest ‖ commit-evidence digest ‖ claims digest).</summary>
    public static Sha256Hash ComputeLeaf(Sha256Hash writeSetDigest, Sha256Hash commitEvidenceDigest, Sha256Hash claimsDigest)
    {
        Span<byte> concatenated = stackalloc byte[3 * Sha256Hash.Size];
        writeSetDigest.CopyTo(concatenated);
        commitEvidenceDigest.CopyTo(concatenated[Sha256Hash.Size..]);
        claimsDigest.CopyTo(concatenated[(2 * Sha256Hash.Size)..]);
        return Sha256Hash.Compute(concatenated);
    }
}
