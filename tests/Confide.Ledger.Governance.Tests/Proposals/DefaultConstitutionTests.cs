using System.Text.Json.Nodes;
using Confide.Ledger.Governance.Constitution;
using Confide.Ledger.Governance.Proposals;
using Confide.Ledger.Governance.Requests;
using Confide.Ledger.Governance.Tests.Support;
using Confide.Ledger.Kv;

namespace Confide.Ledger.Governance.Tests.Proposals;

/// <summary>Proposals under the default constitution with three active members: a majority is two.</summary>
public sealed class DefaultConstitutionTests : IDisposable
{
    private readonly GovernanceService _service = new();
    private readonly TestMember _user;

    public DefaultConstitutionTests()
    {
        _user = _service.Own(TestMember.Create("user"));
    }

    private TestMember M0 => _service.Members[0];

    private TestMember M1 => _service.Members[1];

    private TestMember M2 => _service.Members[2];

    [Fact]
    public void SetUser_IsAccepted_AfterTwoVotes_NotAfterOne()
    {
        ProposalSummary created = ProposeSetUser();
        Assert.Equal(ProposalState.Open, created.State);

        ProposalSummary afterOne = _service.Vote(M0, created.ProposalId, inFavour: true);
        Assert.Equal(ProposalState.Open, afterOne.State);
        Assert.Equal(1, afterOne.BallotCount);
        Assert.Null(UserCertificate());

        ProposalSummary afterTwo = _service.Vote(M1, created.ProposalId, inFavour: true);
        Assert.Equal(ProposalState.Accepted, afterTwo.State);
        Assert.Equal(new Dictionary<string, bool> { [M0.Id] = true, [M1.Id] = true }, afterTwo.FinalVotes);
        Assert.Equal(_user.CertificatePem, UserCertificate());
        Assert.Equal("""{"user_data":{"role":"reader"}}""", _service.Read(tx => tx.GetMap(GovernanceMaps.UserInfo).GetString(_user.Id)));
    }

    [Fact]
    public void Proposal_IsRejected_WhenAMajorityVotesAgainst()
    {
        ProposalSummary created = ProposeSetUser();

        _service.Vote(M0, created.ProposalId, inFavour: true);
        _service.Vote(M1, created.ProposalId, inFavour: false);
        ProposalSummary rejected = _service.Vote(M2, created.ProposalId, inFavour: false);

        Assert.Equal(ProposalState.Rejected, rejected.State);
        Assert.Equal(new Dictionary<string, bool> { [M0.Id] = true, [M1.Id] = false, [M2.Id] = false }, rejected.FinalVotes);
        Assert.Null(UserCertificate());
        AssertRefused(GovernanceErrorCode.ProposalNotOpen, () => _service.Vote(M0, created.ProposalId, inFavour: true));
    }

    [Fact]
    public void Ballots_CanReadTheProposal()
    {
        ProposalSummary created = ProposeSetUser();
        const string onlyUsers = """
            export function vote(proposal, proposerId) {
              return JSON.parse(proposal).actions.every((action) => action.name === "set_user");
            }
            """;

        _service.Vote(M1, created.ProposalId, onlyUsers);
        ProposalSummary accepted = _service.Vote(M2, created.ProposalId, onlyUsers);

        Assert.Equal(ProposalState.Accepted, accepted.State);
    }

    [Fact]
    public void SameBallotTwice_ChangesNothing_ADifferentOneIsRefused()
    {
        ProposalSummary created = ProposeSetUser();
        _service.Vote(M0, created.ProposalId, inFavour: false);

        Assert.Equal(1, _service.Vote(M0, created.ProposalId, inFavour: false).BallotCount);
        AssertRefused(GovernanceErrorCode.VoteAlreadyExists, () => _service.Vote(M0, created.ProposalId, inFavour: true));
    }

    [Fact]
    public void BallotOnAnUnknownProposal_IsRefused()
    {
        AssertRefused(GovernanceErrorCode.ProposalNotFound, () => _service.Vote(M0, new string('0', 64), inFavour: true));
    }

