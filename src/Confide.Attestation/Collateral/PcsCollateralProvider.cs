using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Collateral;

/// <summary>
/// Fetches collateral from Intel's Provisioning Certification Service (API v4) or from a PCCS
/// that mirrors it.
/// </summary>
/// <remarks>
/// <para>Requests: <c>GET sgx/certification/v4/pckcrl?ca=processor|platform&amp;encoding=der</c> (DER
/// CRL, issuer chain in <c>SGX-PCK-CRL-Issuer-Chain</c>), <c>GET sgx|tdx/certification/v4/tcb?fmspc=HEX</c>
/// (<c>{"tcbInfo":{...},"signature":"hex"}</c>, chain in <c>TCB-Info-Issuer-Chain</c> or the older
/// <c>SGX-TCB-Info-Issuer-Chain</c>), <c>GET sgx|tdx/certification/v4/qe/identity</c>
/// (<c>{"enclaveIdentity":{...},"signature":"hex"}</c>, chain in <c>SGX-Enclave-Identity-Issuer-Chain</c>)
/// and the root CA CRL from <see cref="PcsCollateralProviderOptions.RootCaCrlAddress"/>. Chains
/// arrive as URL-encoded PEM. The signed <c>tcbInfo</c> / <c>enclaveIdentity</c> text is cut out
/// of the response byte for byte, never re-serialized.</para>
/// <para>Sanity checks (the verifier still checks every signature): the TCB info's id and FMSPC and
/// the QE identity's id must be those requested, the PCK CRL must come from the requested CA, and
/// every piece must carry a nextUpdate.</para>
/// <para>Caching: each piece is cached on its own (root CA CRL; PCK CRL per CA; TCB info per TEE and
/// FMSPC; QE identity per TEE) and reused while the injected <see cref="TimeProvider"/> says it is
/// before that piece's nextUpdate (and, if set, within <see cref="PcsCollateralProviderOptions.MaxCacheAge"/>).
/// Concurrent requests for the same piece share one fetch; failures are not cached. The
/// <see cref="TimeProvider"/> governs only cache expiry; request timeouts use the real clock.</para>
/// </remarks>
public sealed class PcsCollateralProvider : ICollateralProvider, IDisposable
{
    public const string PckCrlIssuerChainHeader = "SGX-PCK-CRL-Issuer-Chain";
    public const string TcbInfoIssuerChainHeader = "TCB-Info-Issuer-Chain";
    public const string LegacyTcbInfoIssuerChainHeader = "SGX-TCB-Info-Issuer-Chain";
    public const string EnclaveIdentityIssuerChainHeader = "SGX-Enclave-Identity-Issuer-Chain";

    private static readonly string[] TcbInfoChainHeaders = [TcbInfoIssuerChainHeader, LegacyTcbInfoIssuerChainHeader];
    private static readonly string[] QeIdentityChainHeaders = [EnclaveIdentityIssuerChainHeader];
    private static readonly string[] PckCrlChainHeaders = [PckCrlIssuerChainHeader];

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly PcsCollateralProviderOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, CacheSlot> _cache = new(StringComparer.Ordinal);

    /// <param name="httpClient">Used as is (its handler, proxy and TLS settings); not disposed by the provider.</param>
    /// <param name="options">Copied: later changes have no effect. Default: Intel's PCS.</param>
    /// <param name="timeProvider">The clock that cached pieces' nextUpdate is compared with. Default: the system clock.</param>
    public PcsCollateralProvider(HttpClient httpClient, PcsCollateralProviderOptions? options = null, TimeProvider? timeProvider = null)
        : this(httpClient, ownsHttp: false, options, timeProvider)
    {
    }

    /// <summary>A provider with its own <see cref="HttpClient"/>, disposed with the provider.</summary>
    public PcsCollateralProvider(PcsCollateralProviderOptions? options = null, TimeProvider? timeProvider = null)
        : this(new HttpClient(), ownsHttp: true, options, timeProvider)
    {
    }

