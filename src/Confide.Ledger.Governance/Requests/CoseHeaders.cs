using System.Security.Cryptography.Cose;

namespace Confide.Ledger.Governance.Requests;

/// <summary>The protected header labels of CCF's signed governance requests.</summary>
internal static class CoseHeaders
{
    public static readonly CoseHeaderLabel MessageType = new("ccf.gov.msg.type");
    public static readonly CoseHeaderLabel CreatedAt = new("ccf.gov.msg.created_at");
    public static readonly CoseHeaderLabel ProposalId = new("ccf.gov.msg.proposal_id");

    // COSE algorithm ids (RFC 9053): ECDSA with SHA-256, SHA-384, SHA-512.
    public const int ES256 = -7;
    public const int ES384 = -35;
    public const int ES512 = -36;
}
