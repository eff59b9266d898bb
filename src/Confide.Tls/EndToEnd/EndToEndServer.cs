using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Confide.AttestationService.Client;
using Confide.Tee;
using Confide.Tls.Certificates;

namespace Confide.Tls.EndToEnd;

/// <summary>
/// The enclave side of end-to-end encrypted messages, for deployments where TLS ends at an ingress:
/// an attested P-256 key (evidence over its SPKI, or a token listing it), sessions keyed by ECDH
/// with each client's ephemeral key, and strictly increasing message numbers per session so that
/// a replayed, reordered or dropped message is refused. Sessions live in memory: a restart ends
/// them, and their old messages can never be opened again (the keys depended on a random the
/// server forgot).
/// </summary>
public sealed class EndToEndServer : IDisposable
{
    /// <summary>Most sessions kept; beyond it, the least recently used are dropped.</summary>
    public const int MaxSessions = 10_000;

    private readonly ECDiffieHellman _key;
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    private EndToEndServer(ECDiffieHellman key, byte[] evidence, TimeProvider time)
    {
        _key = key;
        _time = time;
        PublicKey = key.ExportSubjectPublicKeyInfo();
        Evidence = evidence;
    }

    /// <summary>The server key's DER SubjectPublicKeyInfo.</summary>
    public byte[] PublicKey { get; }

    /// <summary>Evidence binding <see cref="PublicKey"/> (the DICE extension's encoding).</summary>
    public byte[] Evidence { get; }

    /// <summary>Sessions idle longer than this are forgotten.</summary>
    public TimeSpan SessionIdleTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>A server key attested by the TEE's own evidence.</summary>
    public static async Task<EndToEndServer> CreateAsync(ITee tee, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            byte[] evidence = await AttestedCertificate.CreateKeyEvidenceAsync(tee, key.ExportSubjectPublicKeyInfo(), cancellationToken).ConfigureAwait(false);
            return new EndToEndServer(key, evidence, time ?? TimeProvider.System);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>A server key attested by a token from <paramref name="attestation"/> (token mode: clients trust the service).</summary>
    public static async Task<EndToEndServer> CreateWithTokenAsync(ITee tee, AttestationClient attestation, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            ECParameters parameters = key.ExportParameters(includePrivateParameters: false);
            var runtime = new Confide.AttestationService.Tokens.RuntimeData(AttestedCertificate.RuntimeKeys(parameters), Confide.AttestationService.Tokens.RuntimeDataType.Json);
            TeeEvidence evidence = await tee.GetEvidenceAsync(SHA256.HashData(runtime.Data), cancellationToken).ConfigureAwait(false);
            AttestationResult result = evidence.Format == EvidenceFormat.TdxQuote
                ? await attestation.AttestTdxVmAsync(evidence.Data, runtime, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await attestation.AttestSgxEnclaveAsync(evidence.Data, runtime, cancellationToken: cancellationToken).ConfigureAwait(false);
            byte[] record = Confide.Tls.Evidence.TaggedEvidence.EncodeRecord(AttestedCertificate.TokenMediaType, System.Text.Encoding.ASCII.GetBytes(result.Token));
            return new EndToEndServer(key, record, time ?? TimeProvider.System);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>What <c>GET .../key</c> returns: the key and its evidence.</summary>
    public JsonObject KeyDocument() => new()
    {
        ["version"] = EndToEndSessionKeys.Version,
        ["key"] = Convert.ToBase64String(PublicKey),
        ["evidence"] = Convert.ToBase64String(Evidence),
    };

    /// <summary>Starts a session with a client's ephemeral P-256 key; returns its id, the server random and the key confirmation.</summary>
    /// <exception cref="EndToEndException">The client key is not a P-256 public key.</exception>
    public (byte[] SessionId, byte[] ServerRandom, byte[] Confirmation) CreateSession(byte[] clientPublicKey)
    {
        byte[] secret;
        try
        {
            using var client = ECDiffieHellman.Create();
            client.ImportSubjectPublicKeyInfo(clientPublicKey, out int read);
            if (read != clientPublicKey.Length || client.KeySize != 256)
            {
                throw new CryptographicException("not a P-256 SubjectPublicKeyInfo");
            }

            secret = _key.DeriveRawSecretAgreement(client.PublicKey);
        }
        catch (CryptographicException ex)
        {
            throw new EndToEndException(EndToEndError.Malformed, $"The client key is not a P-256 public key (DER SubjectPublicKeyInfo): {ex.Message}", ex);
        }

        byte[] sessionId = RandomNumberGenerator.GetBytes(EndToEndSessionKeys.SessionIdSize);
        byte[] serverRandom = RandomNumberGenerator.GetBytes(EndToEndSessionKeys.RandomSize);
        var keys = EndToEndSessionKeys.Derive(secret, sessionId, serverRandom, clientPublicKey, PublicKey);
        Trim();
        _sessions[Convert.ToHexString(sessionId)] = new Session(keys, _time.GetUtcNow());
        return (sessionId, serverRandom, keys.Confirmation.ToArray());
    }

    /// <summary>
    /// Opens a request of session <paramref name="sessionId"/>, runs <paramref name="handle"/> on its
    /// plaintext, and seals the answer with the same message number.
    /// </summary>
    /// <exception cref="EndToEndException">Unknown session, replayed / out-of-order / tampered / malformed message.</exception>
    public async Task<byte[]> HandleAsync(string sessionId, byte[] message, Func<byte[], CancellationToken, Task<byte[]>> handle, CancellationToken cancellationToken)
    {
        if (!_sessions.TryGetValue(sessionId.ToUpperInvariant(), out Session? session))
        {
            throw new EndToEndException(EndToEndError.UnknownSession, "No such session (expired, or the server restarted): make a new one.");
        }

        ulong sequence;
        byte[] plaintext;
        lock (session)
        {
            ulong presented = EndToEndSessionKeys.PeekSequence(message);
            if (presented < session.NextSequence)
            {
                throw new EndToEndException(EndToEndError.Replayed, $"Message {presented} was already received (next is {session.NextSequence}).");
            }

            if (presented > session.NextSequence)
            {
                throw new EndToEndException(EndToEndError.OutOfOrder, $"Message {presented} arrived before message {session.NextSequence}.");
            }

            plaintext = session.Keys.OpenRequest(message, out sequence);
            session.NextSequence = sequence + 1; // only an authentic message advances the session
            session.LastUsed = _time.GetUtcNow();
        }

        try
        {
            byte[] answer = await handle(plaintext, cancellationToken).ConfigureAwait(false);
            return session.Keys.SealResponse(sequence, answer);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    public void Dispose()
    {
        _key.Dispose();
        foreach (Session session in _sessions.Values)
        {
            session.Keys.Dispose();
        }
    }

    private void Trim()
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (_sessions.Count < MaxSessions && _sessions.Count % 256 != 0)
        {
            return;
        }

        foreach ((string id, Session session) in _sessions)
        {
            // Not disposed here: a request may still be using the session; the GC frees its keys.
            if (now - session.LastUsed > SessionIdleTimeout)
            {
                _sessions.TryRemove(id, out _);
            }
        }

        foreach ((string id, _) in _sessions.OrderBy(s => s.Value.LastUsed).Take(Math.Max(0, _sessions.Count - MaxSessions + 1)))
        {
            _sessions.TryRemove(id, out _);
        }
    }

    private sealed class Session(EndToEndSessionKeys keys, DateTimeOffset created)
    {
        public EndToEndSessionKeys Keys { get; } = keys;

        public ulong NextSequence { get; set; }

        public DateTimeOffset LastUsed { get; set; } = created;
    }
}
