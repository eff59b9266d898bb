using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Ledger.Governance.Proposals;
using Confide.Ledger.Governance.Requests;
using Confide.Ledger.Kv;

namespace Confide.Ledger.Governance.Tests.Support;

/// <summary>
/// A real <see cref="Store"/> with a genesis of three active members, an open service and the
/// default constitution; each request runs in its own transaction, committed when it succeeds, as
/// the node runs them.
/// </summary>
internal sealed class GovernanceService : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public GovernanceService(int members = 3, GovernanceOptions? options = null)
    {
        Options = options ?? GovernanceOptions.Default;
        ServiceCertificatePem = CreateServiceCertificatePem();
        for (int i = 0; i < members; i++)
        {
            Members.Add(Own(TestMember.Create($"member{i}")));
        }

        Write(tx =>
        {
            foreach (TestMember member in Members)
            {
                GovernanceGenesis.AddMember(tx, member.Certificate, MemberStatus.Active);
            }

            GovernanceGenesis.SetServiceInfo(tx, "Open", ServiceCertificatePem, "2.1");
            GovernanceGenesis.SetServiceConfig(tx, recoveryThreshold: 0);
            GovernanceGenesis.SetConstitution(tx);
        });
    }

    public Store Store { get; } = new();

    public GovernanceOptions Options { get; }

    public List<TestMember> Members { get; } = [];

    public string ServiceCertificatePem { get; }

    /// <summary>The node's clock for these requests.</summary>
    public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;

    public T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    /// <summary>Runs <paramref name="request"/> in a fresh transaction and commits it if it returns.</summary>
    public T Execute<T>(Func<GovernanceEngine, T> request)
    {
        Transaction tx = Store.BeginTransaction();
        T result = request(new GovernanceEngine(tx, Options));
        CommitResult commit = tx.TryCommit();
        Assert.NotEqual(CommitStatus.Conflict, commit.Status);
        return result;
    }

    public void Write(Action<Transaction> write)
    {
        Transaction tx = Store.BeginTransaction();
        write(tx);
        Assert.Equal(CommitStatus.Committed, tx.TryCommit().Status);
    }

    public T Read<T>(Func<Transaction, T> read) => read(Store.BeginTransaction());

    public ProposalSummary Propose(TestMember proposer, string proposalJson) =>
        Execute(engine => engine.CreateProposal(GovernanceRequest.Parse(proposer.Signer.SignProposal(proposalJson, Now)), Now));

    public ProposalSummary Propose(TestMember proposer, string action, JsonObject args) =>
        Propose(proposer, Proposal(action, args));

    public ProposalSummary Vote(TestMember voter, string proposalId, bool inFavour) =>
        Vote(voter, proposalId, $"export function vote(proposal, proposerId) {{ return {(inFavour ? "true" : "false")}; }}");

    public ProposalSummary Vote(TestMember voter, string proposalId, string ballot) =>
        Execute(engine => engine.SubmitBallot(GovernanceRequest.Parse(voter.Signer.SignBallot(proposalId, ballot, Now))));

    public static string Proposal(string action, JsonObject args) =>
        new JsonObject { ["actions"] = new JsonArray(new JsonObject { ["name"] = action, ["args"] = args }) }.ToJsonString();

    public void Dispose()
    {
        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }
    }

    private static string CreateServiceCertificatePem()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest("CN=CCF Network", key, HashAlgorithmName.SHA384);
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return certificate.ExportCertificatePem();
    }
}
