namespace Confide.AttestationService.Client;

/// <summary>Options of <see cref="AttestationClient"/>.</summary>
public sealed class AttestationClientOptions
{
    /// <summary>The api-version sent; the official SDKs send 2020-10-01.</summary>
    public string ApiVersion { get; set; } = "2022-08-01";

    /// <summary>Clock skew tolerated on nbf/exp. Default 1 minute.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The clock the token lifetime is checked against.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Transport; supply one whose TLS validation trusts the service (default: a plain HttpClient).</summary>
    public HttpClient? HttpClient { get; set; }
}
