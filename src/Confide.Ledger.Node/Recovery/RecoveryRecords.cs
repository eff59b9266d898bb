using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Confide.Ledger.Governance;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Recovery;

namespace Confide.Ledger.Node.Recovery;

/// <summary>
/// The recovery records a service keeps in its public ledger, CCF's: the ledger secret wrapped by a
/// key that is split k-of-n among the recovery members (those with an encryption key), each share
/// encrypted to its member. Re-issued whenever the recovery members or the threshold change, so a
/// service can always be recovered from its ledger files by a threshold of members.
/// </summary>
public static class RecoveryRecords
{
    /// <summary>member id → {"encrypted_share", "x", "share_digest"} (base64).</summary>
    public const string SharesMap = "public:ccf.internal.recovery_shares";

    /// <summary>singleton → {"issuance_id", "threshold", "wrapped_ledger_secret", "recovery_members"}.</summary>
    public const string EncryptedLedgerSecretMap = "public:ccf.internal.encrypted_ledger_secret";

    /// <summary>
    /// Issues fresh shares in <paramref name="tx"/> if the recovery members or the threshold differ
    /// from the last issuance (or <paramref name="force"/>). Returns true when it wrote.
    /// </summary>
    /// <exception cref="RecoveryException">The threshold exceeds the recovery members, or a key is unusable.</exception>
    public static bool Issue(Transaction tx, LedgerSecret ledgerSecret, bool force = false)
    {
        ArgumentNullException.ThrowIfNull(tx);
        ArgumentNullException.ThrowIfNull(ledgerSecret);
        var members = new List<RecoveryMember>();
        tx.GetMap(GovernanceMaps.MemberEncryptionPublicKeys).ForEach((id, key) =>
        {
            members.Add(new RecoveryMember(Encoding.UTF8.GetString(id.Span), Encoding.UTF8.GetString(key.Span)));
            return true;
        });
        members.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        int threshold = tx.GetMap(GovernanceMaps.ServiceConfig).Get(GovernanceMaps.SingletonKey) is { } config
            ? JsonNode.Parse(config)?["recovery_threshold"]?.GetValue<int>() ?? 1
            : 1;
        string fingerprint = Fingerprint(members, threshold);
        MapHandle secretMap = tx.GetMap(EncryptedLedgerSecretMap);
        string? previous = secretMap.Get(GovernanceMaps.SingletonKey) is { } stored ? JsonNode.Parse(stored)?["recovery_members"]?.GetValue<string>() : null;
        if (!force && previous == fingerprint)
        {
            return false;
        }

        MapHandle shares = tx.GetMap(SharesMap);
        var old = new List<byte[]>();
        shares.ForEach((id, _) =>
        {
            old.Add(id.ToArray());
            return true;
        });
        foreach (byte[] id in old)
        {
            shares.Remove(id);
        }

        if (members.Count == 0)
        {
            secretMap.Remove(GovernanceMaps.SingletonKey);
            return true;
        }

        byte[] secret = ledgerSecret.Export();
        RecoveryIssuance issuance;
        try
        {
            issuance = RecoveryShares.Issue(secret, members, Math.Min(threshold, members.Count));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }

        foreach (IssuedShare share in issuance.Shares)
        {
            shares.PutString(share.MemberId, new JsonObject
            {
                ["encrypted_share"] = Convert.ToBase64String(share.EncryptedShare.Span),
                ["x"] = share.X,
                ["share_digest"] = Convert.ToBase64String(share.ShareDigest.Span),
            }.ToJsonString());
        }

        secretMap.Put(GovernanceMaps.SingletonKey, Encoding.UTF8.GetBytes(new JsonObject
        {
            ["issuance_id"] = Convert.ToBase64String(issuance.IssuanceId.Span),
            ["threshold"] = issuance.Threshold,
            ["wrapped_ledger_secret"] = Convert.ToBase64String(issuance.WrappedLedgerSecret.Span),
            ["recovery_members"] = fingerprint,
        }.ToJsonString()));
        return true;
    }

    /// <summary>The last issuance recorded in <paramref name="tx"/>'s state, or null when the service has no recovery members.</summary>
    /// <exception cref="InvalidDataException">The records are malformed.</exception>
    public static RecoveryIssuance? Read(Transaction tx)
    {
        ArgumentNullException.ThrowIfNull(tx);
        if (tx.GetMap(EncryptedLedgerSecretMap).Get(GovernanceMaps.SingletonKey) is not { } stored)
        {
            return null;
        }

        try
        {
            JsonObject record = JsonNode.Parse(stored)!.AsObject();
            var shares = new List<IssuedShare>();
            tx.GetMap(SharesMap).ForEach((id, value) =>
            {
                JsonObject share = JsonNode.Parse(value.Span)!.AsObject();
                shares.Add(new IssuedShare(Encoding.UTF8.GetString(id.Span), share["x"]!.GetValue<uint>(),
                    Convert.FromBase64String((string)share["encrypted_share"]!), Convert.FromBase64String((string)share["share_digest"]!)));
                return true;
            });
            return new RecoveryIssuance(Convert.FromBase64String((string)record["issuance_id"]!), record["threshold"]!.GetValue<int>(),
                Convert.FromBase64String((string)record["wrapped_ledger_secret"]!), shares);
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or System.Text.Json.JsonException or NullReferenceException or ArgumentException)
        {
            throw new InvalidDataException($"The recovery records in the ledger are malformed: {ex.Message}", ex);
        }
    }

    private static string Fingerprint(List<RecoveryMember> members, int threshold) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"{threshold}|{string.Join("|", members.Select(m => $"{m.Id}={Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(m.EncryptionPublicKeyPem)))}"))}")));
}
