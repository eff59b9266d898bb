using System.Security.Cryptography.X509Certificates;

namespace Confide.Cli.Commands;

/// <summary>HttpClients for the command's own services, which present self-signed certificates.</summary>
internal static class PinnedHttp
{
    /// <summary>A client trusting exactly the certificate in <paramref name="pemPath"/> (null: the system's roots).</summary>
    public static HttpClient Client(string? pemPath)
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
}
