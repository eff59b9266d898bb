using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Confide.Ledger.Kv;

namespace Confide.Ledger.Governance.Requests;

/// <summary>
/// Keeps a signed proposal from being submitted twice, as CCF does: <c>created_at</c> must be within
/// <see cref="Tolerance"/> of the node's clock, and the recent proposals are remembered in
/// <see cref="GovernanceMaps.CoseRecentProposals"/> under <c>"{created_at:D10}:{hex SHA-256 of the
/// signature}"</c>. Only the newest window (service config <c>recent_cose_proposals_window_size</c>,
/// default 100) is kept; a proposal older than the median kept is refused, since it might be a
/// replay of one already forgotten.
/// </summary>
public sealed class ProposalReplayGuard
{
    /// <summary>CCF's default <c>recent_cose_proposals_window_size</c>.</summary>
    public const int DefaultWindowSize = 100;

    /// <summary>A guard accepting <c>created_at</c> within <paramref name="tolerance"/> of the clock.</summary>
    public ProposalReplayGuard(TimeSpan tolerance)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tolerance, TimeSpan.Zero);
        Tolerance = tolerance;
    }

    /// <summary>How far <c>created_at</c> may be from the node's clock, either way.</summary>
    public TimeSpan Tolerance { get; }

    /// <summary>Refuses a request whose <c>created_at</c> is further than <see cref="Tolerance"/> from <paramref name="now"/>.</summary>
    /// <exception cref="GovernanceException"><see cref="GovernanceErrorCode.StaleRequest"/>.</exception>
    public void CheckCreatedAt(GovernanceRequest request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        long skew = request.CreatedAt - now.ToUnixTimeSeconds();
        if (Math.Abs(skew) > (long)Tolerance.TotalSeconds)
        {
            string direction = skew < 0 ? "before" : "after";
            throw new GovernanceException(GovernanceErrorCode.StaleRequest, $"The request was created at {request.CreatedAt}, {Math.Abs(skew)} s {direction} the node's time {now.ToUnixTimeSeconds()}; at most {(long)Tolerance.TotalSeconds} s is accepted.");
        }
    }

    /// <summary>
    /// Checks <paramref name="request"/> against the clock and the recent proposals, writing nothing.
    /// Returns the key under which <see cref="Record"/> remembers it.
    /// </summary>
    /// <exception cref="GovernanceException"><see cref="GovernanceErrorCode.StaleRequest"/> or <see cref="GovernanceErrorCode.Replayed"/>.</exception>
    public string Check(Transaction transaction, GovernanceRequest request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        CheckCreatedAt(request, now);

        string key = KeyOf(request);
        MapHandle recent = transaction.GetMap(GovernanceMaps.CoseRecentProposals);
        if (recent.GetString(key) is string existing)
        {
            throw new GovernanceException(GovernanceErrorCode.Replayed, $"Proposal submission replay, already exists as proposal {existing}.");
        }

        List<string> keys = RecentKeys(recent);
        if (keys.Count > 0)
        {
            string median = CreatedAtOf(keys[keys.Count / 2]);
            if (string.CompareOrdinal(CreatedAtOf(key), median) < 0)
            {
                throw new GovernanceException(GovernanceErrorCode.StaleRequest, $"Proposal created too long ago, created_at must be greater than {median}.");
            }
        }

        return key;
    }

    /// <summary>Remembers the proposal checked under <paramref name="key"/> and forgets the oldest beyond the window.</summary>
    public void Record(Transaction transaction, string key, string proposalId)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        MapHandle recent = transaction.GetMap(GovernanceMaps.CoseRecentProposals);
        List<string> keys = RecentKeys(recent);
        recent.PutString(key, proposalId);

        int keep = WindowSize(transaction) - 1; // room for the one just added
        for (int i = 0; i < keys.Count - keep; i++)
        {
            recent.Remove(keys[i]);
        }
    }

    private static string KeyOf(GovernanceRequest request) =>
        $"{request.CreatedAt.ToString("D10", CultureInfo.InvariantCulture)}:{Convert.ToHexStringLower(SHA256.HashData(request.Signature.Span))}";

    private static string CreatedAtOf(string key) => key[..key.IndexOf(':', StringComparison.Ordinal)];

    private static List<string> RecentKeys(MapHandle recent)
    {
        var keys = new List<string>();
        recent.ForEach((key, _) =>
        {
            keys.Add(System.Text.Encoding.UTF8.GetString(key.Span));
            return true;
        });
        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    private static int WindowSize(Transaction transaction)
    {
        byte[]? config = transaction.GetMap(GovernanceMaps.ServiceConfig).Get(GovernanceMaps.SingletonKey);
        if (config is not null
            && JsonNode.Parse(config)?["recent_cose_proposals_window_size"] is JsonValue value
            && value.TryGetValue(out int size)
            && size > 0)
        {
            return size;
        }

        return DefaultWindowSize;
    }
}
