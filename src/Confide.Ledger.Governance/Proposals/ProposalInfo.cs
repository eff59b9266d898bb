using System.Text.Json;
using System.Text.Json.Serialization;

namespace Confide.Ledger.Governance.Proposals;

/// <summary>Why a ballot, <c>resolve</c> or <c>apply</c> failed: <c>{reason, trace}</c>.</summary>
public sealed record Failure(
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("trace"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Trace);

/// <summary>
/// A proposal's row in <see cref="GovernanceMaps.ProposalsInfo"/>, CCF's <c>ProposalInfo</c>:
/// <c>{"proposer_id", "state", "ballots": {member id: ballot script}, "final_votes"?: {member id:
/// bool}, "vote_failures"?: {member id: failure}, "failure"?: failure}</c>. The final votes and
/// failures are recorded when the proposal leaves Open.
/// </summary>
public sealed class ProposalInfo
{
    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The member who proposed it.</summary>
    [JsonPropertyName("proposer_id")]
    public required string ProposerId { get; init; }

    /// <summary>Its state.</summary>
    [JsonPropertyName("state")]
    public ProposalState State { get; set; }

    /// <summary>Each voter's ballot script.</summary>
    [JsonPropertyName("ballots")]
    public SortedDictionary<string, string> Ballots { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The votes counted when it was resolved (ballots that failed are absent).</summary>
    [JsonPropertyName("final_votes")]
    public SortedDictionary<string, bool>? FinalVotes { get; set; }

    /// <summary>The ballots that failed to run when it was resolved.</summary>
    [JsonPropertyName("vote_failures")]
    public SortedDictionary<string, Failure>? VoteFailures { get; set; }

    /// <summary>Why resolve or apply failed.</summary>
    [JsonPropertyName("failure")]
    public Failure? Failure { get; set; }

    /// <summary>The row's bytes.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Options);

    /// <summary>Reads a row.</summary>
    /// <exception cref="JsonException">The row is not a proposal info.</exception>
    public static ProposalInfo FromJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<ProposalInfo>(json, Options) ?? throw new JsonException("A proposal info row holds null.");
}
