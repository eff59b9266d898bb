using System.Text.Json.Nodes;
using Confide.Ledger.Consensus;
using Confide.Ledger.Governance;
using Confide.Ledger.Governance.Proposals;
using Confide.Ledger.Governance.Requests;
using Confide.Ledger.Node.Apps;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Confide.Ledger.Node.Http;

/// <summary>
/// CCF's governance API (2024-07-01): members sign COSE_Sign1 requests; each runs in one
/// read-write transaction on the leader (a follower forwards it), through the constitution.
/// </summary>
public sealed partial class LedgerServer
{
    /// <summary>The governance API versions served (CCF's; anything else is refused).</summary>
    public static readonly IReadOnlySet<string> GovernanceApiVersions = new HashSet<string>(StringComparer.Ordinal) { "2023-06-01-preview", "2024-07-01" };

    private void MapGovernance()
    {
        _app.MapPost("/gov/members/proposals:create", (HttpContext context) => GovernanceWriteAsync(context, (engine, request) => Summary(engine.CreateProposal(request, DateTimeOffset.UtcNow))));
        _app.MapPost("/gov/members/proposals/{proposalId}/ballots/{memberId}:submit", (HttpContext context, string proposalId, string memberId) =>
            GovernanceWriteAsync(context, (engine, request) =>
            {
                RequireSame(request.ProposalId, proposalId, "proposal id");
                RequireSame(request.MemberId, memberId, "member id");
                return Summary(engine.SubmitBallot(request));
            }));
        _app.MapPost("/gov/members/proposals/{proposalId}:withdraw", (HttpContext context, string proposalId) =>
            GovernanceWriteAsync(context, (engine, request) =>
            {
                RequireSame(request.ProposalId, proposalId, "proposal id");
                return engine.Withdraw(request) is { } summary ? Summary(summary) : new LedgerResponse(StatusCodes.Status204NoContent);
            }));
        _app.MapPost("/gov/members/state-digests/{memberId}:update", (HttpContext context, string memberId) =>
            GovernanceWriteAsync(context, (engine, request) =>
            {
                RequireSame(request.MemberId, memberId, "member id");
                StateDigest digest = engine.UpdateStateDigest(request, _node.CommittedRoot.ToString());
                return LedgerResponse.Ok(new JsonObject { ["memberId"] = digest.MemberId, ["stateDigest"] = digest.Digest });
            }));
        _app.MapPost("/gov/members/state-digests/{memberId}:ack", (HttpContext context, string memberId) =>
            GovernanceWriteAsync(context, (engine, request) =>
            {
                RequireSame(request.MemberId, memberId, "member id");
                engine.Acknowledge(request);
                return new LedgerResponse(StatusCodes.Status204NoContent);
            }));
        _app.MapGet("/gov/members/proposals", (HttpContext context) => GovernanceRead(context, engine => LedgerResponse.Ok(JsonNode.Parse(engine.List().ToJson()))));
        _app.MapGet("/gov/members/proposals/{proposalId}", (HttpContext context, string proposalId) => GovernanceRead(context, engine => Summary(engine.Get(proposalId))));
        _app.MapGet("/gov/members/proposals/{proposalId}/actions", (HttpContext context, string proposalId) =>
            GovernanceRead(context, engine => LedgerResponse.Ok(JsonNode.Parse(engine.GetActions(proposalId)))));
        _app.MapGet("/gov/service/info", (HttpContext context) => GovernanceRead(context, _ => LedgerResponse.Ok(ReadServiceInfo())));
        _app.MapGet("/gov/service/members", (HttpContext context) => GovernanceRead(context, _ => LedgerResponse.Ok(ReadMap(GovernanceMaps.MemberInfo, "memberId", "members"))));
        _app.MapGet("/gov/service/nodes", (HttpContext context) => GovernanceRead(context, _ => LedgerResponse.Ok(ReadMap(GovernanceMaps.Nodes, "nodeId", "nodes"))));
    }