    [Fact]
    public void Proposer_CanWithdraw_NobodyElse()
    {
        ProposalSummary created = ProposeSetUser();
        _service.Vote(M0, created.ProposalId, inFavour: true);

        GovernanceException notProposer = AssertRefused(GovernanceErrorCode.NotProposer, () => Withdraw(M1, created.ProposalId));
        Assert.Contains($"can only be withdrawn by proposer {M0.Id}", notProposer.Message, StringComparison.Ordinal);

        ProposalSummary? withdrawn = Withdraw(M0, created.ProposalId);
        Assert.Equal(ProposalState.Withdrawn, withdrawn?.State);
        Assert.Equal(ProposalState.Withdrawn, Withdraw(M0, created.ProposalId)?.State); // again: no change
        AssertRefused(GovernanceErrorCode.ProposalNotOpen, () => _service.Vote(M1, created.ProposalId, inFavour: true));
        Assert.Null(UserCertificate());
        Assert.Null(Withdraw(M0, new string('0', 64))); // unknown: nothing to do, as CCF's 204
    }

    [Fact]
    public void AcceptedProposal_CannotBeWithdrawn()
    {
        ProposalSummary created = ProposeSetUser();
        _service.Vote(M0, created.ProposalId, inFavour: true);
        _service.Vote(M1, created.ProposalId, inFavour: true);

        AssertRefused(GovernanceErrorCode.ProposalNotOpen, () => Withdraw(M0, created.ProposalId));
    }

    [Fact]
    public void InvalidActions_AreRefusedByValidate_WithTheDescription()
    {
        GovernanceException unknown = AssertRefused(GovernanceErrorCode.ProposalFailedToValidate, () => _service.Propose(M0, "make_me_admin", new JsonObject()));
        Assert.Equal("Proposal failed to validate: make_me_admin: no such action", unknown.Message);

        GovernanceException badCertificate = AssertRefused(GovernanceErrorCode.ProposalFailedToValidate, () => _service.Propose(M0, "set_user", new JsonObject { ["cert"] = "not a certificate" }));
        Assert.Equal("Proposal failed to validate: set_user at position 0 failed validation: cert must be an X.509 certificate (bundle) in PEM format", badCertificate.Message);

        GovernanceException badThreshold = AssertRefused(GovernanceErrorCode.ProposalFailedToValidate, () => _service.Propose(M0, "set_recovery_threshold", new JsonObject { ["recovery_threshold"] = 300 }));
        Assert.Contains("recovery_threshold must be between 1 and 254, not 300", badThreshold.Message, StringComparison.Ordinal);

        GovernanceException notJson = AssertRefused(GovernanceErrorCode.ProposalFailedToValidate, () => _service.Propose(M0, "{actions"));
        Assert.Contains("The proposal is not JSON", notJson.Message, StringComparison.Ordinal);

        Assert.Empty(_service.Execute(engine => engine.List()).Value);
    }

    [Fact]
    public void ApplyFailure_LeavesTheProposalFailed_AndChangesNothing()
    {
        // The service is open with no recovery members, so a threshold of 2 cannot be met.
        string configBefore = ServiceConfig();
        ProposalSummary created = _service.Propose(M0, "set_recovery_threshold", new JsonObject { ["recovery_threshold"] = 2 });

        _service.Vote(M0, created.ProposalId, inFavour: true);
        ProposalSummary failed = _service.Vote(M1, created.ProposalId, inFavour: true);

        Assert.Equal(ProposalState.Failed, failed.State);
        Assert.Equal("Failed to apply(): Error: Cannot set the recovery threshold to 2: there are only 0 active recovery members", failed.Failure?.Reason);
        Assert.NotNull(failed.Failure?.Trace);
        Assert.Equal(configBefore, ServiceConfig());
        Assert.Equal(ProposalState.Failed, _service.Execute(engine => engine.Get(created.ProposalId)).State);
    }

