using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Confide.AttestationService.Hosting;

/// <summary>
/// What Confide's HTTPS services share: the listen URL rules (https and an IP address, port 0 for a
/// free port) and a self-signed TLS certificate kept in the data directory, so clients can pin it.
/// </summary>
public static class HttpsHosting
{
    /// <summary>The address of <paramref name="url"/>, which must be https with an IP address.</summary>
    /// <exception cref="ArgumentException">Another scheme, or a host name.</exception>
    public static IPAddress ListenAddress(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.Scheme != Uri.UriSchemeHttps || !IPAddress.TryParse(url.Host, out IPAddress? address))
        {
            throw new ArgumentException($"'{url}' must be an https URL with an IP address, e.g. https://127.0.0.1:8443.", nameof(url));
        }

        return address;
    }

    /// <summary>
    /// An HttpClient for one of Confide's own services, which present self-signed certificates:
    /// it trusts exactly the certificate in <paramref name="pemPath"/> (null: the system's roots).
    /// </summary>
    public static HttpClient PinnedClient(string? pemPath)
    {
        if (pemPath is null)
        {
            return new HttpClient();
        }

        byte[] pinned = X509Certificate2.CreateFromPem(File.ReadAllText(pemPath)).RawData;
        return new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned) },
        });
    }

    /// <summary>A port that is free on <paramref name="address"/> now (port 0 is resolved before the URL is used as an identity).</summary>
    public static int FreePort(IPAddress address)
    {
        using var probe = new System.Net.Sockets.TcpListener(address, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>
    /// The TLS certificate in <paramref name="dataDirectory"/> (<c>tls.pfx</c>, owner-only, and
    /// <c>tls.pem</c> for clients), created on first use: self-signed P-256 for the address and localhost.
    /// </summary>
    public static (X509Certificate2 Certificate, string PemPath) LoadOrCreateTlsCertificate(string dataDirectory, IPAddress address)
    {
        string pfxPath = Path.Combine(dataDirectory, "tls.pfx");
        string pemPath = Path.Combine(dataDirectory, "tls.pem");
        if (File.Exists(pfxPath) && File.Exists(pemPath))
        {
            return (X509CertificateLoader.LoadPkcs12FromFile(pfxPath, null), pemPath);
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={address}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(address);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        byte[] pfx = certificate.Export(X509ContentType.Pfx);
        var ownerOnly = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
        using (var stream = new FileStream(pfxPath, ownerOnly))
        {
            stream.Write(pfx);
        }

        File.WriteAllText(pemPath, certificate.ExportCertificatePem());
        return (X509CertificateLoader.LoadPkcs12(pfx, null), pemPath);
    }
}
