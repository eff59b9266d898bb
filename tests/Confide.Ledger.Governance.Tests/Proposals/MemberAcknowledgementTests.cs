using System.Text.Json.Nodes;
using Confide.Ledger.Governance.Proposals;
using Confide.Ledger.Governance.Requests;
using Confide.Ledger.Governance.Tests.Support;
using Confide.Ledger.Kv;

namespace Confide.Ledger.Governance.Tests.Proposals;

/// <summary>A member added by proposal is Accepted; it acknowledges a state digest to become Active and only then governs.</summary>
public sealed class MemberAcknowledgementTests : IDisposable
{
    private const string Root = "0f3a5c7e9b1d2f4a6c8e0b2d4f6a8c0e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a";
    private readonly GovernanceService _service = new();

    [Fact]
    public void NewMember_MustAcknowledgeBeforeVoting_ThenCountsTowardsTheMajority()
    {
        TestMember newcomer = _service.Own(TestMember.Create("newcomer"));
        _service.Write(tx => tx.GetMap(GovernanceMaps.Signatures).Put(GovernanceMaps.SingletonKey, System.Text.Encoding.UTF8.GetBytes($$"""{"root":"{{Root}}","seqno":4,"view":2}""")));

        ProposalSummary added = Accept(_service.Propose(_service.Members[0], "set_member", new JsonObject { ["cert"] = newcomer.CertificatePem, ["member_data"] = new JsonObject { ["org"] = "contoso" } }));
        Assert.Equal(ProposalState.Accepted, added.State);
        Assert.Equal(MemberStatus.Accepted, StatusOf(newcomer));
        Assert.Equal(new StateDigest(newcomer.Id, Root), _service.Execute(engine => engine.GetStateDigest(newcomer.Id)));

        ProposalSummary next = _service.Propose(_service.Members[0], "remove_user", new JsonObject { ["user_id"] = new string('c', 64) });
        GovernanceException inactive = Assert.Throws<GovernanceException>(() => _service.Vote(newcomer, next.ProposalId, inFavour: true));
        Assert.Equal(GovernanceErrorCode.MemberNotActive, inactive.Code);

        GovernanceException mismatch = Assert.Throws<GovernanceException>(() => Ack(newcomer, new string('f', 64)));
        Assert.Equal(GovernanceErrorCode.StateDigestMismatch, mismatch.Code);
        Assert.Equal(MemberStatus.Active, Ack(newcomer, Root));
        Assert.Equal(MemberStatus.Active, StatusOf(newcomer));
        Assert.Equal("contoso", MemberInfo(newcomer)["member_data"]?["org"]?.GetValue<string>());

        // Four active members: two votes are no longer a majority, three are.
        _service.Vote(newcomer, next.ProposalId, inFavour: true);
        Assert.Equal(ProposalState.Open, _service.Vote(_service.Members[0], next.ProposalId, inFavour: true).State);
        Assert.Equal(ProposalState.Accepted, _service.Vote(_service.Members[1], next.ProposalId, inFavour: true).State);
    }

    [Fact]
    public void UpdatedStateDigest_IsTheOneToAcknowledge()
    {
        TestMember newcomer = _service.Own(TestMember.Create("newcomer"));
        _service.Write(tx => GovernanceGenesis.AddMember(tx, newcomer.Certificate));

        GovernanceException none = Assert.Throws<GovernanceException>(() => Ack(newcomer, ""));
        Assert.Equal(GovernanceErrorCode.StateDigestNotFound, none.Code);

        StateDigest digest = _service.Execute(engine => engine.UpdateStateDigest(GovernanceRequest.Parse(newcomer.Signer.SignStateDigestUpdate(_service.Now)), Root));
        Assert.Equal("""{"memberId":"__ID__","stateDigest":"__ROOT__"}""".Replace("__ID__", newcomer.Id, StringComparison.Ordinal).Replace("__ROOT__", Root, StringComparison.Ordinal), System.Text.Json.JsonSerializer.Serialize(digest));

        Assert.Equal(MemberStatus.Active, Ack(newcomer, Root));
        Assert.NotNull(JsonNode.Parse(_service.Read(tx => tx.GetMap(GovernanceMaps.MemberAcks).GetString(newcomer.Id))!)!["cose_sign1_req"]);
    }

    [Fact]
    public void RemoveMember_RemovesEverythingAboutIt_ButNotTheLastActiveMember()
    {
        TestMember leaving = _service.Members[2];

        Accept(_service.Propose(_service.Members[0], "remove_member", new JsonObject { ["member_id"] = leaving.Id }));

        Assert.Null(_service.Read(tx => tx.GetMap(GovernanceMaps.MemberCertificates).GetString(leaving.Id)));
        Assert.Null(_service.Read(tx => tx.GetMap(GovernanceMaps.MemberInfo).GetString(leaving.Id)));
        GovernanceException unknown = Assert.Throws<GovernanceException>(() => _service.Propose(leaving, "remove_user", new JsonObject { ["user_id"] = new string('c', 64) }));
        Assert.Equal(GovernanceErrorCode.UnknownMember, unknown.Code);
    }

    public void Dispose() => _service.Dispose();

    private ProposalSummary Accept(ProposalSummary proposal)
    {
        _service.Vote(_service.Members[0], proposal.ProposalId, inFavour: true);
        return _service.Vote(_service.Members[1], proposal.ProposalId, inFavour: true);
    }

    private MemberStatus Ack(TestMember member, string digest) =>
        _service.Execute(engine => engine.Acknowledge(GovernanceRequest.Parse(member.Signer.SignAck(digest, _service.Now))));

    private JsonNode MemberInfo(TestMember member) => JsonNode.Parse(_service.Read(tx => tx.GetMap(GovernanceMaps.MemberInfo).GetString(member.Id))!)!;

    private MemberStatus StatusOf(TestMember member) => Enum.Parse<MemberStatus>(MemberInfo(member)["status"]!.GetValue<string>());
}
