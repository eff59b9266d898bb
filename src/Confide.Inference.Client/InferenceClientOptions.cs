using Confide.Tls.Verification;

namespace Confide.Inference.Client;

/// <summary>How the client reaches the server and which enclave it must be.</summary>
public sealed class InferenceClientOptions
{
    /// <summary>The enclave the server must be (checked before any input is sent).</summary>
    public required AttestedCertificateVerifier Verifier { get; init; }

    /// <summary>
    /// Send requests as end-to-end encrypted messages (for a TLS-terminating ingress in front of the
    /// enclave) instead of over attested TLS to the enclave itself.
    /// </summary>
    public bool EndToEnd { get; init; }

    /// <summary>The path prefix of the end-to-end routes on the server.</summary>
    public string EndToEndPrefix { get; init; } = "/v2/e2e";

    /// <summary>
    /// A transport to use instead of the default (attested TLS to the server; for end-to-end mode,
    /// plain HTTP(S) trusting the system roots). Not disposed by the client.
    /// </summary>
    public HttpMessageHandler? Handler { get; init; }

    /// <summary>Largest response accepted.</summary>
    public long MaxResponseBytes { get; init; } = 64 * 1024 * 1024;
}
