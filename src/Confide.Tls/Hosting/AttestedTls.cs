using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Confide.Tls.Certificates;
using Confide.Tls.Verification;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Confide.Tls.Hosting;

/// <summary>
/// One-line attested TLS for .NET's TLS stacks: <see cref="SslStream"/> (client and server
/// options), <see cref="HttpClient"/> and gRPC (<see cref="SocketsHttpHandler"/>), and Kestrel.
/// The peer's certificate is trusted for its evidence, not for a CA chain: chain and name errors
/// are expected for a self-signed attested certificate and ignored; everything else is the
/// verifier's decision, and a refusal throws <see cref="AttestedTlsException"/> into the handshake.
/// </summary>
public static class AttestedTls
{
    /// <summary>A certificate-validation callback that admits only peers the verifier accepts.</summary>
    public static RemoteCertificateValidationCallback ValidationCallback(AttestedCertificateVerifier verifier) =>
        (_, certificate, _, errors) => Validate(verifier, certificate, errors);

    /// <summary>Client options for an <see cref="SslStream"/> to an attested server; with <paramref name="clientCertificate"/>, mutual attested TLS.</summary>
    public static SslClientAuthenticationOptions ClientOptions(string targetHost, AttestedCertificateVerifier serverVerifier, AttestedCertificateProvider? clientCertificate = null)
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            RemoteCertificateValidationCallback = ValidationCallback(serverVerifier),
        };
        if (clientCertificate is not null)
        {
            options.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate.Current;
        }

        return options;
    }

    /// <summary>Server options for an <see cref="SslStream"/>; with <paramref name="clientVerifier"/>, clients must present an attested certificate too.</summary>
    public static SslServerAuthenticationOptions ServerOptions(AttestedCertificateProvider certificate, AttestedCertificateVerifier? clientVerifier = null)
    {
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateSelectionCallback = (_, _) => certificate.Current,
        };
        if (clientVerifier is not null)
        {
            options.ClientCertificateRequired = true;
            options.RemoteCertificateValidationCallback = ValidationCallback(clientVerifier);
        }

        return options;
    }

    /// <summary>Makes <paramref name="handler"/> (for <see cref="HttpClient"/> or a gRPC channel) accept only attested servers.</summary>
    public static SocketsHttpHandler UseAttestedTls(this SocketsHttpHandler handler, AttestedCertificateVerifier serverVerifier, AttestedCertificateProvider? clientCertificate = null)
    {
        handler.SslOptions.RemoteCertificateValidationCallback = ValidationCallback(serverVerifier);
        if (clientCertificate is not null)
        {
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate.Current;
        }

        return handler;
    }

    /// <summary>Serves attested TLS on a Kestrel endpoint; with <paramref name="clientVerifier"/>, clients must be attested too.</summary>
    public static ListenOptions UseAttestedTls(this ListenOptions listen, AttestedCertificateProvider certificate, AttestedCertificateVerifier? clientVerifier = null) =>
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, _) => certificate.Current,
            ClientCertificateMode = clientVerifier is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.RequireCertificate,
            ClientCertificateValidation = clientVerifier is null ? null : (client, _, errors) => Validate(clientVerifier, client, errors),
        });

    private static bool Validate(AttestedCertificateVerifier verifier, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            throw new AttestedTlsException(AttestedTlsError.InvalidCertificate, "The peer presented no certificate.");
        }

        // TLS callbacks are synchronous; verification awaits only collateral or signing keys that
        // its providers cache, and a verified certificate is a dictionary lookup.
        X509Certificate2 full = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        verifier.VerifyAsync(full).GetAwaiter().GetResult();
        return true;
    }
}
