using System.Security.Cryptography.X509Certificates;
using Confide.AttestationService.Client;
using Confide.KeyRelease.Release;
using Confide.Tee;

namespace Confide.KeyRelease.Client;

/// <summary>Options of <see cref="KeyReleaseClient"/>: where the broker is, how to reach and trust it, and how this enclave attests.</summary>
public sealed class KeyReleaseClientOptions
{
    /// <summary>The broker's base URL (what its key ids and its signing certificate's subject carry).</summary>
    public required Uri BrokerUrl { get; init; }

    /// <summary>
    /// The transport to the broker, configured by the caller: TLS trust (the broker's pinned
    /// certificate, or an attested-TLS handler), timeouts. Not disposed by the client.
    /// </summary>
    public required HttpClient BrokerHttpClient { get; init; }

    /// <summary>This enclave's TEE: it produces the evidence binding the wrapping key.</summary>
    public required ITee Tee { get; init; }

    /// <summary>The attestation service client whose tokens the broker trusts. Not disposed by the client.</summary>
    public required AttestationClient Attestation { get; init; }

    /// <summary>
    /// Certificates of the broker's response-signing keys accepted as they are (the broker's
    /// <c>KeyBrokerServer.SigningCertificate</c>). A release whose JWS is signed by another key is
    /// refused, since a substitute broker could otherwise hand over a key of its choosing.
    /// </summary>
    public IList<X509Certificate2> TrustedBrokerCertificates { get; init; } = [];

    /// <summary>
    /// Another way to accept a signing certificate (e.g. by checking the broker's evidence embedded
    /// in it). Called only for certificates not in <see cref="TrustedBrokerCertificates"/>.
    /// </summary>
    public Func<X509Certificate2, bool>? ValidateBrokerCertificate { get; init; }

    /// <summary>The wrapping requested. Default <c>RSA_AES_KEY_WRAP_256</c> (OAEP with SHA-256).</summary>
    public KeyWrapAlgorithm Encryption { get; init; } = KeyWrapAlgorithm.RsaAesKeyWrap256;

    /// <summary>The api-version sent to the broker.</summary>
    public string ApiVersion { get; init; } = "7.5";

    /// <summary>The clock the broker's signing certificate validity is checked against.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Options for a broker reached over attested TLS: the connection is accepted only to the
    /// enclave <paramref name="brokerVerifier"/>'s policy names, and a release is accepted only if
    /// signed by a key of that enclave — listed in the token of its verified TLS certificate (token
    /// mode), or attested by the evidence in the signing certificate itself (evidence mode).
    /// </summary>
    public static KeyReleaseClientOptions ForAttestedBroker(Uri brokerUrl, ITee tee, AttestationClient attestation, Confide.Tls.Verification.AttestedCertificateVerifier brokerVerifier) => new()
    {
        BrokerUrl = brokerUrl,
        BrokerHttpClient = new HttpClient(Confide.Tls.Hosting.AttestedTls.UseAttestedTls(new SocketsHttpHandler(), brokerVerifier)),
        Tee = tee,
        Attestation = attestation,
        ValidateBrokerCertificate = certificate => IsBrokerKey(brokerVerifier, certificate),
    };

    private static bool IsBrokerKey(Confide.Tls.Verification.AttestedCertificateVerifier brokerVerifier, X509Certificate2 signingCertificate)
    {
        using System.Security.Cryptography.RSA? key = signingCertificate.GetRSAPublicKey();
        if (key is not null && brokerVerifier.IsKeyOfVerifiedPeer(key.ExportParameters(includePrivateParameters: false)))
        {
            return true;
        }

        try
        {
            brokerVerifier.VerifyAsync(signingCertificate).GetAwaiter().GetResult();
            return true;
        }
        catch (Confide.Tls.Verification.AttestedTlsException)
        {
            return false;
        }
    }
}
