using System.Text.Json.Nodes;
using Confide.Ledger.Kv;
using Confide.Ledger.Merkle;
using Microsoft.AspNetCore.Http;

namespace Confide.Ledger.Node.Apps;

/// <summary>Who may call an endpoint (CCF's authn_policies); several flags: any one of them suffices.</summary>
[Flags]
public enum AuthenticationPolicy
{
    /// <summary>Anyone (CCF's no_auth).</summary>
    None = 0,

    /// <summary>A TLS client certificate registered in <c>public:ccf.gov.users.certs</c> (CCF's user_cert).</summary>
    UserCertificate = 1,

    /// <summary>A TLS client certificate registered in <c>public:ccf.gov.members.certs</c> (CCF's member_cert).</summary>
    MemberCertificate = 2,

    /// <summary>A bearer JWT signed by a key of an issuer governance registered (CCF's jwt).</summary>
    Jwt = 4,
}

/// <summary>
/// The endpoints of a ledger application, registered in C# (CCF's <c>make_endpoint</c> /
/// <c>make_read_only_endpoint</c>), served under <c>/app</c>. Read-write endpoints run on the
/// leader (a follower forwards them); read-only ones run on the node that receives them.
/// </summary>
public sealed class LedgerApplication
{
    private readonly Dictionary<(string Method, string Path), LedgerEndpoint> _endpoints = [];

    public IReadOnlyCollection<LedgerEndpoint> Endpoints => _endpoints.Values;

    /// <summary>A read-write endpoint: its writes are applied when it answers 2xx.</summary>
    public LedgerApplication MapReadWrite(string method, string path, Func<LedgerRequest, LedgerResponse> handler, AuthenticationPolicy authentication = AuthenticationPolicy.UserCertificate, bool respondOnCommit = false) =>
        Add(new LedgerEndpoint(method.ToUpperInvariant(), path, handler, ReadOnly: false, authentication, respondOnCommit));

    /// <summary>A read-only endpoint.</summary>
    public LedgerApplication MapReadOnly(string method, string path, Func<LedgerRequest, LedgerResponse> handler, AuthenticationPolicy authentication = AuthenticationPolicy.UserCertificate) =>
        Add(new LedgerEndpoint(method.ToUpperInvariant(), path, handler, ReadOnly: true, authentication, RespondOnCommit: false));

    public bool TryFind(string method, string path, out LedgerEndpoint? endpoint) => _endpoints.TryGetValue((method.ToUpperInvariant(), path), out endpoint);

    /// <summary>True when some endpoint has this path (for 405 rather than 404).</summary>
    public bool HasPath(string path) => _endpoints.Keys.Any(k => k.Path == path);

    private LedgerApplication Add(LedgerEndpoint endpoint)
    {
        if (!endpoint.Path.StartsWith('/'))
        {
            throw new ArgumentException($"Endpoint path '{endpoint.Path}' must start with '/'.", nameof(endpoint));
        }

        if (!_endpoints.TryAdd((endpoint.Method, endpoint.Path), endpoint))
        {
            throw new ArgumentException($"{endpoint.Method} {endpoint.Path} is registered twice.", nameof(endpoint));
        }

        return this;
    }
}

/// <summary>One registered endpoint.</summary>
public sealed record LedgerEndpoint(string Method, string Path, Func<LedgerRequest, LedgerResponse> Handler, bool ReadOnly, AuthenticationPolicy Authentication, bool RespondOnCommit);

/// <summary>What a handler sees: the transaction, the request, and the authenticated caller.</summary>
public sealed class LedgerRequest(Transaction transaction, string method, IQueryCollection query, byte[] body, string? callerId)
{
    /// <summary>The KV transaction (read-only endpoints must not write).</summary>
    public Transaction Tx { get; } = transaction;

    public string Method { get; } = method;

    public IQueryCollection Query { get; } = query;

    public byte[] Body { get; } = body;

    /// <summary>The caller's id: hex SHA-256 of its certificate (CCF's user or member id), <c>jwt:{iss}:{sub}</c> for a JWT, or null without authentication.</summary>
    public string? CallerId { get; } = callerId;

    /// <summary>A digest the application binds into this transaction's receipt (CCF's set_claims_digest).</summary>
    public Sha256Hash ClaimsDigest { get; set; }

    /// <summary>The body as JSON, or null when it is not JSON.</summary>
    public JsonNode? JsonBody()
    {
        try
        {
            return Body.Length == 0 ? null : JsonNode.Parse(Body);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}

/// <summary>A handler's answer: a status and a JSON body (or none).</summary>
public sealed record LedgerResponse(int Status, JsonNode? Body = null)
{
    public bool IsSuccess => Status is >= 200 and < 300;

    public static LedgerResponse Ok(JsonNode? body) => new(StatusCodes.Status200OK, body);

    /// <summary>An error in CCF's shape: <c>{"error": {"code", "message"}}</c>.</summary>
    public static LedgerResponse Error(int status, string code, string message) =>
        new(status, new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } });
}
