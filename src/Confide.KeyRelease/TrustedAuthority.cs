using System.Security.Cryptography.X509Certificates;

namespace Confide.KeyRelease;

/// <summary>
/// An attestation authority whose tokens the broker accepts: its URL is the tokens' <c>iss</c> and
/// its signing keys are fetched from <c>{url}/certs</c> over HTTPS. With <see cref="TlsCertificate"/>
/// the TLS connection must chain to exactly that certificate (a private CA, or the authority's own
/// self-signed certificate); without it, to the system's roots.
/// </summary>
public sealed class TrustedAuthority
{
    /// <exception cref="ArgumentException"><paramref name="url"/> is not an absolute https URL.</exception>
    public TrustedAuthority(Uri url, X509Certificate2? tlsCertificate = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || url.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"A trusted attestation authority is an absolute https URL; '{url}' is not.", nameof(url));
        }

        if (!string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment))
        {
            throw new ArgumentException($"A trusted attestation authority URL has no query or fragment; '{url}' does.", nameof(url));
        }

        Issuer = url.ToString().TrimEnd('/');
        TlsCertificate = tlsCertificate;
    }

    /// <summary>The URL without a trailing slash, as tokens carry it in <c>iss</c>.</summary>
    public string Issuer { get; }

    /// <summary>The CA (or server) certificate the authority's TLS certificate must chain to; null for the system roots.</summary>
    public X509Certificate2? TlsCertificate { get; }

    public override string ToString() => Issuer;

    /// <summary>A handler for connections to this authority: TLS trusted as described above, no redirects.</summary>
    public SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false };
        if (TlsCertificate is { } pinned)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => ChainsTo(pinned, certificate, chain, errors);
        }

        return handler;
    }

    private static bool ChainsTo(X509Certificate2 pinned, X509Certificate? presented, X509Chain? presentedChain, System.Net.Security.SslPolicyErrors errors)
    {
        if (presented is null || errors.HasFlag(System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) || errors.HasFlag(System.Net.Security.SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }

        using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(pinned);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presentedChain is not null)
        {
            foreach (X509ChainElement element in presentedChain.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(leaf);
    }
}
