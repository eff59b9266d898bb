using System.Security.Cryptography.X509Certificates;
using System.Text;
using Confide.Tee.Storage;

namespace Confide.AttestationService.Policies;

/// <summary>
/// The policy-management certificates of an isolated-mode instance (maa.md §1.5): every policy
/// change and every change to this set must be signed by one of them. The set is seeded once, on
/// first start, from the options, then lives in <c>policy-certificates.pem</c>; an empty set means
/// AAD mode (changes need only the bearer token). The last certificate cannot be removed, so an
/// isolated instance stays isolated.
/// </summary>
public sealed class PolicyCertificateStore
{
    private const string FileName = "policy-certificates.pem";

    private readonly string? _directory;
    private readonly Lock _writeLock = new();
    private volatile IReadOnlyList<X509Certificate2> _certificates;

    /// <param name="directory">Where the set persists; null keeps it in memory only.</param>
    /// <param name="initial">The set on first start (no file yet).</param>
    public PolicyCertificateStore(string? directory, IEnumerable<X509Certificate2> initial)
    {
        _directory = directory;
        string? path = directory is null ? null : Path.Combine(directory, FileName);
        if (path is not null && File.Exists(path))
        {
            var loaded = new X509Certificate2Collection();
            loaded.ImportFromPem(File.ReadAllText(path));
            _certificates = [.. loaded];
            return;
        }

        _certificates = [.. initial.Select(c => X509CertificateLoader.LoadCertificate(c.RawData))];
        if (_certificates.Count > 0)
        {
            Save(_certificates);
        }
    }

    /// <summary>True when policy changes must be signed by a policy-management certificate.</summary>
    public bool IsIsolated => _certificates.Count > 0;

    public IReadOnlyList<X509Certificate2> Certificates => _certificates;

    /// <summary>Whether <paramref name="certificate"/> (compared by its DER) is in the set.</summary>
    public bool Contains(X509Certificate2 certificate) => _certificates.Any(c => c.RawData.AsSpan().SequenceEqual(certificate.RawData));

    /// <summary>Adds a certificate; false if it was already present.</summary>
    public bool Add(X509Certificate2 certificate)
    {
        lock (_writeLock)
        {
            if (Contains(certificate))
            {
                return false;
            }

            IReadOnlyList<X509Certificate2> updated = [.. _certificates, X509CertificateLoader.LoadCertificate(certificate.RawData)];
            Save(updated);
            _certificates = updated;
            return true;
        }
    }

    /// <summary>Removes a certificate; false if it was absent.</summary>
    /// <exception cref="PolicyManagementException">It is the last one.</exception>
    public bool Remove(X509Certificate2 certificate)
    {
        lock (_writeLock)
        {
            if (!Contains(certificate))
            {
                return false;
            }

            IReadOnlyList<X509Certificate2> updated = [.. _certificates.Where(c => !c.RawData.AsSpan().SequenceEqual(certificate.RawData))];
            if (updated.Count == 0)
            {
                throw new PolicyManagementException("InvalidOperation", "The final policy management certificate cannot be removed.");
            }

            Save(updated);
            _certificates = updated;
            return true;
        }
    }

    private void Save(IReadOnlyList<X509Certificate2> certificates)
    {
        if (_directory is null)
        {
            return;
        }

        Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var pem = new StringBuilder();
        foreach (X509Certificate2 certificate in certificates)
        {
            pem.AppendLine(certificate.ExportCertificatePem());
        }

        DurableFile.WriteAllBytes(Path.Combine(_directory, FileName), Encoding.ASCII.GetBytes(pem.ToString()));
    }
}
