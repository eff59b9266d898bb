using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Confide.Tls.Verification;

namespace Confide.Tls.EndToEnd;

/// <summary>
/// The client side of end-to-end encrypted messages: it verifies the server's attested key with an
/// <see cref="AttestedCertificateVerifier"/> before anything is sent, makes a session with a fresh
/// ephemeral key, checks the server's key confirmation, then sends requests sealed with strictly
/// increasing message numbers, one at a time (use several clients for concurrency).
/// </summary>
public sealed class EndToEndClient(HttpClient http, Uri endpoint, AttestedCertificateVerifier verifier) : IDisposable
{
    private readonly Uri _endpoint = new(endpoint.ToString().TrimEnd('/') + "/");
    private readonly SemaphoreSlim _gate = new(1, 1);
    private EndToEndSessionKeys? _keys;
    private string? _sessionId;
    private ulong _next;

    /// <summary>The server enclave, once verified.</summary>
    public AttestedPeer? Server { get; private set; }

    /// <summary>Verifies the server's key and makes a session (done by the first <see cref="SendAsync"/> otherwise).</summary>
    /// <exception cref="AttestedTlsException">The server's key is not attested by the enclave the policy names: nothing was sent.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ConnectCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Sends <paramref name="request"/> sealed and returns the opened answer.</summary>
    public async Task<EndToEndResponse> SendAsync(EndToEndRequest request, CancellationToken cancellationToken = default)
    {
        byte[] plaintext = request.Encode();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                if (_keys is null)
                {
                    await ConnectCoreAsync(cancellationToken).ConfigureAwait(false);
                }

                ulong sequence = _next++;
                byte[] message = _keys!.SealRequest(sequence, plaintext);
                using var content = new ByteArrayContent(message);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
                using HttpResponseMessage response = await http.PostAsync(new Uri(_endpoint, "sessions/" + _sessionId), content, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotFound && attempt == 0)
                {
                    Reset(); // the server restarted or expired the session: a new one, with the server verified again
                    continue;
                }

                byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw new EndToEndException(EndToEndError.Malformed, $"The server refused the message ({(int)response.StatusCode}): {System.Text.Encoding.UTF8.GetString(body)}");
                }

                byte[] answer = _keys.OpenResponse(body, out ulong answered);
                if (answered != sequence)
                {
                    throw new EndToEndException(EndToEndError.OutOfOrder, $"The answer is for message {answered}, not {sequence}.");
                }

                return EndToEndResponse.Decode(answer);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        Reset();
        _gate.Dispose();
    }

    private async Task ConnectCoreAsync(CancellationToken cancellationToken)
    {
        Reset();
        using JsonDocument document = JsonDocument.Parse(await http.GetStringAsync(new Uri(_endpoint, "key"), cancellationToken).ConfigureAwait(false));
        byte[] serverKey = Convert.FromBase64String(document.RootElement.GetProperty("key").GetString()!);
        byte[] evidence = Convert.FromBase64String(document.RootElement.GetProperty("evidence").GetString()!);
        Server = await verifier.VerifyKeyAsync(serverKey, evidence, TimeSpan.FromHours(1), cancellationToken).ConfigureAwait(false);

        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        byte[] clientKey = ephemeral.ExportSubjectPublicKeyInfo();
        using HttpResponseMessage created = await http.PostAsJsonAsync(new Uri(_endpoint, "sessions"), new { key = Convert.ToBase64String(clientKey) }, cancellationToken).ConfigureAwait(false);
        string text = await created.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!created.IsSuccessStatusCode)
        {
            throw new EndToEndException(EndToEndError.UntrustedServer, $"The server refused a session ({(int)created.StatusCode}): {text}");
        }

        using JsonDocument session = JsonDocument.Parse(text);
        string id = session.RootElement.GetProperty("session").GetString()!;
        byte[] random = Convert.FromBase64String(session.RootElement.GetProperty("random").GetString()!);
        byte[] confirmation = Convert.FromBase64String(session.RootElement.GetProperty("confirmation").GetString()!);
        using var server = ECDiffieHellman.Create();
        server.ImportSubjectPublicKeyInfo(serverKey, out _);
        var keys = EndToEndSessionKeys.Derive(ephemeral.DeriveRawSecretAgreement(server.PublicKey), Convert.FromHexString(id), random, clientKey, serverKey);
        if (!keys.ConfirmationMatches(confirmation))
        {
            keys.Dispose();
            throw new EndToEndException(EndToEndError.UntrustedServer, "The server's key confirmation is wrong: it does not hold the attested key (or the session was tampered with).");
        }

        _keys = keys;
        _sessionId = id;
        _next = 0;
    }

    private void Reset()
    {
        _keys?.Dispose();
        _keys = null;
        _sessionId = null;
    }
}
