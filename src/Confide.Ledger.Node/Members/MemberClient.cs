using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Confide.Ledger.Governance.Requests;
using Confide.Ledger.Recovery;

namespace Confide.Ledger.Node.Members;

/// <summary>What a <see cref="MemberClient"/> needs: the node, the service it must belong to, the member's credentials.</summary>
public sealed class MemberClientOptions
{
    /// <summary>Any node of the service, https://host:port (writes sent to a follower are forwarded).</summary>
    public required Uri Node { get; init; }

    /// <summary>The service identity: the node's TLS certificate must be issued by it (it is pinned, no CA involved).</summary>
    public required X509Certificate2 ServiceCertificate { get; init; }

    /// <summary>The member's certificate (its id is the SHA-256 of it) and its EC private key.</summary>
    public required GovernanceRequestSigner Signer { get; init; }

    /// <summary>CCF's governance API version sent with every request.</summary>
    public string ApiVersion { get; init; } = "2024-07-01";

    /// <summary>How long to keep resending while the service answers 503 (an election in progress).</summary>
    public TimeSpan RetryFor { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>
/// A consortium member's side of CCF's governance API (what CCF's <c>ccf_cose_sign1</c> plus curl
/// do): every request is a COSE_Sign1 signed with the member's key, sent to a node whose certificate
/// the pinned service identity issued. Proposals, ballots, withdrawals, activation (state digest and
/// ack) and, after a disaster, the recovery share, decrypted locally with the member's RSA key.
/// </summary>
public sealed class MemberClient : IDisposable
{
    private readonly MemberClientOptions _options;
    private readonly HttpClient _http;

    public MemberClient(MemberClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _http = Http.ServiceHttp.CreatePinnedClient(options.ServiceCertificate);
    }

    public string MemberId => _options.Signer.MemberId;

    /// <summary>Proposes <paramref name="actions"/> (<c>[{"name", "args"}, ...]</c>); returns the proposal summary (proposalId, proposalState, ...).</summary>
    /// <exception cref="MemberRequestException">The service refused it (the message is CCF's error).</exception>
    public Task<JsonObject> ProposeAsync(JsonArray actions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(actions);
        byte[] request = _options.Signer.SignProposal(new JsonObject { ["actions"] = actions.DeepClone() }.ToJsonString(), Now);
        return SendAsync("/gov/members/proposals:create", request, cancellationToken);
    }

    /// <summary>Submits a ballot: for or against, or <paramref name="ballotScript"/> (a module exporting <c>vote(proposal, proposerId)</c>).</summary>
    public Task<JsonObject> VoteAsync(string proposalId, bool inFavour, string? ballotScript = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(proposalId);
        string script = ballotScript ?? $"export function vote (proposal, proposerId) {{ return {(inFavour ? "true" : "false")} }}";
        return SendAsync($"/gov/members/proposals/{Uri.EscapeDataString(proposalId)}/ballots/{MemberId}:submit", _options.Signer.SignBallot(proposalId, script, Now), cancellationToken);
    }

    /// <summary>Withdraws one of this member's open proposals.</summary>
    public Task<JsonObject> WithdrawAsync(string proposalId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(proposalId);
        return SendAsync($"/gov/members/proposals/{Uri.EscapeDataString(proposalId)}:withdraw", _options.Signer.SignWithdrawal(proposalId, Now), cancellationToken);
    }

    /// <summary>Becomes Active: fetches a fresh state digest and acknowledges it. Returns the digest acknowledged.</summary>
    public async Task<string> ActivateAsync(CancellationToken cancellationToken = default)
    {
        JsonObject digest = await SendAsync($"/gov/members/state-digests/{MemberId}:update", _options.Signer.SignStateDigestUpdate(Now), cancellationToken).ConfigureAwait(false);
        string stateDigest = (string?)digest["stateDigest"] ?? throw new MemberRequestException(HttpStatusCode.OK, "InvalidResponse", "The state digest answer holds no stateDigest.");
        await SendAsync($"/gov/members/state-digests/{MemberId}:ack", _options.Signer.SignAck(stateDigest, Now), cancellationToken).ConfigureAwait(false);
        return stateDigest;
    }

    /// <summary>
    /// During a recovery: fetches this member's encrypted share, decrypts it with
    /// <paramref name="encryptionKey"/> (the RSA key whose public half was registered with the
    /// member), and submits it signed. Returns the service's answer (e.g. "2/2 recovery shares ...").
    /// The share is never written anywhere and is zeroed after use.
    /// </summary>
    /// <exception cref="CryptographicException">The share does not decrypt with this key.</exception>
    public async Task<string> SubmitRecoveryShareAsync(RSA encryptionKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encryptionKey);
        JsonObject encrypted = await ExchangeAsync(() => new HttpRequestMessage(HttpMethod.Get, Url($"/gov/recovery/encrypted-shares/{MemberId}")), cancellationToken).ConfigureAwait(false);
        byte[] share = RecoveryShares.DecryptShare(Convert.FromBase64String(Http.ServiceHttp.Text(encrypted["encryptedShare"]) ?? throw new MemberRequestException(HttpStatusCode.OK, "InvalidResponse", "The answer holds no encryptedShare.")), encryptionKey);
        byte[] payload = Encoding.UTF8.GetBytes(new JsonObject { ["share"] = Convert.ToBase64String(share) }.ToJsonString());
        try
        {
            JsonObject answer = await SendAsync($"/gov/recovery/members/{MemberId}:recover", _options.Signer.Sign(GovernanceMessageType.RecoveryShare, payload, Now), cancellationToken).ConfigureAwait(false);
            return (string?)answer["message"] ?? answer.ToJsonString();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(share);
            CryptographicOperations.ZeroMemory(payload);
        }
    }

    public void Dispose() => _http.Dispose();

    private DateTimeOffset Now => _options.TimeProvider.GetUtcNow();

    private Uri Url(string path) => new(_options.Node, $"{path}?api-version={Uri.EscapeDataString(_options.ApiVersion)}");

    /// <summary>Sends a signed request, resending the same bytes while the service did not run it (503, no connection).</summary>
    private Task<JsonObject> SendAsync(string path, byte[] cose, CancellationToken cancellationToken) => ExchangeAsync(() =>
    {
        var content = new ByteArrayContent(cose);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/cose");
        return new HttpRequestMessage(HttpMethod.Post, Url(path)) { Content = content };
    }, cancellationToken);

    /// <summary>The JSON object the service answers, or its refusal as a <see cref="MemberRequestException"/>.</summary>
    private async Task<JsonObject> ExchangeAsync(Func<HttpRequestMessage> request, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await Http.ServiceHttp.SendWithRetriesAsync(_http, request, _options.RetryFor, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            (string code, string message) = Http.ServiceHttp.ParseError(response, body);
            throw new MemberRequestException(response.StatusCode, code, message);
        }

        try
        {
            return (body.Length == 0 ? null : JsonNode.Parse(body)) as JsonObject ?? [];
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new MemberRequestException(response.StatusCode, "InvalidResponse", $"The answer is not JSON: {ex.Message}");
        }
    }
}

/// <summary>A governance request the service refused: the HTTP status and CCF's error code and message.</summary>
public sealed class MemberRequestException(HttpStatusCode status, string code, string message) : Exception($"{(int)status} {code}: {message}")
{
    public HttpStatusCode Status { get; } = status;

    public string Code { get; } = code;
}
