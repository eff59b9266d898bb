using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.Ledger.Governance.Constitution;
using Confide.Ledger.Kv;

namespace Confide.Ledger.Governance;

/// <summary>
/// The governance rows a service starts with (what CCF's genesis transaction writes): initial
/// members, users, the constitution, the service's info and configuration. Everything after that
/// changes through proposals.
/// </summary>
public static class GovernanceGenesis
{
    /// <summary>
    /// Adds a member: certificate, info <c>{status, member_data?}</c>, encryption key when it is a
    /// recovery member, and the state digest it must acknowledge to become Active (when
    /// <paramref name="status"/> is Accepted).
    /// </summary>
    /// <returns>The member id.</returns>
    public static string AddMember(Transaction transaction, X509Certificate2 certificate, MemberStatus status = MemberStatus.Accepted, string? encryptionPublicKeyPem = null, JsonNode? memberData = null, string stateDigest = "")
    {
        ArgumentNullException.ThrowIfNull(transaction);
        string id = GovernanceMaps.IdOf(certificate);
        transaction.GetMap(GovernanceMaps.MemberCertificates).PutString(id, certificate.ExportCertificatePem());
        if (encryptionPublicKeyPem is not null)
        {
            transaction.GetMap(GovernanceMaps.MemberEncryptionPublicKeys).PutString(id, encryptionPublicKeyPem);
        }

        var info = new JsonObject { ["status"] = status.ToString() };
        if (memberData is not null)
        {
            info["member_data"] = memberData.DeepClone();
        }

        transaction.GetMap(GovernanceMaps.MemberInfo).PutString(id, info.ToJsonString());
        transaction.GetMap(GovernanceMaps.MemberAcks).PutString(id, new JsonObject { ["state_digest"] = stateDigest }.ToJsonString());
        return id;
    }

    /// <summary>Adds a user: certificate and, if given, info <c>{user_data}</c>.</summary>
    /// <returns>The user id.</returns>
    public static string AddUser(Transaction transaction, X509Certificate2 certificate, JsonNode? userData = null)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        string id = GovernanceMaps.IdOf(certificate);
        transaction.GetMap(GovernanceMaps.UserCertificates).PutString(id, certificate.ExportCertificatePem());
        if (userData is not null)
        {
            transaction.GetMap(GovernanceMaps.UserInfo).PutString(id, new JsonObject { ["user_data"] = userData.DeepClone() }.ToJsonString());
        }

        return id;
    }

    /// <summary>Sets the constitution (<see cref="DefaultConstitution.Text"/> unless another is given).</summary>
    public static void SetConstitution(Transaction transaction, string? constitution = null) =>
        ConstitutionStore.Write(transaction, constitution ?? DefaultConstitution.Text);

    /// <summary>Sets the service info <c>{status, cert, created_txid}</c> (status "Opening" until governance opens it).</summary>
    public static void SetServiceInfo(Transaction transaction, string status, string certificatePem, string? createdTxId = null)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var info = new JsonObject { ["status"] = status, ["cert"] = certificatePem };
        if (createdTxId is not null)
        {
            info["created_txid"] = createdTxId;
        }

        transaction.GetMap(GovernanceMaps.ServiceInfo).Put(GovernanceMaps.SingletonKey, JsonSerializer.SerializeToUtf8Bytes(info));
    }

    /// <summary>Sets the service configuration <c>{recovery_threshold, recent_cose_proposals_window_size}</c>.</summary>
    public static void SetServiceConfig(Transaction transaction, int recoveryThreshold, int recentProposalsWindowSize = Requests.ProposalReplayGuard.DefaultWindowSize)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var config = new JsonObject { ["recovery_threshold"] = recoveryThreshold, ["recent_cose_proposals_window_size"] = recentProposalsWindowSize };
        transaction.GetMap(GovernanceMaps.ServiceConfig).Put(GovernanceMaps.SingletonKey, JsonSerializer.SerializeToUtf8Bytes(config));
    }
}