    private async Task GovernanceWriteAsync(HttpContext context, Func<GovernanceEngine, GovernanceRequest, LedgerResponse> handle)
    {
        if (ApiVersionRefusal(context) is { } refusal)
        {
            await WriteAsync(context, refusal, null).ConfigureAwait(false);
            return;
        }

        byte[] body = await ReadBodyAsync(context).ConfigureAwait(false);
        GovernanceRequest request;
        try
        {
            request = GovernanceRequest.Parse(body);
        }
        catch (GovernanceException ex)
        {
            await WriteAsync(context, GovernanceError(ex), null).ConfigureAwait(false);
            return;
        }

        if (!_node.Consensus.IsLeader)
        {
            await ForwardAsync(context, body, caller: null).ConfigureAwait(false);
            return;
        }

        try
        {
            WriteResult<LedgerResponse> written = await _node.ExecuteWriteAsync(tx =>
            {
                LedgerResponse response;
                try
                {
                    response = handle(new GovernanceEngine(tx), request);
                }
                catch (GovernanceException ex)
                {
                    // Refused before anything was written; the transaction is dropped.
                    return new TransactionOutcome<LedgerResponse>(GovernanceError(ex), ApplyWrites: false);
                }

                // An accepted proposal may have changed the recovery members or threshold: re-issue shares with it.
                if (response.IsSuccess)
                {
                    _node.IssueRecoveryShares(tx);
                }

                return new TransactionOutcome<LedgerResponse>(response, response.IsSuccess);
            }, context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, written.Value, written.TxId).ConfigureAwait(false);
        }
        catch (NotLeaderException)
        {
            await ForwardAsync(context, body, caller: null).ConfigureAwait(false);
        }
        catch (WriteOutcomeUnknownException ex)
        {
            await WriteAsync(context, OutcomeUnknown(ex), ex.TransactionId).ConfigureAwait(false);
        }
    }

    private async Task GovernanceRead(HttpContext context, Func<GovernanceEngine, LedgerResponse> handle)
    {
        if (ApiVersionRefusal(context) is { } refusal)
        {
            await WriteAsync(context, refusal, null).ConfigureAwait(false);
            return;
        }

        ReadResult<LedgerResponse> read = _node.ExecuteRead(tx =>
        {
            try
            {
                return handle(new GovernanceEngine(tx));
            }
            catch (GovernanceException ex)
            {
                return GovernanceError(ex);
            }
        });
        await WriteAsync(context, read.Value, read.TxId).ConfigureAwait(false);
    }

    internal static LedgerResponse? ApiVersionRefusal(HttpContext context)
    {
        string? version = context.Request.Query["api-version"];
        if (string.IsNullOrEmpty(version))
        {
            return LedgerResponse.Error(StatusCodes.Status400BadRequest, "MissingApiVersionParameter", $"The api-version query parameter is required; supported: {string.Join(", ", GovernanceApiVersions)}.");
        }

        return GovernanceApiVersions.Contains(version)
            ? null
            : LedgerResponse.Error(StatusCodes.Status400BadRequest, "UnsupportedApiVersionValue", $"Unsupported api-version '{version}'; supported: {string.Join(", ", GovernanceApiVersions)}.");
    }

    internal static void RequireSame(string? signed, string inPath, string what)
    {
        if (!string.Equals(signed, inPath, StringComparison.Ordinal))
        {
            throw new GovernanceException(GovernanceErrorCode.InvalidInput, $"The signed {what} ({signed ?? "none"}) is not the one in the path ({inPath}).");
        }
    }

    private static LedgerResponse Summary(ProposalSummary summary) => LedgerResponse.Ok(JsonNode.Parse(summary.ToJson()));

    internal static LedgerResponse GovernanceError(GovernanceException ex) => LedgerResponse.Error(ex.Code switch
    {
        GovernanceErrorCode.UnknownMember or GovernanceErrorCode.InvalidSignature => StatusCodes.Status401Unauthorized,
        GovernanceErrorCode.MemberNotActive or GovernanceErrorCode.NotProposer => StatusCodes.Status403Forbidden,
        GovernanceErrorCode.ProposalNotFound or GovernanceErrorCode.StateDigestNotFound => StatusCodes.Status404NotFound,
        GovernanceErrorCode.ScriptFailed or GovernanceErrorCode.NoConstitution => StatusCodes.Status500InternalServerError,
        _ => StatusCodes.Status400BadRequest,
    }, ex.Code.ToString(), ex.Message);

    private JsonObject ReadServiceInfo() =>
        _node.ExecuteRead(tx => tx.GetMap(GovernanceMaps.ServiceInfo).Get(GovernanceMaps.SingletonKey) is { } info ? JsonNode.Parse(info)!.AsObject() : new JsonObject()).Value;

    private JsonObject ReadMap(string map, string idName, string collection)
    {
        var items = new JsonArray();
        _node.ExecuteRead(tx =>
        {
            tx.GetMap(map).ForEach((key, value) =>
            {
                JsonObject item = JsonNode.Parse(value.Span)!.AsObject();
                item[idName] = System.Text.Encoding.UTF8.GetString(key.Span);
                items.Add(item);
                return true;
            });
            return 0;
        });
        return new JsonObject { [collection] = items };
    }
}
