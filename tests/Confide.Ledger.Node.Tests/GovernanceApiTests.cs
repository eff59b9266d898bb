using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;

namespace Confide.Ledger.Node.Tests;

/// <summary>CCF's governance API on three nodes: members activate, propose, vote, withdraw; users added by vote; the service opened.</summary>
public sealed class GovernanceApiTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new(3, http: true);
    private readonly Consortium _members = new(3);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        foreach (X509Certificate2 member in _members.Certificates)
        {
            _cluster.Genesis.Members.Add(X509CertificateLoader.LoadCertificate(member.RawData));
        }

        for (int i = 0; i < 3; i++)
        {
            await _cluster.StartAsync(i, Ct);
        }

        using HttpClient client = Client(null);
        foreach (Uri node in _cluster.Urls)
        {
            for (int attempt = 0; attempt < 300 && (string?)(await client.GetFromJsonAsync<JsonObject>(new Uri(node, "/node/network"), Ct))!["service_status"] != "Opening"; attempt++)
            {
                await Task.Delay(50, Ct);
            }
        }
    }

    [Fact]
    public async Task Members_activate_add_a_user_by_majority_vote_and_open_the_service()
    {
        using HttpClient client = Client(null);
        Uri node = _cluster.Urls[1]; // any node: writes are forwarded to the leader
        await _members.ActivateAsync(client, node, Ct);

        // set_user: open after one vote of three, accepted after the second.
        using X509Certificate2 user = SelfSigned("user1");
        JsonObject proposal = await _members.ProposeAsync(client, node, 0, new JsonArray(new JsonObject { ["name"] = "set_user", ["args"] = new JsonObject { ["cert"] = user.ExportCertificatePem() } }), Ct);
        string id = (string)proposal["proposalId"]!;
        Assert.Equal("Open", (string?)proposal["proposalState"]);
        Assert.Equal("Open", (string?)(await _members.VoteAsync(client, node, 0, id, inFavour: true, Ct))["proposalState"]);
        JsonObject accepted = await _members.VoteAsync(client, node, 1, id, inFavour: true, Ct);
        Assert.Equal("Accepted", (string?)accepted["proposalState"]);
        Assert.Equal(2, (int)accepted["ballotCount"]!);

        // The new user can use the application, on every node.
        using HttpClient asUser = Client(user);
        HttpResponseMessage written = await RetryAsync(() => asUser.PostAsJsonAsync(new Uri(_cluster.Urls[2], "/app/log/private"), new { id = 1, msg = "by vote" }, Ct));
        Assert.Equal(HttpStatusCode.OK, written.StatusCode);

        // The proposal and its actions are readable; the service opens by vote.
        JsonObject fetched = (await client.GetFromJsonAsync<JsonObject>(new Uri(node, $"/gov/members/proposals/{id}?{Consortium.ApiVersion}"), Ct))!;
        Assert.Equal("Accepted", (string?)fetched["proposalState"]);
        JsonObject open = await _members.PassAsync(client, node, new JsonArray(new JsonObject
        {
            ["name"] = "transition_service_to_open",
            ["args"] = new JsonObject { ["next_service_identity"] = _cluster.Service.Certificate.ExportCertificatePem() },
        }), Ct);
        Assert.Equal("Accepted", (string?)open["proposalState"]);
        for (int attempt = 0; attempt < 600 && (string?)(await client.GetFromJsonAsync<JsonObject>(new Uri(_cluster.Urls[0], "/node/network"), Ct))!["service_status"] != "Open"; attempt++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.Equal("Open", (string?)(await client.GetFromJsonAsync<JsonObject>(new Uri(_cluster.Urls[0], "/node/network"), Ct))!["service_status"]);
    }

    [Fact]
    public async Task Proposals_can_be_rejected_withdrawn_only_by_their_proposer_and_bad_requests_are_refused()
    {
        using HttpClient client = Client(null);
        Uri node = _cluster.Urls[0];
        await _members.ActivateAsync(client, node, Ct);
        JsonArray action = new(new JsonObject { ["name"] = "add_node_code", ["args"] = new JsonObject { ["code_id"] = new string('a', 64) } });

        // Two votes against of three reject.
        string rejected = (string)(await _members.ProposeAsync(client, node, 0, action, Ct))["proposalId"]!;
        await _members.VoteAsync(client, node, 1, rejected, inFavour: false, Ct);
        Assert.Equal("Rejected", (string?)(await _members.VoteAsync(client, node, 2, rejected, inFavour: false, Ct))["proposalState"]);

        // Only the proposer withdraws.
        string withdrawn = (string)(await _members.ProposeAsync(client, node, 0, action.DeepClone().AsArray(), Ct))["proposalId"]!;
        using (HttpResponseMessage notProposer = await Consortium.SendAsync(client, node, $"/gov/members/proposals/{withdrawn}:withdraw", _members.Signers[1].SignWithdrawal(withdrawn, DateTimeOffset.UtcNow), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, notProposer.StatusCode);
        }

        using (HttpResponseMessage byProposer = await Consortium.SendAsync(client, node, $"/gov/members/proposals/{withdrawn}:withdraw", _members.Signers[0].SignWithdrawal(withdrawn, DateTimeOffset.UtcNow), Ct))
        {
            Assert.Equal("Withdrawn", (string?)(await byProposer.Content.ReadFromJsonAsync<JsonObject>(Ct))!["proposalState"]);
        }

        // An unknown action fails validation; an altered signature, an unknown signer, a missing api-version are refused.
        using (HttpResponseMessage invalid = await Consortium.SendAsync(client, node, "/gov/members/proposals:create", _members.Signers[0].SignProposal("""{"actions":[{"name":"make_me_rich","args":{}}]}""", DateTimeOffset.UtcNow), Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
            Assert.Contains("make_me_rich", await invalid.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        byte[] tampered = _members.Signers[0].SignProposal(new JsonObject { ["actions"] = action.DeepClone() }.ToJsonString(), DateTimeOffset.UtcNow);
        tampered[^1] ^= 1;
        using (HttpResponseMessage forged = await Consortium.SendAsync(client, node, "/gov/members/proposals:create", tampered, Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        }

        using var outsider = new Consortium(1);
        using (HttpResponseMessage unknown = await Consortium.SendAsync(client, node, "/gov/members/proposals:create", outsider.Signers[0].SignProposal(new JsonObject { ["actions"] = action.DeepClone() }.ToJsonString(), DateTimeOffset.UtcNow), Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        }

        using (HttpResponseMessage noVersion = await client.PostAsync(new Uri(node, "/gov/members/proposals:create"), new ByteArrayContent(tampered), Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, noVersion.StatusCode);
            Assert.Contains("MissingApiVersionParameter", await noVersion.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        using HttpResponseMessage missing = await Consortium.SendAsync(client, node, $"/gov/members/proposals/{new string('0', 64)}/ballots/{_members.Signers[0].MemberId}:submit",
            _members.Signers[0].SignBallot(new string('0', 64), "export function vote (p, id) { return true }", DateTimeOffset.UtcNow), Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Users_authenticate_with_jwts_from_an_issuer_the_members_registered()
    {
        using HttpClient client = Client(null);
        Uri node = _cluster.Urls[0];
        await _members.ActivateAsync(client, node, Ct);
        using var issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signingKey = new Microsoft.IdentityModel.Tokens.ECDsaSecurityKey(issuerKey) { KeyId = "key-1" };
        Microsoft.IdentityModel.Tokens.JsonWebKey jwk = Microsoft.IdentityModel.Tokens.JsonWebKeyConverter.ConvertFromECDsaSecurityKey(signingKey);
        var jwks = new JsonObject { ["keys"] = new JsonArray(new JsonObject { ["kty"] = jwk.Kty, ["kid"] = jwk.Kid, ["crv"] = jwk.Crv, ["x"] = jwk.X, ["y"] = jwk.Y }) };

        string Token(string issuer, DateTime expires, Microsoft.IdentityModel.Tokens.SecurityKey key) => new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = issuer,
            Subject = new System.Security.Claims.ClaimsIdentity([new System.Security.Claims.Claim("sub", "alice")]),
            NotBefore = expires.AddHours(-2),
            Expires = expires,
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(key, Microsoft.IdentityModel.Tokens.SecurityAlgorithms.EcdsaSha256),
        });

        async Task<HttpStatusCode> PostAsync(string token, Uri target)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target, "/app/log/private")) { Content = JsonContent.Create(new { id = 5, msg = "by token" }) };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using HttpResponseMessage response = await client.SendAsync(request, Ct);
            return response.StatusCode;
        }

        string valid = Token("https://login.example", DateTime.UtcNow.AddHours(1), signingKey);
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(valid, node)); // issuer not registered yet

        JsonObject registered = await _members.PassAsync(client, node, new JsonArray(new JsonObject
        {
            ["name"] = "set_jwt_issuer",
            ["args"] = new JsonObject { ["issuer"] = "https://login.example", ["jwks"] = jwks },
        }), Ct);
        Assert.Equal("Accepted", (string?)registered["proposalState"]);
        for (int attempt = 0; attempt < 600 && await PostAsync(valid, _cluster.Urls[2]) != HttpStatusCode.OK; attempt++)
        {
            await Task.Delay(50, Ct); // the follower learns of the issuer a heartbeat later
        }

        Assert.Equal(HttpStatusCode.OK, await PostAsync(valid, _cluster.Urls[2])); // through a follower, re-validated by the leader
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(Token("https://login.example", DateTime.UtcNow.AddHours(-1), signingKey), node));
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(Token("https://login.example", DateTime.UtcNow.AddHours(1), new Microsoft.IdentityModel.Tokens.ECDsaSecurityKey(otherKey) { KeyId = "key-1" }), node));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(Token("https://elsewhere.example", DateTime.UtcNow.AddHours(1), signingKey), node));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("not-a-jwt", node));

        // The client library sends the token with each call.
        using var byToken = new Confide.Ledger.Node.Users.LedgerClient(new Confide.Ledger.Node.Users.LedgerClientOptions
        {
            Node = _cluster.Urls[1],
            ServiceCertificate = X509CertificateLoader.LoadCertificate(_cluster.Service.Certificate.RawData),
            AccessToken = _ => ValueTask.FromResult(valid),
        });
        Assert.NotNull((await byToken.PostAsync("/log/private", new JsonObject { ["id"] = 6, ["msg"] = "by token" }, Ct)).TransactionId);
        Assert.Equal("by token", (string?)(await byToken.GetAsync("/log/private?id=5", Ct)).Body!["msg"]);
    }

    public async ValueTask DisposeAsync()
    {
        await _cluster.DisposeAsync();
        _members.Dispose();
    }

    private HttpClient Client(X509Certificate2? certificate)
    {
        X509Certificate2 service = X509CertificateLoader.LoadCertificate(_cluster.Service.Certificate.RawData);
        return new HttpClient(new SocketsHttpHandler
        {
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 peer && ServiceIdentity.IsIssuedBy(peer, service),
                ClientCertificates = certificate is null ? null : [certificate],
            },
        });
    }

    private static async Task<HttpResponseMessage> RetryAsync(Func<Task<HttpResponseMessage>> send)
    {
        for (int attempt = 0; ; attempt++)
        {
            HttpResponseMessage response = await send();
            if ((response.StatusCode != HttpStatusCode.ServiceUnavailable && response.StatusCode != HttpStatusCode.Unauthorized) || attempt == 50)
            {
                return response;
            }

            await Task.Delay(100, Ct);
        }
    }

    private static X509Certificate2 SelfSigned(string name) => TestUsers.Create(name);
}
