using System.Collections.Concurrent;
using System.Text;
using Confide.Attestation.Collateral;

namespace Confide.Attestation.Collateral.Tests.Support;

/// <summary>
/// Serves collateral the way Intel's PCS (and a PCCS) does: TCB info and QE identity bodies
/// rebuilt as <c>{"tcbInfo":&lt;exact signed text&gt;,"signature":"hex"}</c>, DER CRLs, and issuer
/// chains as URL-encoded PEM in the response headers. The root CA CRL is served both as DER at
/// <c>/IntelSGXRootCA.der</c> (Intel's certificate site) and as hex at
/// <c>/sgx/certification/v4/rootcacrl</c> (PCCS).
/// </summary>
internal sealed class FakePcs : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, QuoteCollateral> _tcb = new();
    private readonly ConcurrentDictionary<string, QuoteCollateral> _qe = new();
    private readonly ConcurrentDictionary<string, QuoteCollateral> _pckCrl = new();
    private QuoteCollateral? _root;

    public FakePcs()
    {
        Server = new TinyHttpServer(Handle);
    }

    public TinyHttpServer Server { get; }

    /// <summary>Replaces the normal answer for a request; return null to answer normally.</summary>
    public Func<TestRequest, TestResponse?>? Override { get; set; }

    /// <summary>Delay added to every normal answer.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>How TCB info / QE identity bodies are laid out: (signedKey, signedText, signatureHex) → body.</summary>
    public Func<string, string, string, string> BodyLayout { get; set; } =
        (key, text, signature) => $"{{\"{key}\":{text},\"signature\":\"{signature}\"}}";

    /// <summary>Serve <paramref name="collateral"/> for its TEE, FMSPC and PCK CA (the first one added wins for shared pieces).</summary>
    public FakePcs Add(string tee, string fmspcHex, string ca, QuoteCollateral collateral)
    {
        _tcb.TryAdd($"{tee.ToLowerInvariant()}/{fmspcHex.ToUpperInvariant()}", collateral);
        _qe.TryAdd(tee.ToLowerInvariant(), collateral);
        _pckCrl.TryAdd(ca, collateral);
        _root ??= collateral;
        return this;
    }

    public FakePcs Add(VectorInfo vector) => Add(vector.Tee, vector.FmspcHex, vector.Ca, vector.Collateral);

    /// <summary>Options for a PCCS at this server: root CA CRL from /sgx/certification/v4/rootcacrl (hex).</summary>
    public PcsCollateralProviderOptions PccsOptions() => PcsCollateralProviderOptions.ForPccs(Server.BaseAddress);

    /// <summary>Options as for Intel's PCS: root CA CRL as DER from a separate address.</summary>
    public PcsCollateralProviderOptions IntelStyleOptions() => new()
    {
        BaseAddress = Server.BaseAddress,
        RootCaCrlAddress = new Uri(Server.BaseAddress, "IntelSGXRootCA.der"),
    };

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    public static string EncodeChain(string pem) => Uri.EscapeDataString(pem);

    private TestResponse Handle(TestRequest request)
    {
        if (Override?.Invoke(request) is TestResponse overridden)
        {
            return overridden;
        }

        TestResponse response = Normal(request);
        return Delay > TimeSpan.Zero ? response with { Delay = Delay } : response;
    }

    /// <summary>What the fake answers without an override.</summary>
    public TestResponse Normal(TestRequest request)
    {
        string[] segments = request.Path.Trim('/').Split('/');
        Dictionary<string, string> query = request.Query
            .Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? Uri.UnescapeDataString(p[1]) : "");

        if (request.Path == "/IntelSGXRootCA.der" && _root is not null)
        {
            return new TestResponse(200, Convert.FromHexString(_root.RootCaCrl), []);
        }

        if (segments is ["sgx", "certification", "v4", "rootcacrl"] && _root is not null)
        {
            return new TestResponse(200, Encoding.ASCII.GetBytes(_root.RootCaCrl), []);
        }

        if (segments is ["sgx", "certification", "v4", "pckcrl"]
            && query.GetValueOrDefault("encoding") == "der"
            && query.TryGetValue("ca", out string? ca)
            && _pckCrl.TryGetValue(ca, out QuoteCollateral? forCrl))
        {
            return new TestResponse(200, Convert.FromHexString(forCrl.PckCrl), [new("SGX-PCK-CRL-Issuer-Chain", EncodeChain(forCrl.PckCrlIssuerChain))]);
        }

        if (segments is [string tee, "certification", "v4", "tcb"]
            && query.TryGetValue("fmspc", out string? fmspc)
            && _tcb.TryGetValue($"{tee}/{fmspc.ToUpperInvariant()}", out QuoteCollateral? forTcb))
        {
            return Signed("tcbInfo", forTcb.TcbInfo, forTcb.TcbInfoSignature, "TCB-Info-Issuer-Chain", forTcb.TcbInfoIssuerChain);
        }

        if (segments is [string qeTee, "certification", "v4", "qe", "identity"] && _qe.TryGetValue(qeTee, out QuoteCollateral? forQe))
        {
            return Signed("enclaveIdentity", forQe.QeIdentity, forQe.QeIdentitySignature, "SGX-Enclave-Identity-Issuer-Chain", forQe.QeIdentityIssuerChain);
        }

        return TestResponse.Text(404, "");
    }

    public TestResponse Signed(string key, string text, string signature, string header, string chain) =>
        new(200, Encoding.UTF8.GetBytes(BodyLayout(key, text, signature)), [new(header, EncodeChain(chain))]);
}
