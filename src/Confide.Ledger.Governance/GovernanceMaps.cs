using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Confide.Ledger.Governance;

/// <summary>
/// The governance maps, with CCF's names. All are public: integrity-protected and readable by anyone
/// with the ledger. Keys are UTF-8 strings (ids in lowercase hex) unless said otherwise; "JSON" values
/// are UTF-8 JSON, as CCF's JSON-serialised service maps.
/// </summary>
public static class GovernanceMaps
{
    /// <summary>Member id → certificate PEM (raw UTF-8).</summary>
    public const string MemberCertificates = "public:ccf.gov.members.certs";

    /// <summary>Member id → JSON <c>{"status": "Accepted"|"Active", "member_data"?, "recovery_role"?}</c>.</summary>
    public const string MemberInfo = "public:ccf.gov.members.info";

    /// <summary>Member id → RSA encryption public key PEM (raw UTF-8); present only for recovery members.</summary>
    public const string MemberEncryptionPublicKeys = "public:ccf.gov.members.encryption_public_keys";

    /// <summary>Member id → JSON <c>{"state_digest", "cose_sign1_req"?}</c>: the digest a new member must acknowledge.</summary>
    public const string MemberAcks = "public:ccf.gov.members.acks";

    /// <summary>User id → certificate PEM (raw UTF-8).</summary>
    public const string UserCertificates = "public:ccf.gov.users.certs";

    /// <summary>User id → JSON <c>{"user_data"}</c>.</summary>
    public const string UserInfo = "public:ccf.gov.users.info";

    /// <summary>Node id → JSON <c>{"cert", "rpc_address", "node_to_node_address", "status"}</c>.</summary>
    public const string Nodes = "public:ccf.gov.nodes.info";

    /// <summary>Code id (hex measurement) → JSON string <c>"AllowedToJoin"</c>.</summary>
    public const string NodeCodeIds = "public:ccf.gov.nodes.code_ids";

    /// <summary>Singleton → JSON <c>{"status", "cert", "created_txid"}</c>.</summary>
    public const string ServiceInfo = "public:ccf.gov.service.info";

    /// <summary>Singleton → JSON <c>{"recovery_threshold", "recent_cose_proposals_window_size"?, ...}</c>.</summary>
    public const string ServiceConfig = "public:ccf.gov.service.config";

    /// <summary>Singleton → the constitution's JavaScript as a JSON string (CCF's serialisation of a string value).</summary>
    public const string Constitution = "public:ccf.gov.constitution";

    /// <summary>Proposal id → the proposal body as submitted (raw bytes).</summary>
    public const string Proposals = "public:ccf.gov.proposals";

    /// <summary>Proposal id → JSON <c>{"proposer_id", "state", "ballots", "final_votes"?, "vote_failures"?, "failure"?}</c>.</summary>
    public const string ProposalsInfo = "public:ccf.gov.proposals_info";

    /// <summary>
    /// <c>"{created_at, 10 digits}:{hex SHA-256 of the signature}"</c> → proposal id: the recent signed
    /// proposals, so that none can be submitted twice.
    /// </summary>
    public const string CoseRecentProposals = "public:ccf.gov.cose_recent_proposals";

    /// <summary>Member id → the member's last signed governance request (raw COSE_Sign1).</summary>
    public const string CoseHistory = "public:ccf.gov.cose_history";

    /// <summary>The latest ledger signature (written by the ledger layer); its <c>root</c> is the state digest new members acknowledge.</summary>
    public const string Signatures = "public:ccf.internal.signatures";

    /// <summary>JWT issuer (https URL) → <c>{"key_filter"}</c>.</summary>
    public const string JwtIssuers = "public:ccf.gov.jwt.issuers";

    /// <summary>JWT issuer → its signing keys as a JWKS <c>{"keys": [...]}</c>.</summary>
    public const string JwtPublicSigningKeys = "public:ccf.gov.jwt.public_signing_keys";

    /// <summary>The key of single-row maps (CCF's <c>ServiceValue</c>): eight zero bytes.</summary>
    public static ReadOnlySpan<byte> SingletonKey => [0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>A member's or user's id as CCF makes it: lowercase hex SHA-256 of the certificate's DER.</summary>
    public static string IdOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }
}
