namespace Confide.Ledger.Node.Governance;

/// <summary>The governance maps, CCF's names; all public (integrity-protected, readable by anyone with the ledger).</summary>
public static class GovernanceMaps
{
    /// <summary>member id (hex SHA-256 of the certificate DER) → certificate PEM.</summary>
    public const string MemberCertificates = "public:ccf.gov.members.certs";

    /// <summary>user id → certificate PEM.</summary>
    public const string UserCertificates = "public:ccf.gov.users.certs";

    /// <summary>node id → {"cert", "rpc_address", "node_to_node_address", "status"} (JSON).</summary>
    public const string Nodes = "public:ccf.gov.nodes.info";

    /// <summary>code id (hex MRENCLAVE) → "AllowedToJoin".</summary>
    public const string NodeCodeIds = "public:ccf.gov.nodes.code_ids";

    /// <summary>singleton → {"status", "cert", "created_txid"} (JSON).</summary>
    public const string ServiceInfo = "public:ccf.gov.service.info";

    /// <summary>The key of singleton rows.</summary>
    public static ReadOnlySpan<byte> SingletonKey => [0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>An id as CCF makes it: hex SHA-256 of the certificate's DER.</summary>
    public static string IdOf(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(certificate.RawData));
}
