using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Confide.Ledger.Governance.Proposals;
using Confide.Ledger.Governance.Requests;
using Confide.Ledger.Governance.Tests.Support;
using Confide.Ledger.Kv;

namespace Confide.Ledger.Governance.Tests.Requests;

/// <summary>How the engine refuses requests before looking at what they ask: unknown signer, wrong type, stale or replayed proposals.</summary>
public sealed class RequestAuthenticationTests
{
    private static readonly string SomeProposal = GovernanceService.Proposal("set_service_configuration", new JsonObject { ["recent_cose_proposals_window_size"] = 50 });

    [Fact]
    public void ProposalFromAnUnknownMember_IsRefused()
    {
        using var service = new GovernanceService();
        using TestMember stranger = TestMember.Create("stranger");

        AssertRefused(service, GovernanceErrorCode.UnknownMember, stranger.Signer.SignProposal(SomeProposal, service.Now));
    }

    [Fact]
    public void BallotSubmittedAsAProposal_IsRefused()
    {
        using var service = new GovernanceService();
        byte[] ballot = service.Members[0].Signer.SignBallot("ab12", "export function vote() { return true; }", service.Now);

        AssertRefused(service, GovernanceErrorCode.WrongMessageType, ballot);
    }

    [Theory]
    [InlineData(-6)]
    [InlineData(+6)]
    public void ProposalCreatedOutsideTheWindow_IsRefused(int minutes)
    {
        using var service = new GovernanceService();

        AssertRefused(service, GovernanceErrorCode.StaleRequest, service.Members[0].Signer.SignProposal(SomeProposal, service.Now.AddMinutes(minutes)));
    }

    [Fact]
    public void ReplayedProposal_IsRefused()
    {
        using var service = new GovernanceService();
        byte[] proposal = service.Members[0].Signer.SignProposal(SomeProposal, service.Now);
        ProposalSummary first = service.Execute(engine => engine.CreateProposal(GovernanceRequest.Parse(proposal), service.Now));

        GovernanceException refused = AssertRefused(service, GovernanceErrorCode.Replayed, proposal);

        Assert.Contains(first.ProposalId, refused.Message, StringComparison.Ordinal);
        var request = GovernanceRequest.Parse(proposal);
        string key = $"{request.CreatedAt:D10}:{Convert.ToHexStringLower(SHA256.HashData(request.Signature.Span))}";
        Assert.Equal(first.ProposalId, service.Read(tx => tx.GetMap(GovernanceMaps.CoseRecentProposals).GetString(key)));
    }

    [Fact]
    public void SameProposalSignedAgain_IsANewProposal()
    {
        using var service = new GovernanceService();

        ProposalSummary first = service.Propose(service.Members[0], SomeProposal);
        ProposalSummary second = service.Propose(service.Members[0], SomeProposal);

        Assert.NotEqual(first.ProposalId, second.ProposalId);
    }

    [Fact]
    public void RecentProposals_AreKeptToTheWindow_AndOlderOnesAreRefused()
    {
        using var service = new GovernanceService();
        service.Write(tx => GovernanceGenesis.SetServiceConfig(tx, recoveryThreshold: 0, recentProposalsWindowSize: 4));
        DateTimeOffset start = service.Now;
        for (int i = 0; i < 6; i++)
        {
            service.Now = start.AddSeconds(i);
            service.Propose(service.Members[0], SomeProposal);
        }

        Assert.Equal(4, service.Read(tx => Count(tx.GetMap(GovernanceMaps.CoseRecentProposals))));

        // Older than the median of those kept: it might replay one already forgotten.
        GovernanceException refused = AssertRefused(service, GovernanceErrorCode.StaleRequest, service.Members[1].Signer.SignProposal(SomeProposal, start.AddSeconds(1)));
        Assert.Contains("too long ago", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RefusedRequest_WritesNothing()
    {
        using var service = new GovernanceService();
        long version = service.Store.Version;

        var tx = service.Store.BeginTransaction();
        Assert.Throws<GovernanceException>(() => new GovernanceEngine(tx).CreateProposal(GovernanceRequest.Parse(service.Members[0].Signer.SignProposal("""{"actions":[{"name":"nope"}]}""", service.Now)), service.Now));

        Assert.Equal(CommitStatus.ReadOnly, tx.TryCommit().Status);
        Assert.Equal(version, service.Store.Version);
    }

    private static GovernanceException AssertRefused(GovernanceService service, GovernanceErrorCode code, byte[] envelope)
    {
        GovernanceException refused = Assert.Throws<GovernanceException>(() => service.Execute(engine => engine.CreateProposal(GovernanceRequest.Parse(envelope), service.Now)));
        Assert.Equal(code, refused.Code);
        return refused;
    }

    private static int Count(MapHandle map)
    {
        int count = 0;
        map.ForEach((_, _) =>
        {
            count++;
            return true;
        });
        return count;
    }
}