    [Fact]
    public void SetConstitution_ReplacesIt_AndDropsOtherOpenProposals()
    {
        ProposalSummary pending = ProposeSetUser();
        _service.Vote(M2, pending.ProposalId, inFavour: true);

        // A constitution under which any single vote in favour carries a proposal.
        string permissive = DefaultConstitution.Text.Replace("if (votesFor > majority)", "if (votesFor > 0)", StringComparison.Ordinal);
        Assert.NotEqual(DefaultConstitution.Text, permissive);
        ProposalSummary change = _service.Propose(M0, "set_constitution", new JsonObject { ["constitution"] = permissive });
        _service.Vote(M0, change.ProposalId, inFavour: true);
        Assert.Equal(ProposalState.Accepted, _service.Vote(M1, change.ProposalId, inFavour: true).State);

        Assert.Equal(permissive, _service.Read(ConstitutionStore.Read));
        Assert.Equal(ProposalState.Dropped, _service.Execute(engine => engine.Get(pending.ProposalId)).State);
        AssertRefused(GovernanceErrorCode.ProposalNotOpen, () => _service.Vote(M0, pending.ProposalId, inFavour: true));

        // The new rules are in force; and finishing a proposal clears the finished ones away.
        ProposalSummary next = ProposeSetUser();
        Assert.Equal(ProposalState.Accepted, _service.Vote(M2, next.ProposalId, inFavour: true).State);
        Assert.Equal([next.ProposalId], _service.Execute(engine => engine.List()).Value.Select(p => p.ProposalId));
    }

    [Fact]
    public void TransitionNodeToTrusted_MakesAPendingNodeTrusted()
    {
        string nodeId = new('a', 64);
        _service.Write(tx => tx.GetMap(GovernanceMaps.Nodes).PutString(nodeId, new JsonObject
        {
            ["cert"] = _service.ServiceCertificatePem,
            ["rpc_address"] = "127.0.0.1:8000",
            ["node_to_node_address"] = "127.0.0.1:8001",
            ["status"] = "Pending",
        }.ToJsonString()));

        Accept(_service.Propose(M0, "transition_node_to_trusted", new JsonObject { ["node_id"] = nodeId, ["valid_from"] = "2026-01-01T00:00:00Z" }));

        JsonNode node = JsonNode.Parse(_service.Read(tx => tx.GetMap(GovernanceMaps.Nodes).GetString(nodeId))!)!;
        Assert.Equal("Trusted", node["status"]?.GetValue<string>());
        Assert.Equal("127.0.0.1:8000", node["rpc_address"]?.GetValue<string>());
        Assert.Equal("127.0.0.1:8001", node["node_to_node_address"]?.GetValue<string>());
    }

    [Fact]
    public void TransitionNodeToTrusted_OfAnUnknownNode_Fails()
    {
        ProposalSummary failed = Accept(_service.Propose(M0, "transition_node_to_trusted", new JsonObject { ["node_id"] = new string('b', 64) }));

        Assert.Equal(ProposalState.Failed, failed.State);
        Assert.Equal($"Failed to apply(): Error: No such node: {new string('b', 64)}", failed.Failure?.Reason);
    }

    [Fact]
    public void AddNodeCode_AllowsTheCodeToJoin_AndRemoveNodeCodeTakesItBack()
    {
        const string codeId = "7e2f0aa1c1b3a4dbb1d9a7f6e5c4b3a2918273645546372819a0b1c2d3e4f5a6";

        Accept(_service.Propose(M0, "add_node_code", new JsonObject { ["code_id"] = codeId }));
        Assert.Equal("\"AllowedToJoin\"", _service.Read(tx => tx.GetMap(GovernanceMaps.NodeCodeIds).GetString(codeId)));

        Accept(_service.Propose(M0, "remove_node_code", new JsonObject { ["code_id"] = codeId }));
        Assert.Null(_service.Read(tx => tx.GetMap(GovernanceMaps.NodeCodeIds).GetString(codeId)));
    }

