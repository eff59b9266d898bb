using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Ledger.Audit;
using Confide.Ledger.Governance;
using Confide.Ledger.Governance.Proposals;
using Confide.Ledger.Governance.Requests;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Node.Apps;
using Confide.Ledger.Node.Http;
using Confide.Ledger.Node.Recovery;
using Confide.Ledger.Recovery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace Confide.Ledger.Node.Hosting;

/// <summary>
/// CCF's disaster recovery: after every node is lost, a new node starts from a copy of the ledger
/// files. It checks the whole ledger (audit) and replays its public part — members, their
/// certificates, the recovery shares — but cannot read the private part. It then waits, serving
/// only what members need: they pass <c>transition_service_to_open</c> on the replayed public
/// state (naming the lost identity and the new one), then each fetches its encrypted share,
/// decrypts it offline with its own RSA key, and submits it in a signed request. Once a threshold of shares has arrived, the ledger
/// secret is reconstructed, the ledger up to its last signature is adopted as the committed
/// history, and the service reopens under a new service identity with the recovery recorded.
/// </summary>
public static class LedgerRecovery
{
    /// <summary>Recovers a service from <paramref name="previousLedger"/>, or restarts an already recovered node.</summary>
    /// <param name="progress">Told each step (for the operator; never given secrets).</param>
    /// <exception cref="InvalidDataException">The ledger fails the audit, or holds no recovery records.</exception>
    public static async Task<LedgerNodeHost> RecoverAsync(LedgerNodeHostOptions options, string previousLedger, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        LedgerNodeHost.CheckAddresses(options);
        progress ??= _ => { };
        if (NodeSecrets.Exist(options.DataDirectory))
        {
            return await LedgerNodeHost.StartAsync(options, cancellationToken).ConfigureAwait(false);
        }

        AuditReport audit = LedgerAuditor.Audit(previousLedger);
        if (!audit.Passed || audit.LastSignedTxId is not { } lastSigned)
        {
            throw new InvalidDataException(audit.Passed ? $"'{previousLedger}' holds no signature transaction: nothing was committed." : $"'{previousLedger}' fails the audit: {audit.Failure}");
        }

        PublicState previous = ReadPublicState(previousLedger, lastSigned.Seqno);
        progress($"ledger checked: {audit.EntryCount} entries, last signature {lastSigned}; {audit.UnsignedCount} unsigned entries after it are dropped");
        progress($"previous service {GovernanceMaps.IdOf(previous.ServiceCertificate)[..16]}..., recovery count {previous.RecoveryCount}; {previous.Issuance.Threshold} of {previous.Issuance.Shares.Count} recovery members must submit their shares");

        var service = ServiceIdentity.Create();
        Directory.CreateDirectory(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string servicePem = Path.Combine(options.DataDirectory, "service_cert.pem");
        await File.WriteAllTextAsync(servicePem, service.Certificate.ExportCertificatePem(), cancellationToken).ConfigureAwait(false);
        ECDsa nodeKey = ServiceIdentity.CreateNodeKey();
        X509Certificate2 nodeCertificate = service.EndorseNode(nodeKey, LedgerNodeHost.CertificateNames(options), TimeSpan.FromDays(365));
        LedgerSecret secret;
        using (var session = new RecoverySession(previous.Issuance))
        {
            await using (WebApplication server = await ServeRecoveryAsync(options, nodeCertificate, service.Certificate, previous, session, cancellationToken).ConfigureAwait(false))
            {
                progress($"waiting for recovery shares at {options.Rpc.ToString().TrimEnd('/')}/gov/recovery/members/<member id>:recover, taken once members pass transition_service_to_open (previous_service_identity: the lost service's certificate, next_service_identity: {servicePem})");
                await previous.Completed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }

            byte[] raw = session.RecoverLedgerSecret();
            secret = LedgerSecret.FromBytes(raw);
            CryptographicOperations.ZeroMemory(raw);
        }

        progress("ledger secret recovered; adopting the committed history");
        AdoptHistory(previousLedger, Path.Combine(options.DataDirectory, "ledger"), secret, lastSigned.Seqno);
        var history = new NodeHistory(lastSigned.Seqno, lastSigned.View + 1, [.. previous.PreviousServiceCertificates, previous.ServiceCertificate], previous.RecoveryCount + 1)
        {
            // The chain so far, plus the new identity vouching for the one it replaces. Earlier
            // endorsements cannot be re-made (their issuers' keys are gone), so a history without
            // them stays without: receipts of those eras verify against their own identity.
            ServiceEndorsements = previous.Endorsements.Count == previous.PreviousServiceCertificates.Count
                ? [.. previous.Endorsements, service.EndorsePreviousIdentity(previous.ServiceCertificate)]
                : [],
            OpeningProposal = OpeningProposal(previous),
        };
        var secrets = new NodeSecrets(nodeKey, nodeCertificate, service, secret, genesis: null, history);
        secrets.Save(options.DataDirectory, options.Tee);
        secrets.Dispose();
        return await LedgerNodeHost.StartAsync(options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Replays the public part of the ledger (no secret needed) into a store.</summary>
    private static PublicState ReadPublicState(string ledger, long lastSignedSeqno)
    {
        var store = new Store();
        foreach (StoredEntry stored in new LedgerReader(ledger).ReadEntries())
        {
            if (stored.Entry.TxId.Seqno > lastSignedSeqno)
            {
                break;
            }

            store.Apply(stored.Entry.WriteSet, stored.Entry.TxId.Seqno);
        }

        Transaction tx = store.BeginTransaction();
        JsonObject info = tx.GetMap(GovernanceMaps.ServiceInfo).Get(GovernanceMaps.SingletonKey) is { } bytes
            ? JsonNode.Parse(bytes)!.AsObject()
            : throw new InvalidDataException("The ledger holds no service information (public:ccf.gov.service.info).");
        RecoveryIssuance issuance = RecoveryRecords.Read(tx)
            ?? throw new InvalidDataException("The ledger holds no recovery shares: the service had no recovery members (members with an encryption key), so it cannot be recovered.");
        var previous = new List<X509Certificate2>();
        foreach (JsonNode? pem in info["previous_service_identities"]?.AsArray() ?? [])
        {
            previous.Add(X509Certificate2.CreateFromPem(pem!.GetValue<string>()));
        }

        var endorsements = new List<X509Certificate2>();
        foreach (JsonNode? pem in info["service_endorsements"]?.AsArray() ?? [])
        {
            endorsements.Add(X509Certificate2.CreateFromPem(pem!.GetValue<string>()));
        }

        return new PublicState(store, tx, X509Certificate2.CreateFromPem((string)info["cert"]!), previous, info["recovery_count"]?.GetValue<int>() ?? 0, issuance) { Endorsements = endorsements };
    }

    /// <summary>The replayed service becomes Recovering, under the new identity, recovering the previous one's ledger.</summary>
    private static void MarkRecovering(PublicState previous, X509Certificate2 serviceCertificate)
    {
        Transaction tx = previous.Store.BeginTransaction();
        MapHandle map = tx.GetMap(GovernanceMaps.ServiceInfo);
        JsonObject info = JsonNode.Parse(map.Get(GovernanceMaps.SingletonKey)!)!.AsObject();
        info["status"] = "Recovering";
        info["cert"] = serviceCertificate.ExportCertificatePem();
        info["previous_service_identity"] = previous.ServiceCertificate.ExportCertificatePem();
        map.Put(GovernanceMaps.SingletonKey, System.Text.Encoding.UTF8.GetBytes(info.ToJsonString()));
        if (tx.TryCommit().Status != CommitStatus.Committed)
        {
            throw new InvalidOperationException("The recovering service's status could not be recorded.");
        }
    }

    private static string ServiceStatus(PublicState previous, Lock gate)
    {
        lock (gate)
        {
            byte[]? bytes = previous.Store.BeginTransaction().GetMap(GovernanceMaps.ServiceInfo).Get(GovernanceMaps.SingletonKey);
            return (string?)(bytes is null ? null : JsonNode.Parse(bytes)?["status"]) ?? "Recovering";
        }
    }

    /// <summary>One governance request on the replayed public state: kept if it succeeds, dropped if refused.</summary>
    private static async Task<IResult> RecoveryGovernanceAsync(HttpContext context, PublicState previous, Lock gate, Func<GovernanceEngine, GovernanceRequest, ProposalSummary> handle)
    {
        if (LedgerServer.ApiVersionRefusal(context) is { } refusal)
        {
            return Respond(refusal);
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        lock (gate)
        {
            try
            {
                GovernanceRequest request = GovernanceRequest.Parse(body.ToArray());
                Transaction tx = previous.Store.BeginTransaction();
                ProposalSummary summary = handle(new GovernanceEngine(tx), request);
                if (tx.TryCommit().Status == CommitStatus.Conflict)
                {
                    return Respond(LedgerResponse.Error(StatusCodes.Status409Conflict, "TransactionConflict", "The governance state changed meanwhile; retry."));
                }

                if (summary.State == ProposalState.Accepted && IsOpening(previous, summary.ProposalId))
                {
                    previous.OpeningProposalId = summary.ProposalId;
                }

                return Respond(LedgerResponse.Ok(JsonNode.Parse(summary.ToJson())));
            }
            catch (GovernanceException ex)
            {
                return Respond(LedgerServer.GovernanceError(ex));
            }
        }
    }

    private static bool IsOpening(PublicState previous, string proposalId)
    {
        byte[]? proposal = previous.Store.BeginTransaction().GetMap(GovernanceMaps.Proposals).Get(System.Text.Encoding.UTF8.GetBytes(proposalId));
        return proposal is not null
            && JsonNode.Parse(proposal)?["actions"] is JsonArray actions
            && actions.Any(a => (string?)a?["name"] == "transition_service_to_open");
    }

    /// <summary>The passed opening proposal and its ballots, for the reopened service to record.</summary>
    private static RecoveryOpeningProposal? OpeningProposal(PublicState previous)
    {
        if (previous.OpeningProposalId is not { } id)
        {
            return null;
        }

        Transaction tx = previous.Store.BeginTransaction();
        byte[] key = System.Text.Encoding.UTF8.GetBytes(id);
        return new RecoveryOpeningProposal(id, tx.GetMap(GovernanceMaps.Proposals).Get(key)!, tx.GetMap(GovernanceMaps.ProposalsInfo).Get(key)!);
    }

    private static IResult Respond(LedgerResponse response) =>
        Results.Text(response.Body?.ToJsonString() ?? "", "application/json", statusCode: response.Status);

    /// <summary>Copies the ledger up to its last signature into the new node's ledger, checking every entry with the recovered secret.</summary>
    private static void AdoptHistory(string previousLedger, string ledger, LedgerSecret secret, long lastSignedSeqno)
    {
        Directory.CreateDirectory(ledger);
        using LedgerWriter writer = LedgerWriter.Open(ledger);
        foreach (StoredEntry stored in new LedgerReader(previousLedger, secret).ReadEntries())
        {
            if (stored.Entry.TxId.Seqno > lastSignedSeqno)
            {
                break;
            }

            writer.Append(stored.Entry);
        }

        writer.Flush();
    }

    private static async Task<WebApplication> ServeRecoveryAsync(LedgerNodeHostOptions options, X509Certificate2 nodeCertificate, X509Certificate2 serviceCertificate, PublicState previous, RecoverySession session, CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        IPEndPoint listen = LedgerServer.ListenEndPoint(options.Rpc, options.RpcListen);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(listen, endpoint => endpoint.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = nodeCertificate })));
        WebApplication app = builder.Build();
        var gate = new Lock();
        long lastSigned = previous.Transaction.ReadVersion;
        MarkRecovering(previous, serviceCertificate);
        app.MapGet("/node/state", () => Results.Json(new JsonObject { ["node_id"] = LedgerSigner.ComputeNodeId(nodeCertificate), ["state"] = "PartOfPublicNetwork", ["last_signed_seqno"] = lastSigned }));
        app.MapGet("/node/network", () => Results.Json(new JsonObject
        {
            ["service_status"] = ServiceStatus(previous, gate),
            ["service_certificate"] = serviceCertificate.ExportCertificatePem(),
            ["recovery_count"] = previous.RecoveryCount,
        }));

        // CCF's order: members first pass transition_service_to_open, naming the identity of the
        // ledger being recovered and the new one; only then are recovery shares taken. Governance
        // runs on the replayed public state with the same constitution, members and ballots.
        app.MapPost("/gov/members/proposals:create", (Func<HttpContext, Task<IResult>>)(context =>
            RecoveryGovernanceAsync(context, previous, gate, (engine, request) => engine.CreateProposal(request, DateTimeOffset.UtcNow))));
        app.MapPost("/gov/members/proposals/{proposalId}/ballots/{memberId}:submit", (HttpContext context, string proposalId, string memberId) =>
            RecoveryGovernanceAsync(context, previous, gate, (engine, request) =>
            {
                LedgerServer.RequireSame(request.ProposalId, proposalId, "proposal id");
                LedgerServer.RequireSame(request.MemberId, memberId, "member id");
                return engine.SubmitBallot(request);
            }));
        app.MapGet("/gov/members/proposals/{proposalId}", (HttpContext context, string proposalId) =>
        {
            if (LedgerServer.ApiVersionRefusal(context) is { } refusal)
            {
                return Respond(refusal);
            }

            lock (gate)
            {
                try
                {
                    return Respond(LedgerResponse.Ok(JsonNode.Parse(new GovernanceEngine(previous.Store.BeginTransaction()).Get(proposalId).ToJson())));
                }
                catch (GovernanceException ex)
                {
                    return Respond(LedgerServer.GovernanceError(ex));
                }
            }
        });
        app.MapGet("/gov/recovery/encrypted-shares/{memberId}", (string memberId) =>
        {
            IssuedShare? share = previous.Issuance.Shares.FirstOrDefault(s => s.MemberId == memberId);
            return share is null
                ? Results.Json(new JsonObject { ["error"] = new JsonObject { ["code"] = "ResourceNotFound", ["message"] = $"Recovery share not found for member {memberId}." } }, statusCode: StatusCodes.Status404NotFound)
                : Results.Json(new JsonObject { ["encryptedShare"] = Convert.ToBase64String(share.EncryptedShare.Span) });
        });
        app.MapPost("/gov/recovery/members/{memberId}:recover", async (HttpContext context, string memberId) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
            if (ServiceStatus(previous, gate) is var serviceStatus && serviceStatus != "WaitingForRecoveryShares")
            {
                return Results.Json(new JsonObject { ["error"] = new JsonObject { ["code"] = "ServiceNotWaitingForRecoveryShares", ["message"] = $"The service is {serviceStatus}: members must first pass transition_service_to_open with the previous and the next service identity." } }, statusCode: StatusCodes.Status403Forbidden);
            }

            try
            {
                GovernanceRequest request = GovernanceRequest.Parse(body.ToArray());
                if (request.MessageType != GovernanceMessageType.RecoveryShare || request.MemberId != memberId)
                {
                    throw new GovernanceException(GovernanceErrorCode.WrongMessageType, $"Expected a recovery_share signed by member {memberId}.");
                }

                string certificate = previous.Transaction.GetMap(GovernanceMaps.MemberCertificates).GetString(memberId)
                    ?? throw new GovernanceException(GovernanceErrorCode.UnknownMember, $"{memberId} is not a member of the service being recovered.");
                request.Verify(certificate);
                byte[] share = Convert.FromBase64String((string?)JsonNode.Parse(request.PayloadText)?["share"] ?? throw new GovernanceException(GovernanceErrorCode.Malformed, "The payload must be {\"share\": <base64>}."));
                int needed;
                lock (gate)
                {
                    needed = session.IsComplete ? 0 : session.Submit(share);
                }

                CryptographicOperations.ZeroMemory(share);
                if (needed == 0)
                {
                    previous.Completed.TrySetResult();
                }

                return Results.Json(new JsonObject { ["message"] = $"{session.SubmittedCount}/{session.Threshold} recovery shares successfully submitted{(needed == 0 ? "; end of recovery procedure initiated" : "")}." });
            }
            catch (Exception ex) when (ex is GovernanceException or RecoveryException or FormatException or System.Text.Json.JsonException)
            {
                int status = ex is GovernanceException { Code: GovernanceErrorCode.UnknownMember or GovernanceErrorCode.InvalidSignature } ? StatusCodes.Status401Unauthorized : StatusCodes.Status400BadRequest;
                return Results.Json(new JsonObject { ["error"] = new JsonObject { ["code"] = ex switch { GovernanceException g => g.Code.ToString(), RecoveryException r => r.Error.ToString(), _ => "InvalidShare" }, ["message"] = ex.Message } }, statusCode: status);
            }
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return app;
    }

    private sealed record PublicState(Store Store, Transaction Transaction, X509Certificate2 ServiceCertificate, IReadOnlyList<X509Certificate2> PreviousServiceCertificates, int RecoveryCount, RecoveryIssuance Issuance)
    {
        public TaskCompletionSource Completed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The previous service's own endorsements of the identities before it.</summary>
        public IReadOnlyList<X509Certificate2> Endorsements { get; init; } = [];

        /// <summary>The accepted <c>transition_service_to_open</c> proposal, once members passed it.</summary>
        public string? OpeningProposalId { get; set; }
    }
}

/// <summary>What a node of a recovered service knows of the service's past.</summary>
/// <param name="RecoveredSeqno">The previous service's last signature: the committed history.</param>
/// <param name="ViewOffset">Views of the recovered service continue above the history's.</param>
/// <param name="PreviousServiceCertificates">The identities before each recovery, oldest first.</param>
/// <param name="RecoveryCount">How many times the service was recovered.</param>
public sealed record NodeHistory(long RecoveredSeqno, long ViewOffset, IReadOnlyList<X509Certificate2> PreviousServiceCertificates, int RecoveryCount)
{
    public static NodeHistory None { get; } = new(0, 1, [], 0);

    /// <summary>
    /// CCF's service endorsements, parallel to <see cref="PreviousServiceCertificates"/>: the i-th
    /// certifies the key of the i-th previous identity and is issued by the next one (the current
    /// identity for the last). Empty for a service recovered before they were issued.
    /// </summary>
    public IReadOnlyList<X509Certificate2> ServiceEndorsements { get; init; } = [];

    /// <summary>The members' <c>transition_service_to_open</c> that let this recovery proceed; the reopened service records it.</summary>
    public RecoveryOpeningProposal? OpeningProposal { get; init; }

    public JsonObject ToJson() => new()
    {
        ["recovered_seqno"] = RecoveredSeqno,
        ["view_offset"] = ViewOffset,
        ["previous_service_certificates"] = new JsonArray([.. PreviousServiceCertificates.Select(c => (JsonNode)c.ExportCertificatePem())]),
        ["service_endorsements"] = new JsonArray([.. ServiceEndorsements.Select(c => (JsonNode)c.ExportCertificatePem())]),
        ["recovery_count"] = RecoveryCount,
        ["opening_proposal"] = OpeningProposal is { } opening ? new JsonObject
        {
            ["proposal_id"] = opening.ProposalId,
            ["proposal"] = Convert.ToBase64String(opening.Proposal),
            ["info"] = Convert.ToBase64String(opening.Info),
        } : null,
    };

    public static NodeHistory FromJson(JsonObject? json) => json is null ? None : new(
        json["recovered_seqno"]!.GetValue<long>(),
        json["view_offset"]!.GetValue<long>(),
        [.. (json["previous_service_certificates"]?.AsArray() ?? []).Select(c => X509Certificate2.CreateFromPem(c!.GetValue<string>()))],
        json["recovery_count"]!.GetValue<int>())
    {
        ServiceEndorsements = [.. (json["service_endorsements"]?.AsArray() ?? []).Select(c => X509Certificate2.CreateFromPem(c!.GetValue<string>()))],
        OpeningProposal = json["opening_proposal"] is JsonObject opening
            ? new RecoveryOpeningProposal((string)opening["proposal_id"]!, Convert.FromBase64String((string)opening["proposal"]!), Convert.FromBase64String((string)opening["info"]!))
            : null,
    };
}

/// <summary>A proposal passed while the service was recovering, as stored in <c>public:ccf.gov.proposals</c> and <c>proposals_info</c>.</summary>
public sealed record RecoveryOpeningProposal(string ProposalId, byte[] Proposal, byte[] Info);
