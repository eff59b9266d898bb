using Confide.AttestationService.Client;
using Confide.Inference.Hosting;
using Confide.Inference.Serving;
using Confide.Tee;
using Confide.Tls.Certificates;
using Confide.Tls.EndToEnd;
using Confide.Tls.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Confide.Inference.Confidential;

/// <summary>How requests reach the enclave confidentially.</summary>
public sealed class ConfidentialTransportOptions
{
    /// <summary>Terminate TLS inside the enclave with an attested certificate on every https endpoint. Default true.</summary>
    public bool AttestedTls { get; init; } = true;

    /// <summary>Also accept end-to-end encrypted messages (for a TLS-terminating ingress). Default true.</summary>
    public bool EndToEnd { get; init; } = true;

    public string EndToEndPrefix { get; init; } = "/v2/e2e";

    /// <summary>
    /// Token mode: attest the TLS and end-to-end keys with this attestation service, so clients
    /// trust the service instead of verifying evidence. Null: evidence in the certificate and key document.
    /// </summary>
    public AttestationClient? TokenAttestation { get; init; }
}

/// <summary>
/// The confidential transports of the inference server, made inside the enclave: an attested TLS
/// certificate (clients verify the enclave in the handshake) and an attested end-to-end key
/// (requests sealed past any ingress, opened and dispatched to the KServe routes in process). Plug
/// <see cref="ConfigureListener"/> and <see cref="MapEndpoints"/> into <see cref="InferenceServerOptions"/>.
/// </summary>
public sealed class ConfidentialTransport : IDisposable
{
    private ConfidentialTransport(ConfidentialTransportOptions options, AttestedCertificateProvider? certificate, EndToEndServer? endToEnd)
    {
        Options = options;
        Certificate = certificate;
        EndToEnd = endToEnd;
    }

    public ConfidentialTransportOptions Options { get; }

    public AttestedCertificateProvider? Certificate { get; }

    public EndToEndServer? EndToEnd { get; }

    public static async Task<ConfidentialTransport> CreateAsync(ITee tee, ConfidentialTransportOptions options, CancellationToken cancellationToken = default)
    {
        AttestedCertificateProvider? certificate = null;
        EndToEndServer? endToEnd = null;
        try
        {
            if (options.AttestedTls)
            {
                var certificateOptions = new AttestedCertificateOptions();
                certificate = options.TokenAttestation is { } attestation
                    ? await AttestedCertificateProvider.CreateAsync(ct => AttestedCertificate.CreateWithTokenAsync(tee, attestation, certificateOptions, cancellationToken: ct), certificateOptions, cancellationToken).ConfigureAwait(false)
                    : await AttestedCertificateProvider.CreateAsync(tee, certificateOptions, cancellationToken).ConfigureAwait(false);
            }

            if (options.EndToEnd)
            {
                endToEnd = options.TokenAttestation is { } attestation
                    ? await EndToEndServer.CreateWithTokenAsync(tee, attestation, cancellationToken: cancellationToken).ConfigureAwait(false)
                    : await EndToEndServer.CreateAsync(tee, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            return new ConfidentialTransport(options, certificate, endToEnd);
        }
        catch
        {
            certificate?.Dispose();
            endToEnd?.Dispose();
            throw;
        }
    }

    /// <summary>For <see cref="InferenceServerOptions.ConfigureDataListener"/>: attested TLS on https endpoints.</summary>
    public void ConfigureListener(InferenceEndpoint endpoint, ListenOptions listen)
    {
        if (Certificate is not null && endpoint.Url.Scheme == Uri.UriSchemeHttps)
        {
            listen.UseAttestedTls(Certificate);
        }
    }

    /// <summary>For <see cref="InferenceServerOptions.MapEndpoints"/>: the end-to-end routes.</summary>
    public void MapEndpoints(IEndpointRouteBuilder routes, IInferenceService service)
    {
        if (EndToEnd is not null)
        {
            routes.MapEndToEnd(Options.EndToEndPrefix, EndToEnd, EndpointDispatcher.Create(routes, routes.ServiceProvider, Options.EndToEndPrefix));
        }
    }

    public void Dispose()
    {
        Certificate?.Dispose();
        EndToEnd?.Dispose();
    }
}
