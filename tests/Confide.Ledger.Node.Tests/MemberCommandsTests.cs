using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Ledger.Governance.Requests;
using Confide.Ledger.Node.Members;

namespace Confide.Ledger.Node.Tests;

/// <summary>
/// A member governs from the command line (<c>confide ledger member ...</c>) and through
/// <see cref="MemberClient"/>: activate, propose, vote, withdraw, each request COSE-signed.
/// </summary>
public sealed class MemberCommandsTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new(1, http: true);
    private readonly ECDsa[] _keys = [ECDsa.Create(ECCurve.NamedCurves.nistP384), ECDsa.Create(ECCurve.NamedCurves.nistP384)];
    private readonly X509Certificate2[] _certificates;
    private readonly string _folder = Directory.CreateTempSubdirectory("confide-member-").FullName;

    public MemberCommandsTests()
    {
        _certificates = [.. _keys.Select((key, i) => new CertificateRequest($"CN=member{i}", key, HashAlgorithmName.SHA384).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1)))];
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        foreach (X509Certificate2 member in _certificates)
        {
            _cluster.Genesis.Members.Add(X509CertificateLoader.LoadCertificate(member.RawData));
        }

        await _cluster.StartAsync(0, Ct);

        // The genesis transaction (which registers the members) lands shortly after the node starts.
        X509Certificate2 service = _cluster.Service.Certificate;
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 peer && ServiceIdentity.IsIssuedBy(peer, service) } });
        for (int attempt = 0; attempt < 300 && (string?)(await http.GetFromJsonAsync<JsonObject>(new Uri(_cluster.Urls[0], "/node/network"), Ct))!["service_status"] != "Opening"; attempt++)
        {
            await Task.Delay(50, Ct);
        }

        File.WriteAllText(Path.Combine(_folder, "service.pem"), _cluster.Service.Certificate.ExportCertificatePem());
        for (int i = 0; i < _keys.Length; i++)
        {
            File.WriteAllText(Path.Combine(_folder, $"m{i}.pem"), _certificates[i].ExportCertificatePem());
            File.WriteAllText(Path.Combine(_folder, $"m{i}.key.pem"), _keys[i].ExportPkcs8PrivateKeyPem());
        }
    }

    [Fact]
    public async Task Members_activate_from_the_command_line_then_pass_and_withdraw_proposals()
    {
        // Both members activate with the command a member types.
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(0, await RunAsync("activate", i, []));
        }

        using MemberClient first = Client(0);
        using MemberClient second = Client(1);
        using X509Certificate2 user = TestUsers.Create("user-by-vote");
        JsonObject proposal = await first.ProposeAsync(new JsonArray(new JsonObject { ["name"] = "set_user", ["args"] = new JsonObject { ["cert"] = user.ExportCertificatePem() } }), Ct);
        string id = (string)proposal["proposalId"]!;
        Assert.Equal("Open", (string?)proposal["proposalState"]);
        Assert.Equal("Open", (string?)(await first.VoteAsync(id, inFavour: true, cancellationToken: Ct))["proposalState"]);
        Assert.Equal("Accepted", (string?)(await second.VoteAsync(id, inFavour: true, cancellationToken: Ct))["proposalState"]);

        // From the command line: a proposal file, then a vote against by the other member.
        string actions = Path.Combine(_folder, "actions.json");
        await File.WriteAllTextAsync(actions, """[{"name": "set_recovery_threshold", "args": {"recovery_threshold": 1}}]""", Ct);
        Assert.Equal(0, await RunAsync("propose", 0, ["--actions", actions]));
        JsonObject withdrawn = await first.WithdrawAsync((string)(await first.ProposeAsync(new JsonArray(new JsonObject { ["name"] = "set_recovery_threshold", ["args"] = new JsonObject { ["recovery_threshold"] = 1 } }), Ct))["proposalId"]!, Ct);
        Assert.Equal("Withdrawn", (string?)withdrawn["proposalState"]);

        // Refusals carry CCF's error: a member may not withdraw another's proposal.
        string others = (string)(await first.ProposeAsync(new JsonArray(new JsonObject { ["name"] = "set_recovery_threshold", ["args"] = new JsonObject { ["recovery_threshold"] = 1 } }), Ct))["proposalId"]!;
        MemberRequestException refused = await Assert.ThrowsAsync<MemberRequestException>(() => second.WithdrawAsync(others, Ct));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal(1, await RunAsync("vote", 1, ["no-such-proposal"]));
    }

    [Fact]
    public async Task Bad_input_and_an_unpinned_service_are_refused_before_or_in_the_handshake()
    {
        // Not a JSON file, a node that is not https, a key that is not the certificate's.
        string garbage = Path.Combine(_folder, "garbage.json");
        await File.WriteAllTextAsync(garbage, "{not json", Ct);
        Assert.Equal(1, await RunAsync("propose", 0, ["--actions", garbage]));
        Assert.Equal(1, await RunAsync("activate", 0, [], node: "http://127.0.0.1:1"));
        Assert.Throws<ArgumentException>(() => new GovernanceRequestSigner(_keys[1], _certificates[0]));

        // A service certificate that did not issue the node's: the TLS handshake fails, nothing is sent.
        using ServiceIdentity other = ServiceIdentity.Create();
        using var client = new MemberClient(new MemberClientOptions { Node = _cluster.Urls[0], ServiceCertificate = other.Certificate, Signer = new GovernanceRequestSigner(_keys[0], _certificates[0]) });
        await Assert.ThrowsAsync<HttpRequestException>(() => client.ActivateAsync(Ct));
    }

    private MemberClient Client(int member) => new(new MemberClientOptions
    {
        Node = _cluster.Urls[0],
        ServiceCertificate = _cluster.Service.Certificate,
        Signer = new GovernanceRequestSigner(_keys[member], _certificates[member]),
    });

    private Task<int> RunAsync(string verb, int member, string[] arguments, string? node = null) =>
        MemberCommands.Create().Parse([verb, .. arguments,
            "--node", node ?? _cluster.Urls[0].ToString(), "--service-cert", Path.Combine(_folder, "service.pem"),
            "--member-cert", Path.Combine(_folder, $"m{member}.pem"), "--member-key", Path.Combine(_folder, $"m{member}.key.pem")]).InvokeAsync(cancellationToken: Ct);

    public async ValueTask DisposeAsync()
    {
        await _cluster.DisposeAsync();
        foreach (ECDsa key in _keys)
        {
            key.Dispose();
        }

        foreach (X509Certificate2 certificate in _certificates)
        {
            certificate.Dispose();
        }

        Directory.Delete(_folder, recursive: true);
    }
}