    [Fact]
    public void RemoveUser_RemovesTheCertificate()
    {
        Accept(ProposeSetUser());

        Accept(_service.Propose(M0, "remove_user", new JsonObject { ["user_id"] = _user.Id }));

        Assert.Null(UserCertificate());
    }

    [Fact]
    public void TransitionServiceToOpen_OpensAnOpeningService()
    {
        _service.Write(tx => GovernanceGenesis.SetServiceInfo(tx, "Opening", _service.ServiceCertificatePem, "2.1"));

        Accept(_service.Propose(M0, "transition_service_to_open", new JsonObject { ["next_service_identity"] = _service.ServiceCertificatePem }));

        JsonNode info = JsonNode.Parse(_service.Read(tx => tx.GetMap(GovernanceMaps.ServiceInfo).Get(GovernanceMaps.SingletonKey))!)!;
        Assert.Equal("Open", info["status"]?.GetValue<string>());
        Assert.Equal("2.1", info["created_txid"]?.GetValue<string>());
    }

    [Fact]
    public void BallotThatLoopsForever_IsAVoteFailure_NotAVote()
    {
        ProposalSummary created = ProposeSetUser();

        _service.Vote(M2, created.ProposalId, "export function vote() { for (;;) {} }");
        _service.Vote(M0, created.ProposalId, inFavour: true);
        ProposalSummary accepted = _service.Vote(M1, created.ProposalId, inFavour: true);

        Assert.Equal(ProposalState.Accepted, accepted.State);
        Assert.Equal(3, accepted.BallotCount);
        Assert.False(accepted.FinalVotes!.ContainsKey(M2.Id));
        Assert.Equal("vote() was stopped after 1000000 statements, the sandbox's limit.", accepted.VoteFailures![M2.Id].Reason);
    }

    [Fact]
    public void GettersReturnWhatWasSubmitted()
    {
        string proposal = GovernanceService.Proposal("remove_user", new JsonObject { ["user_id"] = _user.Id });
        ProposalSummary created = _service.Propose(M0, proposal);
        const string ballot = "export function vote() { return false; }";
        _service.Vote(M1, created.ProposalId, ballot);

        Assert.Equal(proposal, _service.Execute(engine => engine.GetActions(created.ProposalId)));
        Assert.Equal(ballot, _service.Execute(engine => engine.GetBallot(created.ProposalId, M1.Id)));
        AssertRefused(GovernanceErrorCode.InvalidInput, () => _service.Execute(engine => engine.GetBallot(created.ProposalId, M2.Id)));
        AssertRefused(GovernanceErrorCode.ProposalNotFound, () => _service.Execute(engine => engine.Get(new string('0', 64))));
    }

    public void Dispose() => _service.Dispose();

    private ProposalSummary ProposeSetUser() =>
        _service.Propose(M0, "set_user", new JsonObject { ["cert"] = _user.CertificatePem, ["user_data"] = new JsonObject { ["role"] = "reader" } });

    private ProposalSummary Accept(ProposalSummary proposal)
    {
        _service.Vote(M0, proposal.ProposalId, inFavour: true);
        return _service.Vote(M1, proposal.ProposalId, inFavour: true);
    }

    private ProposalSummary? Withdraw(TestMember member, string proposalId) =>
        _service.Execute(engine => engine.Withdraw(GovernanceRequest.Parse(member.Signer.SignWithdrawal(proposalId, _service.Now))));

    private string? UserCertificate() => _service.Read(tx => tx.GetMap(GovernanceMaps.UserCertificates).GetString(_user.Id));

    private string ServiceConfig() => System.Text.Encoding.UTF8.GetString(_service.Read(tx => tx.GetMap(GovernanceMaps.ServiceConfig).Get(GovernanceMaps.SingletonKey))!);

    private static GovernanceException AssertRefused(GovernanceErrorCode code, Action request)
    {
        GovernanceException refused = Assert.Throws<GovernanceException>(request);
        Assert.Equal(code, refused.Code);
        return refused;
    }
}
