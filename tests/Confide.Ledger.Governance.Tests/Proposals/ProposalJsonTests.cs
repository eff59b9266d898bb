using System.Text.Json.Nodes;
using Confide.Ledger.Governance.Proposals;
using Confide.Ledger.Governance.Tests.Support;
using Confide.Ledger.Kv;

namespace Confide.Ledger.Governance.Tests.Proposals;

/// <summary>The JSON shapes: CCF's /gov API (2024-07-01) responses and the proposal info rows in the store.</summary>
public sealed class ProposalJsonTests : IDisposable
{
    private readonly GovernanceService _service = new();

    [Fact]
    public void OpenProposal_HasNoFinalVotes()
    {
        ProposalSummary open = _service.Propose(_service.Members[0], "remove_user", new JsonObject { ["user_id"] = new string('c', 64) });

        JsonObject json = JsonNode.Parse(open.ToJson())!.AsObject();

        Assert.Equal(["proposalId", "proposerId", "proposalState", "ballotCount"], json.Select(property => property.Key));
        Assert.Equal(open.ProposalId, json["proposalId"]?.GetValue<string>());
        Assert.Matches("^[0-9a-f]{64}$", open.ProposalId);
        Assert.Equal(_service.Members[0].Id, json["proposerId"]?.GetValue<string>());
        Assert.Equal("Open", json["proposalState"]?.GetValue<string>());
        Assert.Equal(0, json["ballotCount"]?.GetValue<int>());
    }

    [Fact]
    public void FinishedProposal_HasFinalVotesAndFailures()
    {
        ProposalSummary open = _service.Propose(_service.Members[0], "remove_user", new JsonObject { ["user_id"] = new string('c', 64) });
        _service.Vote(_service.Members[2], open.ProposalId, "export function vote() { throw new Error('no opinion'); }");
        _service.Vote(_service.Members[0], open.ProposalId, inFavour: true);
        ProposalSummary accepted = _service.Vote(_service.Members[1], open.ProposalId, inFavour: true);

        JsonObject json = JsonNode.Parse(accepted.ToJson())!.AsObject();

        Assert.Equal("Accepted", json["proposalState"]?.GetValue<string>());
        Assert.Equal(3, json["ballotCount"]?.GetValue<int>());
        Assert.True(json["finalVotes"]?[_service.Members[0].Id]?.GetValue<bool>());
        Assert.Equal("Error: no opinion", json["voteFailures"]?[_service.Members[2].Id]?["reason"]?.GetValue<string>());
        Assert.Null(json["failure"]);

        JsonObject row = JsonNode.Parse(_service.Read(tx => tx.GetMap(GovernanceMaps.ProposalsInfo).GetString(open.ProposalId))!)!.AsObject();
        Assert.Equal(["proposer_id", "state", "ballots", "final_votes", "vote_failures"], row.Select(property => property.Key));
        Assert.Equal("export function vote(proposal, proposerId) { return true; }", row["ballots"]?[_service.Members[0].Id]?.GetValue<string>());
    }

    [Fact]
    public void List_IsAValueArray()
    {
        ProposalSummary open = _service.Propose(_service.Members[0], "remove_user", new JsonObject { ["user_id"] = new string('c', 64) });

        JsonObject json = JsonNode.Parse(_service.Execute(engine => engine.List()).ToJson())!.AsObject();

        Assert.Equal(open.ProposalId, json["value"]?[0]?["proposalId"]?.GetValue<string>());
    }

    public void Dispose() => _service.Dispose();
}
