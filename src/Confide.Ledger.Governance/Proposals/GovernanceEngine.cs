using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.Ledger.Governance.Constitution;
using Confide.Ledger.Governance.Requests;
using Confide.Ledger.Kv;

namespace Confide.Ledger.Governance.Proposals;

/// <summary>
/// Governance over one Kv <see cref="Transaction"/>, as CCF's /gov endpoints: proposals, ballots,
/// withdrawals and member acknowledgements, each a signed <see cref="GovernanceRequest"/>, judged by
/// the constitution stored in the same transaction.
/// </summary>
/// <remarks>
/// The node runs each request in its own read-write transaction and commits it when the call
/// returns. A <see cref="GovernanceException"/> is thrown before anything is written, so a refused
/// request leaves the transaction as it was. A proposal that resolves to Accepted has
/// <c>apply</c> run at once; if it throws, none of its writes is kept and the proposal is Failed.
/// As in CCF, whenever a proposal leaves Open the other finished proposals are removed from the
/// store (the ledger keeps their history).
/// </remarks>
public sealed class GovernanceEngine
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Transaction _transaction;
    private readonly ConstitutionRuntime _runtime;
    private readonly ProposalReplayGuard _replayGuard;

    /// <summary>An engine reading and writing <paramref name="transaction"/>.</summary>
    public GovernanceEngine(Transaction transaction, GovernanceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        options ??= GovernanceOptions.Default;
        _transaction = transaction;
        _runtime = new ConstitutionRuntime(options.Limits);
        _replayGuard = new ProposalReplayGuard(options.CreatedAtTolerance);
    }

    private MapHandle Proposals => _transaction.GetMap(GovernanceMaps.Proposals);

    private MapHandle ProposalsInfo => _transaction.GetMap(GovernanceMaps.ProposalsInfo);

    /// <summary>
    /// <c>POST /gov/members/proposals:create</c>: checks the signed proposal (an active member's,
    /// fresh, not seen before), has the constitution validate it, records it Open and resolves it
    /// at once, so it may come back Accepted (and applied) already.
    /// </summary>
    /// <exception cref="GovernanceException">Refused; nothing was written.</exception>
    public ProposalSummary CreateProposal(GovernanceRequest request, DateTimeOffset now)
    {
        Authenticate(request, GovernanceMessageType.Proposal, requireActive: true);
        string constitution = RequireConstitution();
        string replayKey = _replayGuard.Check(_transaction, request, now);
        string proposal = DecodeText(request.Payload, "proposal");
        string proposalId = ProposalIdOf(request);
        if (Proposals.Has(proposalId))
        {
            throw new GovernanceException(GovernanceErrorCode.Replayed, $"Proposal {proposalId} already exists.");
        }

        ValidationResult validation;
        try
        {
            validation = _runtime.Validate(_transaction, constitution, proposal);
        }
        catch (ScriptException ex)
        {
            throw new GovernanceException(GovernanceErrorCode.ProposalFailedToValidate, $"Failed to execute validation: {ex.Reason}", ex);
        }

        if (!validation.Valid)
        {
            throw new GovernanceException(GovernanceErrorCode.ProposalFailedToValidate, $"Proposal failed to validate: {validation.Description}");
        }

        _replayGuard.Record(_transaction, replayKey, proposalId);
        Proposals.PutString(proposalId, proposal);
        var info = new ProposalInfo { ProposerId = request.MemberId, State = ProposalState.Open };
        WriteInfo(proposalId, info);
        RecordHistory(request);
        Resolve(proposalId, proposal, info, constitution);
        return ProposalSummary.From(proposalId, info);
    }

    /// <summary>
    /// <c>POST /gov/members/proposals/{id}/ballots/{memberId}:submit</c>: records an active member's
    /// ballot on an open proposal, then re-runs every ballot and resolves. Submitting the same
    /// ballot again changes nothing.
    /// </summary>
    /// <exception cref="GovernanceException">Refused; nothing was written.</exception>
    public ProposalSummary SubmitBallot(GovernanceRequest request)
    {
        Authenticate(request, GovernanceMessageType.Ballot, requireActive: true);
        string proposalId = request.ProposalId!;
        ProposalInfo info = ReadInfo(proposalId) ?? throw NotFound(proposalId);
        if (info.State != ProposalState.Open)
        {
            throw new GovernanceException(GovernanceErrorCode.ProposalNotOpen, $"Proposal {proposalId} is currently in state {info.State} - only Open proposals can receive votes.");
        }

        string proposal = Proposals.GetString(proposalId) ?? throw NotFound(proposalId);
        string ballot = ReadStringField(request, "ballot");
        string constitution = RequireConstitution();
        if (info.Ballots.TryGetValue(request.MemberId, out string? previous))
        {
            return previous == ballot
                ? ProposalSummary.From(proposalId, info)
                : throw new GovernanceException(GovernanceErrorCode.VoteAlreadyExists, $"Different ballot already submitted by {request.MemberId} for {proposalId}.");
        }

        info.Ballots[request.MemberId] = ballot;
        RecordHistory(request);
        Resolve(proposalId, proposal, info, constitution);
        return ProposalSummary.From(proposalId, info);
    }

    /// <summary>
    /// <c>POST /gov/members/proposals/{id}:withdraw</c>: the proposer withdraws an open proposal.
    /// Withdrawing again changes nothing; an unknown proposal gives null (CCF's 204: it may have
    /// finished and been removed).
    /// </summary>
    /// <exception cref="GovernanceException">Refused; nothing was written.</exception>
    public ProposalSummary? Withdraw(GovernanceRequest request)
    {
        Authenticate(request, GovernanceMessageType.Withdrawal, requireActive: true);
        string proposalId = request.ProposalId!;
        if (ReadInfo(proposalId) is not ProposalInfo info)
        {
            return null;
        }

        if (info.ProposerId != request.MemberId)
        {
            throw new GovernanceException(GovernanceErrorCode.NotProposer, $"Proposal {proposalId} can only be withdrawn by proposer {info.ProposerId}, not caller {request.MemberId}.");
        }

        if (info.State is not (ProposalState.Open or ProposalState.Withdrawn))
        {
            throw new GovernanceException(GovernanceErrorCode.ProposalNotOpen, $"Proposal {proposalId} is currently in state {info.State} and cannot be withdrawn.");
        }

        if (info.State == ProposalState.Open)
        {
            info.State = ProposalState.Withdrawn;
            WriteInfo(proposalId, info);
            RemoveOtherFinishedProposals(proposalId);
            RecordHistory(request);
        }

        return ProposalSummary.From(proposalId, info);
    }

    /// <summary>
    /// <c>POST /gov/members/state-digests/{memberId}:update</c>: records <paramref name="stateDigest"/>
    /// (the node's current Merkle root, hex) as the digest the member must acknowledge.
    /// </summary>
    /// <exception cref="GovernanceException">Refused; nothing was written.</exception>
    public StateDigest UpdateStateDigest(GovernanceRequest request, string stateDigest)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDigest);
        Authenticate(request, GovernanceMessageType.StateDigest, requireActive: false);
        JsonObject ack = ReadAck(request.MemberId) ?? [];
        ack["state_digest"] = stateDigest;
        _transaction.GetMap(GovernanceMaps.MemberAcks).PutString(request.MemberId, ack.ToJsonString());
        return new StateDigest(request.MemberId, stateDigest);
    }

    /// <summary>
    /// <c>POST /gov/members/state-digests/{memberId}:ack</c>: the member signs back the digest
    /// recorded for it; an Accepted member becomes Active.
    /// </summary>
    /// <returns>The member's status afterwards.</returns>
    /// <exception cref="GovernanceException">Refused; nothing was written.</exception>
    public MemberStatus Acknowledge(GovernanceRequest request)
    {
        Authenticate(request, GovernanceMessageType.Ack, requireActive: false);
        string memberId = request.MemberId;
        JsonObject ack = ReadAck(memberId) ?? throw new GovernanceException(GovernanceErrorCode.StateDigestNotFound, $"No ACK record exists for member {memberId}.");
        string expected = ack["state_digest"]?.GetValue<string>() ?? "";
        if (expected.Length == 0)
        {
            throw new GovernanceException(GovernanceErrorCode.StateDigestNotFound, $"Member {memberId} has no state digest to acknowledge yet; it must request one (state_digest) first.");
        }

        string submitted = ReadStringField(request, "stateDigest");
        if (submitted != expected)
        {
            throw new GovernanceException(GovernanceErrorCode.StateDigestMismatch, $"Submitted state digest is not valid. Expected {expected}, received {submitted}.");
        }

        MapHandle members = _transaction.GetMap(GovernanceMaps.MemberInfo);
        JsonObject info = ReadJsonObject(members, memberId) ?? throw new GovernanceException(GovernanceErrorCode.UnknownMember, $"Member {memberId} has a certificate but no member information.");
        ack["cose_sign1_req"] = Convert.ToBase64String(request.Envelope.Span);
        _transaction.GetMap(GovernanceMaps.MemberAcks).PutString(memberId, ack.ToJsonString());
        if (StatusOf(info) != MemberStatus.Active)
        {
            info["status"] = nameof(MemberStatus.Active);
            members.PutString(memberId, info.ToJsonString());
        }

        return MemberStatus.Active;
    }

    /// <summary><c>GET /gov/members/proposals/{id}</c>.</summary>
    /// <exception cref="GovernanceException"><see cref="GovernanceErrorCode.ProposalNotFound"/>.</exception>
    public ProposalSummary Get(string proposalId) =>
        ProposalSummary.From(proposalId, ReadInfo(proposalId) ?? throw NotFound(proposalId));

    /// <summary><c>GET /gov/members/proposals</c>: every proposal still in the store, by id.</summary>
    public ProposalList List()
    {
        var proposals = new List<ProposalSummary>();
        ProposalsInfo.ForEach((key, value) =>
        {
            proposals.Add(ProposalSummary.From(Encoding.UTF8.GetString(key.Span), ProposalInfo.FromJson(value.Span)));
            return true;
        });
        return new ProposalList(proposals);
    }

    /// <summary><c>GET /gov/members/proposals/{id}/actions</c>: the proposal body as submitted.</summary>
    /// <exception cref="GovernanceException"><see cref="GovernanceErrorCode.ProposalNotFound"/>.</exception>
    public string GetActions(string proposalId) => Proposals.GetString(proposalId) ?? throw NotFound(proposalId);

    /// <summary><c>GET /gov/members/proposals/{id}/ballots/{memberId}</c>: the member's ballot script.</summary>
    /// <exception cref="GovernanceException"><see cref="GovernanceErrorCode.ProposalNotFound"/>, or InvalidInput when the member has not voted.</exception>
    public string GetBallot(string proposalId, string memberId)
    {
        ProposalInfo info = ReadInfo(proposalId) ?? throw NotFound(proposalId);
        return info.Ballots.TryGetValue(memberId, out string? ballot)
            ? ballot
            : throw new GovernanceException(GovernanceErrorCode.InvalidInput, $"Member {memberId} has not voted for proposal {proposalId}.");
    }

    /// <summary><c>GET /gov/members/state-digests/{memberId}</c>, or null when the member has no ACK record.</summary>
    public StateDigest? GetStateDigest(string memberId) =>
        ReadAck(memberId)?["state_digest"]?.GetValue<string>() is string digest ? new StateDigest(memberId, digest) : null;

    // Runs the ballots and resolve, and apply when accepted; the outcome lands in info and the store.
    private void Resolve(string proposalId, string proposal, ProposalInfo info, string constitution)
    {
        var votes = new List<BallotVote>();
        var failures = new SortedDictionary<string, Failure>(StringComparer.Ordinal);
        foreach ((string memberId, string ballot) in info.Ballots)
        {
            try
            {
                votes.Add(new BallotVote(memberId, _runtime.Vote(_transaction, ballot, proposal, info.ProposerId, $"{GovernanceMaps.ProposalsInfo}[{proposalId}].ballots[{memberId}]")));
            }
            catch (ScriptException ex)
            {
                failures[memberId] = new Failure(ex.Reason, ex.Trace);
            }
        }

        try
        {
            string outcome = _runtime.Resolve(_transaction, constitution, proposal, info.ProposerId, votes, proposalId);
            info.State = outcome switch
            {
                nameof(ProposalState.Open) => ProposalState.Open,
                nameof(ProposalState.Accepted) => ProposalState.Accepted,
                nameof(ProposalState.Rejected) => ProposalState.Rejected,
                _ => Fail(info, new Failure($"resolve() returned invalid status value: \"{outcome}\"", null)),
            };
        }
        catch (ScriptException ex)
        {
            Fail(info, new Failure($"Failed to resolve(): {ex.Reason}", ex.Trace));
        }

        if (info.State != ProposalState.Open)
        {
            RemoveOtherFinishedProposals(proposalId);
            info.FinalVotes = new SortedDictionary<string, bool>(votes.ToDictionary(vote => vote.MemberId, vote => vote.Vote), StringComparer.Ordinal);
            info.VoteFailures = failures;
            if (info.State == ProposalState.Accepted)
            {
                // apply may look at its own proposal, which should then read Accepted.
                WriteInfo(proposalId, info);
                try
                {
                    _runtime.Apply(_transaction, constitution, proposal, proposalId);
                }
                catch (ScriptException ex)
                {
                    Fail(info, new Failure($"Failed to apply(): {ex.Reason}", ex.Trace));
                }
            }
        }

        WriteInfo(proposalId, info);
    }

    private static ProposalState Fail(ProposalInfo info, Failure failure)
    {
        info.State = ProposalState.Failed;
        info.Failure = failure;
        return ProposalState.Failed;
    }

    private void Authenticate(GovernanceRequest request, GovernanceMessageType expected, bool requireActive)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.MessageType != expected)
        {
            throw new GovernanceException(GovernanceErrorCode.WrongMessageType, $"This operation takes a signed {expected.ToWireName()}, not a {request.MessageType.ToWireName()}.");
        }

        string certificate = _transaction.GetMap(GovernanceMaps.MemberCertificates).GetString(request.MemberId)
            ?? throw new GovernanceException(GovernanceErrorCode.UnknownMember, $"Signer {request.MemberId} is not a known member.");
        request.Verify(certificate);

        if (requireActive)
        {
            MemberStatus? status = ReadJsonObject(_transaction.GetMap(GovernanceMaps.MemberInfo), request.MemberId) is JsonObject info ? StatusOf(info) : null;
            if (status != MemberStatus.Active)
            {
                throw new GovernanceException(GovernanceErrorCode.MemberNotActive, $"Member {request.MemberId} is not active ({status?.ToString() ?? "no member information"}); it must acknowledge a state digest first.");
            }
        }
    }

    private string RequireConstitution() =>
        ConstitutionStore.Read(_transaction) ?? throw new GovernanceException(GovernanceErrorCode.NoConstitution, "No constitution is set - proposals cannot be evaluated.");

    // CCF binds the id to the state read (its Merkle root) and the request (its signature's
    // digest); the version read stands in for the root here.
    private string ProposalIdOf(GovernanceRequest request)
    {
        Span<byte> input = stackalloc byte[8 + SHA256.HashSizeInBytes];
        BinaryPrimitives.WriteInt64BigEndian(input, _transaction.ReadVersion);
        SHA256.HashData(request.Signature.Span, input[8..]);
        return Convert.ToHexStringLower(SHA256.HashData(input));
    }

    private void RemoveOtherFinishedProposals(string keptProposalId)
    {
        var finished = new List<string>();
        ProposalsInfo.ForEach((key, value) =>
        {
            string id = Encoding.UTF8.GetString(key.Span);
            if (id != keptProposalId && ProposalInfo.FromJson(value.Span).State != ProposalState.Open)
            {
                finished.Add(id);
            }

            return true;
        });

        foreach (string id in finished)
        {
            Proposals.Remove(id);
            ProposalsInfo.Remove(id);
        }
    }

    private void RecordHistory(GovernanceRequest request) =>
        _transaction.GetMap(GovernanceMaps.CoseHistory).Put(Encoding.UTF8.GetBytes(request.MemberId), request.Envelope.Span);

    private ProposalInfo? ReadInfo(string proposalId)
    {
        ArgumentNullException.ThrowIfNull(proposalId);
        byte[]? value = ProposalsInfo.Get(Encoding.UTF8.GetBytes(proposalId));
        return value is null ? null : ProposalInfo.FromJson(value);
    }

    private void WriteInfo(string proposalId, ProposalInfo info) =>
        ProposalsInfo.Put(Encoding.UTF8.GetBytes(proposalId), info.ToJson());

    private JsonObject? ReadAck(string memberId) => ReadJsonObject(_transaction.GetMap(GovernanceMaps.MemberAcks), memberId);

    private static JsonObject? ReadJsonObject(MapHandle map, string key) =>
        map.GetString(key) is string json ? JsonNode.Parse(json) as JsonObject : null;

    private static MemberStatus? StatusOf(JsonObject info) =>
        Enum.TryParse(info["status"]?.GetValue<string>(), ignoreCase: false, out MemberStatus status) ? status : null;

    private static string DecodeText(ReadOnlyMemory<byte> payload, string what)
    {
        try
        {
            return StrictUtf8.GetString(payload.Span);
        }
        catch (DecoderFallbackException ex)
        {
            throw new GovernanceException(GovernanceErrorCode.InvalidInput, $"The signed {what} is not UTF-8 text.", ex);
        }
    }

    private static string ReadStringField(GovernanceRequest request, string field)
    {
        string body = DecodeText(request.Payload, request.MessageType.ToWireName());
        try
        {
            if (JsonNode.Parse(body) is JsonObject json && json[field] is JsonValue value && value.TryGetValue(out string? text))
            {
                return text;
            }
        }
        catch (JsonException)
        {
            // Reported below, as any other body without the field.
        }

        throw new GovernanceException(GovernanceErrorCode.InvalidInput, $"Signed request body is not a JSON object containing required string field \"{field}\".");
    }

    private static GovernanceException NotFound(string proposalId) =>
        new(GovernanceErrorCode.ProposalNotFound, $"Could not find proposal {proposalId}.");
}
