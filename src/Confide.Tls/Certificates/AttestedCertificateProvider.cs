using System.Security.Cryptography.X509Certificates;

namespace Confide.Tls.Certificates;

/// <summary>
/// The server's current attested certificate, replaced before it expires: when less than
/// <see cref="AttestedCertificateOptions.RefreshBefore"/> is left, the next handshake starts a
/// refresh in the background and keeps using the current certificate until the new one is ready.
/// </summary>
public sealed class AttestedCertificateProvider : IDisposable
{
    private readonly Func<CancellationToken, Task<X509Certificate2>> _create;
    private readonly AttestedCertificateOptions _options;
    private readonly Lock _lock = new();
    private X509Certificate2 _current;
    private Task? _refresh;
    private readonly List<X509Certificate2> _retired = [];

    private AttestedCertificateProvider(X509Certificate2 first, Func<CancellationToken, Task<X509Certificate2>> create, AttestedCertificateOptions options)
    {
        _current = first;
        _create = create;
        _options = options;
    }

    /// <summary>A provider of evidence-carrying certificates from <paramref name="tee"/>.</summary>
    public static Task<AttestedCertificateProvider> CreateAsync(Confide.Tee.ITee tee, AttestedCertificateOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new AttestedCertificateOptions();
        return CreateAsync(ct => AttestedCertificate.CreateAsync(tee, options, ct), options, cancellationToken);
    }

    /// <summary>
    /// A provider of evidence-carrying certificates for <paramref name="key"/> (the caller keeps it,
    /// and must keep it alive while the provider renews): each renewal attests the same key afresh,
    /// issued by <see cref="AttestedCertificateOptions.Issuer"/> when one is set.
    /// </summary>
    public static Task<AttestedCertificateProvider> CreateAsync(Confide.Tee.ITee tee, System.Security.Cryptography.ECDsa key, AttestedCertificateOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(options);
        return CreateAsync(ct => AttestedCertificate.CreateAsync(tee, key, options, ct), options, cancellationToken);
    }

    /// <summary>A provider over any certificate factory (token mode, tests).</summary>
    public static async Task<AttestedCertificateProvider> CreateAsync(Func<CancellationToken, Task<X509Certificate2>> create, AttestedCertificateOptions options, CancellationToken cancellationToken = default)
    {
        X509Certificate2 first = await create(cancellationToken).ConfigureAwait(false);
        return new AttestedCertificateProvider(first, create, options);
    }

    /// <summary>The certificate to present now (with its private key).</summary>
    public X509Certificate2 Current
    {
        get
        {
            lock (_lock)
            {
                DateTimeOffset now = _options.TimeProvider.GetUtcNow();
                if (_refresh is null && new DateTimeOffset(_current.NotAfter.ToUniversalTime()) - now < _options.RefreshBefore)
                {
                    // On the thread pool: a factory that completes synchronously must not swap the
                    // certificate under this lock, in the middle of a handshake.
                    _refresh = Task.Run(RefreshAsync);
                }

                return _current;
            }
        }
    }

    /// <summary>Makes a new certificate now and presents it from the next handshake on.</summary>
    public async Task RefreshNowAsync(CancellationToken cancellationToken = default)
    {
        X509Certificate2 next = await _create(cancellationToken).ConfigureAwait(false);
        Swap(next);
    }

    private async Task RefreshAsync()
    {
        try
        {
            Swap(await _create(CancellationToken.None).ConfigureAwait(false));
        }
        catch (Exception)
        {
            // The current certificate stays; the next handshake tries again.
        }
        finally
        {
            lock (_lock)
            {
                _refresh = null;
            }
        }
    }

    private void Swap(X509Certificate2 next)
    {
        lock (_lock)
        {
            // Kept a while, not disposed at once: a handshake may still be using the old certificate.
            _retired.Add(_current);
            if (_retired.Count > 4)
            {
                _retired[0].Dispose();
                _retired.RemoveAt(0);
            }

            _current = next;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _current.Dispose();
            _retired.ForEach(c => c.Dispose());
            _retired.Clear();
        }
    }
}
