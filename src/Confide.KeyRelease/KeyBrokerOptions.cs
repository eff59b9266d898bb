using Confide.AttestationService;
using Confide.Tee;

namespace Confide.KeyRelease;

/// <summary>How the key broker stores its keys, whom it trusts to attest enclaves, and who administers it.</summary>
public sealed class KeyBrokerOptions
{
    /// <summary>The audience Azure AD puts in tokens for Key Vault (<c>https://vault.azure.net/.default</c>).</summary>
    public const string DefaultAdminAudience = "https://vault.azure.net";

    /// <summary>The TEE the broker runs in: it seals the keys and the response-signing key, and attests the latter.</summary>
    public required ITee Tee { get; init; }

    /// <summary>The attestation authorities whose tokens can release keys (a release policy must also name the token's).</summary>
    public IList<TrustedAuthority> TrustedAuthorities { get; init; } = [];

    /// <summary>Who may create, import, rotate, list and read keys. Default audience: <see cref="DefaultAdminAudience"/>.</summary>
    public AdminAuthenticationOptions AdminAuthentication { get; init; } = new() { Audience = DefaultAdminAudience };

    /// <summary>The clock token lifetimes and key timestamps are judged by.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Clock skew tolerated on a token's nbf/exp. Default 1 minute.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Require a release request's <c>nonce</c> (equal to the token's, used once). Default true:
    /// without it a token copied from its enclave could be replayed until it expires.
    /// </summary>
    public bool RequireNonce { get; init; } = true;

    /// <summary>Largest request body accepted. Default 256 KiB (a token with its runtime keys is a few KiB).</summary>
    public long MaxRequestBytes { get; init; } = 256 * 1024;

    /// <summary>
    /// Least time between two fetches of an authority's <c>/certs</c> caused by an unknown <c>kid</c>,
    /// so that tokens with invented key ids cannot make the broker hammer the authority. Default 30 s.
    /// </summary>
    public TimeSpan KeyRefreshInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Run on the simulation TEE, whose sealing protects nothing. Default false: a broker that
    /// finds itself on the simulation back-end refuses to start.
    /// </summary>
    public bool AllowSimulation { get; init; }

    /// <summary>
    /// How the broker's TLS certificate is made. Default <see cref="BrokerTlsMode.SelfSigned"/>
    /// (clients pin <c>tls.pem</c>); the attested modes let clients check the broker's enclave.
    /// </summary>
    public BrokerTlsMode TlsMode { get; init; } = BrokerTlsMode.SelfSigned;

    /// <summary>
    /// <see cref="BrokerTlsMode.AttestedToken"/>: the attestation service that attests the broker's
    /// TLS key and its response-signing key (both in the token's <c>x-ms-runtime.keys</c>).
    /// </summary>
    public Confide.AttestationService.Client.AttestationClient? TlsAttestation { get; init; }
}

/// <summary>The broker's TLS certificate.</summary>
public enum BrokerTlsMode
{
    /// <summary>A self-signed certificate kept in the data directory, for clients to pin.</summary>
    SelfSigned,

    /// <summary>An attested certificate carrying the broker's evidence (DICE and Open Enclave extensions).</summary>
    AttestedEvidence,

    /// <summary>An attested certificate carrying an attestation token that lists the TLS key and the response-signing key.</summary>
    AttestedToken,
}
