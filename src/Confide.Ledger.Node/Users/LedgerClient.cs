using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Confide.Ledger.Ledger;
using Confide.Ledger.Node.Http;
using Confide.Ledger.Receipts;

namespace Confide.Ledger.Node.Users;

/// <summary>What a <see cref="LedgerClient"/> needs: a node, the service it must belong to, the user's credentials.</summary>
public sealed class LedgerClientOptions
{
    /// <summary>Any node of the service, https://host:port (writes sent to a follower are forwarded to the leader).</summary>
    public required Uri Node { get; init; }

    /// <summary>The service identity (<c>service_cert.pem</c>): the node's TLS certificate must be issued by it, and receipts verify against it.</summary>
    public required X509Certificate2 ServiceCertificate { get; init; }

    /// <summary>The user's TLS client certificate with its private key (governance registered it with set_user), or null.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>A JWT bearer token from an issuer governance registered, fetched for each request; null for none.</summary>
    public Func<CancellationToken, ValueTask<string>>? AccessToken { get; init; }

    /// <summary>
    /// How long a request is resent while the service answers 503 (an election, a node still
    /// catching up) or cannot be reached, and how long <see cref="LedgerClient.WaitForCommitAsync"/>
    /// and the receipt calls wait. Elections take seconds.
    /// </summary>
    public TimeSpan RetryFor { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>The outcome of an app call: the transaction it ran as (none for a read of nothing) and the response body.</summary>
/// <param name="TransactionId">CCF's <c>x-ms-ccf-transaction-id</c>: the write's id, or the state a read saw.</param>
/// <param name="Body">The parsed JSON body, or null when empty.</param>
public sealed record LedgerResult(TxId? TransactionId, JsonNode? Body);

/// <summary>
/// A user's side of a ledger service's app API, as CCF's clients do it: TLS to any node with the
/// service identity pinned (no CA), the user's certificate or token, resending while the service
/// answers 503 or no connection can be made (nothing ran then; a write whose fate is unknown comes
/// back as <c>TransactionPending</c> with its id instead), then following a write to Committed, and
/// fetching receipts verified against the service identity alone.
/// </summary>
public sealed class LedgerClient : IDisposable
{
    private readonly LedgerClientOptions _options;
    private readonly HttpClient _http;

    public LedgerClient(LedgerClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Node);
        ArgumentNullException.ThrowIfNull(options.ServiceCertificate);
        if (options.Node.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"The node must be an https URL, got '{options.Node}'.", nameof(options));
        }

        _options = options;
        _http = ServiceHttp.CreatePinnedClient(options.ServiceCertificate, options.ClientCertificate);
    }

    /// <summary>GET <c>/app{path}</c> (a read-only endpoint).</summary>
    /// <exception cref="LedgerRequestException">The service refused the call (CCF's error code and message), or still answered 503 after <see cref="LedgerClientOptions.RetryFor"/>.</exception>
    /// <exception cref="HttpRequestException">No connection within <see cref="LedgerClientOptions.RetryFor"/>, or the node is not one of the pinned service (<see cref="HttpRequestError.SecureConnectionError"/>).</exception>
    public Task<LedgerResult> GetAsync(string path, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, AppPath(path), body: null, cancellationToken);

    /// <summary>POST <c>/app{path}</c> with a JSON body; the result names the transaction it ran as (status Pending at first).</summary>
    /// <exception cref="LedgerRequestException">
    /// The service refused the call, or still answered 503 after <see cref="LedgerClientOptions.RetryFor"/>.
    /// With code <c>TransactionPending</c> the write may still commit: its <see cref="LedgerRequestException.TransactionId"/>
    /// is given, to wait for (<see cref="WaitForCommitAsync"/>) before sending it again.
    /// </exception>
    /// <exception cref="HttpRequestException">No connection within <see cref="LedgerClientOptions.RetryFor"/>, or the node is not one of the pinned service.</exception>
    public Task<LedgerResult> PostAsync(string path, JsonNode body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return SendAsync(HttpMethod.Post, AppPath(path), body, cancellationToken);
    }

