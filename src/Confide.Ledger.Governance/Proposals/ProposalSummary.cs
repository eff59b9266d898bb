using System.Text.Json;
using System.Text.Json.Serialization;

namespace Confide.Ledger.Governance.Proposals;

/// <summary>
/// A proposal as CCF's /gov API (2024-07-01) returns it: <c>{"proposalId", "proposerId",
/// "proposalState", "ballotCount", "finalVotes"?, "voteFailures"?, "failure"?}</c>.
/// </summary>
public sealed record ProposalSummary
{
    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The proposal id.</summary>
    [JsonPropertyName("proposalId")]
    public required string ProposalId { get; init; }

    /// <summary>The proposer's member id.</summary>
    [JsonPropertyName("proposerId")]
    public required string ProposerId { get; init; }

    /// <summary>Its state.</summary>
    [JsonPropertyName("proposalState")]
    public required ProposalState State { get; init; }

    /// <summary>How many ballots were submitted.</summary>
    [JsonPropertyName("ballotCount")]
    public int BallotCount { get; init; }

    /// <summary>The votes counted, once it left Open.</summary>
    [JsonPropertyName("finalVotes")]
    public IReadOnlyDictionary<string, bool>? FinalVotes { get; init; }

    /// <summary>The ballots that failed to run, once it left Open.</summary>
    [JsonPropertyName("voteFailures")]
    public IReadOnlyDictionary<string, Failure>? VoteFailures { get; init; }

    /// <summary>Why resolve or apply failed.</summary>
    [JsonPropertyName("failure")]
    public Failure? Failure { get; init; }

    /// <summary>The summary of the stored <paramref name="info"/> of <paramref name="proposalId"/>.</summary>
    public static ProposalSummary From(string proposalId, ProposalInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return new ProposalSummary
        {
            ProposalId = proposalId,
            ProposerId = info.ProposerId,
            State = info.State,
            BallotCount = info.Ballots.Count,
            FinalVotes = info.FinalVotes is null ? null : new SortedDictionary<string, bool>(info.FinalVotes, StringComparer.Ordinal),
            VoteFailures = info.VoteFailures is null ? null : new SortedDictionary<string, Failure>(info.VoteFailures, StringComparer.Ordinal),
            Failure = info.Failure,
        };
    }

    /// <summary>The response body.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);
}

/// <summary>The proposals as CCF's <c>GET /gov/members/proposals</c> returns them: <c>{"value": [...]}</c>.</summary>
public sealed record ProposalList([property: JsonPropertyName("value")] IReadOnlyList<ProposalSummary> Value)
{
    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The response body.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);
}

/// <summary>A member's state digest as CCF's <c>/gov/members/state-digests/{memberId}</c> returns it: <c>{"memberId", "stateDigest"}</c>.</summary>
public sealed record StateDigest(
    [property: JsonPropertyName("memberId")] string MemberId,
    [property: JsonPropertyName("stateDigest")] string Digest);
