using Confide.Deploy.Values;

namespace Confide.Deploy.Manifests;

/// <summary>A port a service listens on in its container.</summary>
public sealed record ServicePort(string Name, int Port, string Scheme, string Purpose);

/// <summary>
/// An HTTP(S) probe target, or a bare TCP check where the service has no unauthenticated GET route
/// (the key broker: every GET needs an administrator's token).
/// </summary>
public sealed record ProbeTarget(string PortName, string? Path, string? Scheme);

/// <summary>What each service listens on and which of its real routes the probes use (src/*/Http, src/*/Hosting).</summary>
public sealed record ServiceEndpoints(string Component, IReadOnlyList<ServicePort> Ports, ProbeTarget Liveness, ProbeTarget Readiness, ServicePort? Metrics)
{
    public const int AttestationPort = 8443;
    public const int KeyBrokerPort = 8444;
    public const int InferenceRestPort = 8000;
    public const int InferenceGrpcPort = 8001;
    public const int InferenceMetricsPort = 8002;
    public const int LedgerRpcPort = 8080;
    public const int LedgerNodePort = 7100;

    public static ServiceEndpoints For(ServiceKind kind, ServiceValues? service = null) => kind switch
    {
        // AttestationEndpoints: GET /certs (the JWKS), served without authentication.
        ServiceKind.Attestation => new("attestation",
            [new ServicePort("https", AttestationPort, "HTTPS", "Azure Attestation REST API")],
            new ProbeTarget("https", "/certs", "HTTPS"), new ProbeTarget("https", "/certs", "HTTPS"), null),

        // KeyBrokerEndpoints: every GET requires an administrator's bearer token, so a TCP check.
        ServiceKind.KeyBroker => new("keys",
            [new ServicePort("https", KeyBrokerPort, "HTTPS", "key release and management (Azure Key Vault SKR API)")],
            new ProbeTarget("https", null, null), new ProbeTarget("https", null, null), null),

        // InferenceServer's metrics app: /metrics, /healthz (IsLive), /readyz (IsReady), plain HTTP on its own port.
        ServiceKind.Inference => new("inference",
            [
                new ServicePort("http", InferenceRestPort, service?.AttestedTls == true ? "HTTPS" : "HTTP", "KServe v2 REST"),
                new ServicePort("grpc", InferenceGrpcPort, "HTTP", "KServe v2 gRPC"),
                new ServicePort("metrics", InferenceMetricsPort, "HTTP", "/metrics, /healthz, /readyz"),
            ],
            new ProbeTarget("metrics", "/healthz", "HTTP"), new ProbeTarget("metrics", "/readyz", "HTTP"),
            new ServicePort("metrics", InferenceMetricsPort, "HTTP", "/metrics")),

        // LedgerServer: GET /node/state (always 200 while the node serves), /node/ready/app (204 once a leader is known).
        ServiceKind.Ledger => new("ledger",
            [
                new ServicePort("rpc", LedgerRpcPort, "HTTPS", "ledger HTTPS API"),
                new ServicePort("node", LedgerNodePort, "TCP", "node-to-node consensus (mutual TLS)"),
            ],
            new ProbeTarget("rpc", "/node/state", "HTTPS"), new ProbeTarget("rpc", "/node/ready/app", "HTTPS"), null),

        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