    /// <summary>DELETE <c>/app{path}</c>.</summary>
    /// <exception cref="LedgerRequestException">The service refused the call, or still answered 503 after <see cref="LedgerClientOptions.RetryFor"/>.</exception>
    /// <exception cref="HttpRequestException">No connection within <see cref="LedgerClientOptions.RetryFor"/>, or the node is not one of the pinned service.</exception>
    public Task<LedgerResult> DeleteAsync(string path, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, AppPath(path), body: null, cancellationToken);

    /// <summary>The status of a transaction as the node reports it (<c>GET /node/tx</c>).</summary>
    public async Task<TxStatus> GetStatusAsync(TxId transactionId, CancellationToken cancellationToken = default)
    {
        LedgerResult result = await SendAsync(HttpMethod.Get, $"/node/tx?transaction_id={transactionId}", null, cancellationToken).ConfigureAwait(false);
        string? status = ServiceHttp.Text(result.Body?["status"]);
        return Enum.TryParse(status, ignoreCase: false, out TxStatus parsed) && Enum.IsDefined(parsed) && !char.IsDigit(status![0])
            ? parsed
            : throw new LedgerRequestException(HttpStatusCode.OK, "InvalidResponse", $"/node/tx answered an unknown status '{status}'.");
    }

    /// <summary>
    /// Waits until <paramref name="transactionId"/> is Committed. Invalid means an election replaced
    /// it: the write was lost and may be sent again.
    /// </summary>
    /// <exception cref="LedgerTransactionInvalidException">The transaction will never commit.</exception>
    /// <exception cref="TimeoutException">Still not committed after <see cref="LedgerClientOptions.RetryFor"/>.</exception>
    public async Task WaitForCommitAsync(TxId transactionId, CancellationToken cancellationToken = default)
    {
        DateTimeOffset giveUp = Now + _options.RetryFor;
        while (true)
        {
            switch (await GetStatusAsync(transactionId, cancellationToken).ConfigureAwait(false))
            {
                case TxStatus.Committed:
                    return;
                case TxStatus.Invalid:
                    throw new LedgerTransactionInvalidException(transactionId);
            }

            if (Now >= giveUp)
            {
                throw new TimeoutException($"Transaction {transactionId} was not committed within {_options.RetryFor.TotalSeconds:0} s.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The receipt of a committed transaction (CCF's JSON form, <c>GET /app/receipt</c>), verified
    /// against the service identity before it is returned; waits while the service answers 202 (no
    /// committed signature covers it yet).
    /// </summary>
    /// <exception cref="ReceiptVerificationException">The receipt does not verify against the pinned service identity.</exception>
    public async Task<Receipt> GetReceiptAsync(TxId transactionId, CancellationToken cancellationToken = default)
    {
        byte[] json = await GetUntilReadyAsync($"/app/receipt?transaction_id={transactionId}", cancellationToken).ConfigureAwait(false);
        Receipt receipt = ReceiptVerifier.Verify(Encoding.UTF8.GetString(json), _options.ServiceCertificate);
        return receipt.TxId == transactionId
            ? receipt
            : throw new LedgerRequestException(HttpStatusCode.OK, "InvalidResponse", $"Asked for the receipt of {transactionId}, got one for {receipt.TxId}.");
    }

    /// <summary>The COSE receipt of a committed transaction (CCF's profile), verified against the service identity.</summary>
    /// <exception cref="ReceiptVerificationException">The receipt does not verify against the pinned service identity.</exception>
    public async Task<CoseReceipt> GetCoseReceiptAsync(TxId transactionId, CancellationToken cancellationToken = default)
    {
        byte[] cose = await GetUntilReadyAsync($"/app/log/public/cose_receipt?transaction_id={transactionId}", cancellationToken).ConfigureAwait(false);
        CoseReceipt receipt = CoseReceipt.Verify(cose, _options.ServiceCertificate);
        return receipt.TxId == transactionId
            ? receipt
            : throw new LedgerRequestException(HttpStatusCode.OK, "InvalidResponse", $"Asked for the COSE receipt of {transactionId}, got one for {receipt.TxId}.");
    }

    public void Dispose() => _http.Dispose();

    private DateTimeOffset Now => _options.TimeProvider.GetUtcNow();

    private static string AppPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return path.StartsWith('/') ? "/app" + path : "/app/" + path;
    }

    private async Task<LedgerResult> SendAsync(HttpMethod method, string pathAndQuery, JsonNode? body, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendWithRetriesAsync(method, pathAndQuery, body, cancellationToken).ConfigureAwait(false);
        byte[] content = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw Refusal(response, content);
        }

        TxId? id = response.Headers.TryGetValues(LedgerServer.TransactionIdHeader, out IEnumerable<string>? values) && TxId.TryParse(values.FirstOrDefault(), out TxId parsed) ? parsed : null;
        JsonNode? parsedBody;
        try
        {
            parsedBody = content.Length == 0 ? null : JsonNode.Parse(content);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new LedgerRequestException(response.StatusCode, "InvalidResponse", $"The response is not JSON: {ex.Message}");
        }

        return new LedgerResult(id, parsedBody);
    }

    /// <summary>GETs a resource the service makes once a signature is committed: 202 and Retry-After until then.</summary>
    private async Task<byte[]> GetUntilReadyAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        DateTimeOffset giveUp = Now + _options.RetryFor;
        while (true)
        {
            using HttpResponseMessage response = await SendWithRetriesAsync(HttpMethod.Get, pathAndQuery, null, cancellationToken).ConfigureAwait(false);
            byte[] content = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return content;
            }

            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                throw Refusal(response, content);
            }

            if (Now >= giveUp)
            {
                throw new TimeoutException($"{pathAndQuery} was still not ready after {_options.RetryFor.TotalSeconds:0} s.");
            }

            await Task.Delay(ServiceHttp.RetryDelay(response), _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends with the user's credentials, resending what the service did not run (see <see cref="ServiceHttp.SendWithRetriesAsync"/>).</summary>
    private async Task<HttpResponseMessage> SendWithRetriesAsync(HttpMethod method, string pathAndQuery, JsonNode? body, CancellationToken cancellationToken)
    {
        // A token per call (it may be refreshed), fetched once for all the resends of this call.
        string? token = _options.AccessToken is { } accessToken ? await accessToken(cancellationToken).ConfigureAwait(false) : null;
        return await ServiceHttp.SendWithRetriesAsync(_http, () =>
        {
            var request = new HttpRequestMessage(method, new Uri(_options.Node, pathAndQuery));
            if (body is not null)
            {
                request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            }

            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            return request;
        }, _options.RetryFor, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
    }

    private static LedgerRequestException Refusal(HttpResponseMessage response, byte[] content)
    {
        (string code, string message) = ServiceHttp.ParseError(response, content);
        TxId? id = response.Headers.TryGetValues(LedgerServer.TransactionIdHeader, out IEnumerable<string>? values) && TxId.TryParse(values.FirstOrDefault(), out TxId parsedId) ? parsedId : null;
        return new LedgerRequestException(response.StatusCode, code, message, id);
    }
}

/// <summary>A call the service refused: the HTTP status and CCF's error code and message.</summary>
public sealed class LedgerRequestException(HttpStatusCode status, string code, string message, TxId? transactionId = null) : Exception($"{(int)status} {code}: {message}")
{
    public HttpStatusCode Status { get; } = status;

    public string Code { get; } = code;

    /// <summary>The transaction the refusal concerns, when the service named one (e.g. <c>TransactionPending</c>: wait for it).</summary>
    public TxId? TransactionId { get; } = transactionId;
}

/// <summary>The transaction was replaced by an election and will never commit; the write may be sent again.</summary>
public sealed class LedgerTransactionInvalidException(TxId transactionId) : Exception($"Transaction {transactionId} is Invalid: an election replaced it, and it will never commit.")
{
    public TxId TransactionId { get; } = transactionId;
}