    private PcsCollateralProvider(HttpClient httpClient, bool ownsHttp, PcsCollateralProviderOptions? options, TimeProvider? timeProvider)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        _options = (options ?? new PcsCollateralProviderOptions()).Snapshot();
        _http = httpClient;
        _ownsHttp = ownsHttp;
        _time = timeProvider ?? TimeProvider.System;
    }

    public Uri BaseAddress => _options.BaseAddress;

    /// <summary>Forgets every cached piece.</summary>
    public void ClearCache() => _cache.Clear();

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    public async ValueTask<QuoteCollateral> GetCollateralAsync(CollateralRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Fmspc);
        if (request.Fmspc.Length != 6)
        {
            throw new CollateralException($"An FMSPC is 6 bytes; the request has {request.Fmspc.Length}.");
        }

        if (request.PckCa is not (PckCaType.Processor or PckCaType.Platform))
        {
            throw new CollateralException($"Unknown PCK CA type {request.PckCa}.");
        }

        TeeType tee = request.TeeType;
        string teePath = CollateralFormat.TcbInfoId(tee).ToLowerInvariant(); // throws for an unknown TEE
        string fmspcHex = Convert.ToHexString(request.Fmspc);
        string ca = request.PckCa == PckCaType.Processor ? "processor" : "platform";
        byte[] fmspc = request.Fmspc.ToArray();

        Uri rootCrlUri = _options.RootCaCrlAddress;
        Uri pckCrlUri = new(_options.BaseAddress, $"sgx/certification/v4/pckcrl?ca={ca}&encoding=der");
        Uri tcbUri = new(_options.BaseAddress, $"{teePath}/certification/v4/tcb?fmspc={fmspcHex}");
        Uri qeUri = new(_options.BaseAddress, $"{teePath}/certification/v4/qe/identity");
        PckCaType pckCa = request.PckCa;

        Task<CrlPiece> rootCrl = GetPieceAsync("rootcacrl", () => FetchCrlAsync(rootCrlUri, chainHeaders: [], expectedCa: null, "The root CA CRL"), cancellationToken);
        Task<CrlPiece> pckCrl = GetPieceAsync($"pckcrl/{ca}", () => FetchCrlAsync(pckCrlUri, PckCrlChainHeaders, pckCa, "The PCK CRL"), cancellationToken);
        Task<SignedPiece> tcbInfo = GetPieceAsync($"tcb/{teePath}/{fmspcHex}", () => FetchSignedAsync(tcbUri, "tcbInfo", TcbInfoChainHeaders, tee, fmspc), cancellationToken);
        Task<SignedPiece> qeIdentity = GetPieceAsync($"qe/{teePath}", () => FetchSignedAsync(qeUri, "enclaveIdentity", QeIdentityChainHeaders, tee, fmspc: null), cancellationToken);

        Task[] pieces = [rootCrl, pckCrl, tcbInfo, qeIdentity];
        try
        {
            await Task.WhenAll(pieces);
        }
        catch (CollateralException)
        {
            // Report every failed piece, in a fixed order, rather than whichever failed first.
            CollateralException[] failures = pieces
                .Where(piece => piece.IsFaulted)
                .SelectMany(piece => piece.Exception!.InnerExceptions)
                .OfType<CollateralException>()
                .ToArray();
            if (failures.Length > 1)
            {
                throw new CollateralException(string.Join(" ", failures.Select(f => f.Message)), failures[0]);
            }

            throw;
        }

        CrlPiece root = await rootCrl, pck = await pckCrl;
        SignedPiece tcb = await tcbInfo, qe = await qeIdentity;
        return new QuoteCollateral
        {
            PckCrlIssuerChain = pck.IssuerChain!,
            RootCaCrl = Convert.ToHexStringLower(root.Der),
            PckCrl = Convert.ToHexStringLower(pck.Der),
            TcbInfoIssuerChain = tcb.IssuerChain,
            TcbInfo = tcb.Json,
            TcbInfoSignature = Convert.ToHexStringLower(tcb.Signature),
            QeIdentityIssuerChain = qe.IssuerChain,
            QeIdentity = qe.Json,
            QeIdentitySignature = Convert.ToHexStringLower(qe.Signature),
        };
    }

    internal static Uri WithTrailingSlash(Uri uri)
    {
        if (uri.AbsolutePath.EndsWith('/'))
        {
            return uri;
        }

        var builder = new UriBuilder(uri);
        builder.Path += "/";
        return builder.Uri;
    }

    /// <summary>The URL for messages: no user name or password.</summary>
    private static string Display(Uri uri) => uri.GetComponents(UriComponents.HttpRequestUrl, UriFormat.UriEscaped);

    private async Task<T> GetPieceAsync<T>(string key, Func<Task<T>> fetch, CancellationToken cancellationToken)
        where T : Piece
    {
        if (!_options.EnableCache)
        {
            return await Task.Run(fetch, CancellationToken.None).WaitAsync(cancellationToken);
        }

        CacheSlot slot = _cache.GetOrAdd(key, static _ => new CacheSlot());
        Task<Piece> task;
        lock (slot)
        {
            Task<Piece>? current = slot.Task;
            if (current is { IsCompleted: false })
            {
                task = current; // someone is fetching it: share the result
            }
            else if (current is { IsCompletedSuccessfully: true } && IsFresh(current.Result))
            {
                return (T)current.Result;
            }
            else
            {
                // Detached from the caller's token, so one caller giving up does not fail the others;
                // the fetch is bounded by the request timeout.
                task = slot.Task = Task.Run(async () => (Piece)await fetch(), CancellationToken.None);

                // If every waiter has given up, nobody awaits a failure: observe it here.
                _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
        }

        return (T)await task.WaitAsync(cancellationToken);
    }

    private bool IsFresh(Piece piece)
    {
        DateTimeOffset now = _time.GetUtcNow();
        return now < piece.NextUpdate && (_options.MaxCacheAge is not TimeSpan maxAge || now - piece.FetchedAt < maxAge);
    }

    private async Task<CrlPiece> FetchCrlAsync(Uri uri, string[] chainHeaders, PckCaType? expectedCa, string what)
    {
        string display = Display(uri);
        HttpPayload payload = await SendAsync(uri, chainHeaders);
        (byte[] der, CrlInfo info) = CollateralFormat.DecodeCrl(payload.Body, $"{what} from {display}");
        if (info.NextUpdate is not DateTimeOffset nextUpdate)
        {
            throw new CollateralException($"{what} from {display} has no nextUpdate.");
        }

        if (expectedCa is PckCaType ca && info.PckCa is PckCaType actual && actual != ca)
        {
            throw new CollateralException($"{what} from {display} is issued by '{info.IssuerCommonName}', not the {CollateralFormat.Describe(ca)}.");
        }

        return new CrlPiece(der, payload.IssuerChain, nextUpdate, _time.GetUtcNow());
    }

    private async Task<SignedPiece> FetchSignedAsync(Uri uri, string bodyKey, string[] chainHeaders, TeeType tee, byte[]? fmspc)
    {
        string display = Display(uri);
        HttpPayload payload = await SendAsync(uri, chainHeaders);
        (string json, byte[] signature) = ExtractSignedJson(payload.Body, bodyKey, $"The response from {display}");
        string what = $"The {bodyKey} from {display}";
        SignedJsonHeader header = CollateralFormat.ReadSignedJsonHeader(json, what, requireFmspc: fmspc is not null);
        if (fmspc is not null)
        {
            if (CollateralFormat.TeeOfTcbInfo(header.Id) != tee)
            {
                throw new CollateralException($"{what} has id '{header.Id}'; expected '{CollateralFormat.TcbInfoId(tee)}'.");
            }

            if (!header.Fmspc.AsSpan().SequenceEqual(fmspc))
            {
                throw new CollateralException($"{what} is for FMSPC {Convert.ToHexStringLower(header.Fmspc ?? [])}; expected {Convert.ToHexStringLower(fmspc)}.");
            }
        }
        else if (header.Id != CollateralFormat.QeIdentityId(tee))
        {
            throw new CollateralException($"{what} has id '{header.Id}'; expected '{CollateralFormat.QeIdentityId(tee)}'.");
        }

        return new SignedPiece(json, signature, payload.IssuerChain!, header.NextUpdate, _time.GetUtcNow());
    }

    private async Task<HttpPayload> SendAsync(Uri uri, string[] chainHeaders)
    {
        string display = Display(uri);
        using var timeout = new CancellationTokenSource(_options.Timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new CollateralException($"{display} returned HTTP {(int)response.StatusCode} ({response.ReasonPhrase ?? response.StatusCode.ToString()}){IntelError(response)}.");
            }

            string? chain = chainHeaders.Length == 0 ? null : ReadIssuerChain(response, chainHeaders, display);
            await using Stream stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            byte[] body = await CollateralFormat.ReadCappedAsync(
                stream,
                _options.MaxResponseBytes,
                response.Content.Headers.ContentLength,
                () => $"The response from {display} is larger than {_options.MaxResponseBytes} bytes.",
                timeout.Token);
            return new HttpPayload(body, chain);
        }
        catch (OperationCanceledException ex)
        {
            throw new CollateralException($"Timed out after {_options.Timeout.TotalSeconds:0.###} s fetching {display}.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new CollateralException($"Cannot fetch {display}: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new CollateralException($"Reading the response from {display} failed: {ex.Message}", ex);
        }
    }

    /// <summary>PCS explains 4xx answers in Error-Code / Error-Message headers.</summary>
    private static string IntelError(HttpResponseMessage response)
    {
        var parts = new List<string>();
        foreach (string name in (string[])["Error-Code", "Error-Message"])
        {
            if (response.Headers.TryGetValues(name, out IEnumerable<string>? values))
            {
                parts.Add($"{name}: {CollateralFormat.Truncate(string.Join(", ", values), 200)}");
            }
        }

        return parts.Count == 0 ? "" : " [" + string.Join("; ", parts) + "]";
    }

    private static string ReadIssuerChain(HttpResponseMessage response, string[] names, string display)
    {
        foreach (string name in names)
        {
            if (!response.Headers.TryGetValues(name, out IEnumerable<string>? values))
            {
                continue;
            }

            string[] all = values.ToArray();
            if (all.Length != 1 || string.IsNullOrWhiteSpace(all[0]))
            {
                throw new CollateralException($"{display} returned {(all.Length == 1 ? "an empty" : all.Length + " values for the")} {name} header.");
            }

            string pem = Uri.UnescapeDataString(all[0].Trim());
            CollateralFormat.ValidatePemChain(pem, $"The {name} header from {display}");
            return pem;
        }

        throw new CollateralException($"{display} returned no {string.Join(" or ", names)} header.");
    }

    /// <summary>
    /// Cuts the value of <paramref name="key"/> (an object) out of <c>{"key":{...},"signature":"hex"}</c>
    /// exactly as sent, and decodes the signature.
    /// </summary>
    private static (string Json, byte[] Signature) ExtractSignedJson(byte[] body, string key, string what)
    {
        ReadOnlyMemory<byte> signed = default;
        string? signatureHex = null;
        bool seenSigned = false;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = CollateralFormat.MaxJsonDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new CollateralException($"{what} is not a JSON object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isSigned = reader.ValueTextEquals(key);
                bool isSignature = reader.ValueTextEquals("signature");
                reader.Read();
                if (isSigned)
                {
                    if (seenSigned)
                    {
                        throw new CollateralException($"{what} has \"{key}\" more than once.");
                    }

                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        throw new CollateralException($"{what}: \"{key}\" is not an object.");
                    }

                    int start = checked((int)reader.TokenStartIndex);
                    reader.Skip();
                    int end = checked((int)reader.BytesConsumed);
                    signed = body.AsMemory(start, end - start);
                    seenSigned = true;
                }
                else if (isSignature)
                {
                    if (signatureHex is not null)
                    {
                        throw new CollateralException($"{what} has \"signature\" more than once.");
                    }

                    signatureHex = reader.TokenType == JsonTokenType.String
                        ? reader.GetString()
                        : throw new CollateralException($"{what}: \"signature\" is not a string.");
                }
                else
                {
                    reader.Skip();
                }
            }

            if (reader.Read())
            {
                throw new CollateralException($"{what} has content after the JSON object.");
            }
        }
        catch (JsonException ex)
        {
            throw new CollateralException($"{what} is not valid JSON: {ex.Message}", ex);
        }

        if (!seenSigned)
        {
            throw new CollateralException($"{what} has no \"{key}\".");
        }

        if (string.IsNullOrEmpty(signatureHex))
        {
            throw new CollateralException($"{what} has no \"signature\".");
        }

        string json;
        try
        {
            json = CollateralFormat.StrictUtf8.GetString(signed.Span);
        }
        catch (DecoderFallbackException ex)
        {
            throw new CollateralException($"{what}: \"{key}\" is not valid UTF-8.", ex);
        }

        return (json, CollateralFormat.DecodeHex(signatureHex, $"{what}: \"signature\"", CollateralFormat.SignatureLength));
    }

    private sealed class CacheSlot
    {
        public Task<Piece>? Task;
    }

    private abstract record Piece(DateTimeOffset NextUpdate, DateTimeOffset FetchedAt);

    private sealed record CrlPiece(byte[] Der, string? IssuerChain, DateTimeOffset NextUpdate, DateTimeOffset FetchedAt)
        : Piece(NextUpdate, FetchedAt);

    private sealed record SignedPiece(string Json, byte[] Signature, string IssuerChain, DateTimeOffset NextUpdate, DateTimeOffset FetchedAt)
        : Piece(NextUpdate, FetchedAt);

    private sealed record HttpPayload(byte[] Body, string? IssuerChain);
}
