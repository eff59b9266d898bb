using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Ledger.Governance.Requests;

namespace Confide.Ledger.Node.Tests;

/// <summary>Consortium members as a test drives them: certificates, COSE-signed governance requests over HTTPS.</summary>
internal sealed class Consortium : IDisposable
{
    public const string ApiVersion = "api-version=2024-07-01";

    private readonly List<(ECDsa Key, X509Certificate2 Certificate)> _members = [];

    public Consortium(int count)
    {
        for (int i = 0; i < count; i++)
        {
            var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
            X509Certificate2 certificate = new CertificateRequest($"CN=member{i}", key, HashAlgorithmName.SHA384).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            _members.Add((key, certificate));
            Signers.Add(new GovernanceRequestSigner(key, certificate));
        }
    }

    public List<GovernanceRequestSigner> Signers { get; } = [];

    public IEnumerable<X509Certificate2> Certificates => _members.Select(m => m.Certificate);

    /// <summary>Each member fetches the state digest and acknowledges it, becoming Active.</summary>
    public async Task ActivateAsync(HttpClient client, Uri node, CancellationToken cancellationToken)
    {
        foreach (GovernanceRequestSigner member in Signers)
        {
            JsonObject digest = await SendOkAsync(client, node, $"/gov/members/state-digests/{member.MemberId}:update", member.SignStateDigestUpdate(DateTimeOffset.UtcNow), cancellationToken);
            await SendOkAsync(client, node, $"/gov/members/state-digests/{member.MemberId}:ack", member.SignAck((string)digest["stateDigest"]!, DateTimeOffset.UtcNow), cancellationToken);
        }
    }

    /// <summary>Member <paramref name="proposer"/> proposes the actions; returns the proposal summary.</summary>
    public Task<JsonObject> ProposeAsync(HttpClient client, Uri node, int proposer, JsonArray actions, CancellationToken cancellationToken) =>
        SendOkAsync(client, node, "/gov/members/proposals:create", Signers[proposer].SignProposal(new JsonObject { ["actions"] = actions }.ToJsonString(), DateTimeOffset.UtcNow), cancellationToken);

    public Task<JsonObject> VoteAsync(HttpClient client, Uri node, int member, string proposalId, bool inFavour, CancellationToken cancellationToken) =>
        SendOkAsync(client, node, $"/gov/members/proposals/{proposalId}/ballots/{Signers[member].MemberId}:submit",
            Signers[member].SignBallot(proposalId, $"export function vote (proposal, proposerId) {{ return {(inFavour ? "true" : "false")} }}", DateTimeOffset.UtcNow), cancellationToken);

    /// <summary>Proposes and has every member vote for it until it is accepted.</summary>
    public async Task<JsonObject> PassAsync(HttpClient client, Uri node, JsonArray actions, CancellationToken cancellationToken)
    {
        JsonObject proposal = await ProposeAsync(client, node, 0, actions, cancellationToken);
        string id = (string)proposal["proposalId"]!;
        for (int member = 0; member < Signers.Count && (string?)proposal["proposalState"] == "Open"; member++)
        {
            proposal = await VoteAsync(client, node, member, id, inFavour: true, cancellationToken);
        }

        return proposal;
    }

    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, Uri node, string path, byte[] cose, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            var content = new ByteArrayContent(cose);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/cose");
            HttpResponseMessage response;
            try
            {
                response = await client.PostAsync(new Uri(node, $"{path}?{ApiVersion}"), content, cancellationToken);
            }
            catch (HttpRequestException) when (attempt < 3)
            {
                // A connection dropped (an election moves the leader): send the same signed request again.
                await Task.Delay(200, cancellationToken);
                continue;
            }

            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 50)
            {
                return response;
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    public void Dispose()
    {
        foreach ((ECDsa key, X509Certificate2 certificate) in _members)
        {
            key.Dispose();
            certificate.Dispose();
        }
    }

    private static async Task<JsonObject> SendOkAsync(HttpClient client, Uri node, string path, byte[] cose, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(client, node, path, cose, cancellationToken);
        string body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{path}: {(int)response.StatusCode} {body}");
        }

        return body.Length == 0 ? [] : JsonNode.Parse(body)!.AsObject();
    }
}
