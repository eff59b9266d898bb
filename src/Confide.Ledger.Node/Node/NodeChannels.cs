using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Confide.Ledger.Node;

/// <summary>
/// TLS for node-to-node traffic (consensus, forwarded requests): mutual, and each side accepts only
/// a certificate the service identity endorsed — a node that did not join through attestation
/// cannot vote, append or pose as the leader.
/// </summary>
public static class NodeChannels
{
    public static SslServerAuthenticationOptions Server(X509Certificate2 nodeCertificate, X509Certificate2 serviceCertificate) => new()
    {
        ServerCertificateContext = SslStreamCertificateContext.Create(nodeCertificate, additionalCertificates: null),
        ClientCertificateRequired = true,
        EnabledSslProtocols = SslProtocols.Tls13,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => IsServiceNode(certificate, serviceCertificate),
    };

    public static SslClientAuthenticationOptions Client(X509Certificate2 nodeCertificate, X509Certificate2 serviceCertificate) => new()
    {
        ClientCertificates = [nodeCertificate],
        EnabledSslProtocols = SslProtocols.Tls13,
        TargetHost = "ccf-node",
        RemoteCertificateValidationCallback = (_, certificate, _, _) => IsServiceNode(certificate, serviceCertificate),
    };

    private static bool IsServiceNode(X509Certificate? presented, X509Certificate2 service) =>
        presented is X509Certificate2 certificate && ServiceIdentity.IsIssuedBy(certificate, service);
}
