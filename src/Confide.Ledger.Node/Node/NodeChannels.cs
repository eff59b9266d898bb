using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Verification;
using Confide.Tee;
using Confide.Tls.Certificates;
using Confide.Tls.Verification;
using Microsoft.Extensions.Logging;

namespace Confide.Ledger.Node;

/// <summary>Settings of a node's <see cref="NodeChannels"/>.</summary>
public sealed class NodeChannelsOptions
{
    /// <summary>The service identity: it issues every node's node-to-node certificate (the membership proof).</summary>
    public required X509Certificate2 ServiceCertificate { get; init; }

    /// <summary>This node's node-to-node certificate, renewed before it expires (<see cref="NodeChannels.CreateCertificateAsync"/> makes it).</summary>
    public required AttestedCertificateProvider Certificate { get; init; }

    /// <summary>
    /// The code ids (lower-case hex MRENCLAVE or MRTD) a peer may run now: the node's
    /// <c>public:ccf.gov.nodes.code_ids</c>. Asked at every handshake and forwarded request, so a
    /// code id that governance removes refuses the next one.
    /// </summary>
    public required Func<IReadOnlySet<string>> AllowedCodeIds { get; init; }

    /// <summary>Accept peers whose evidence comes from the simulation TEE (development only).</summary>
    public bool AllowSimulation { get; init; }

    /// <summary>Trust anchors and the clock for peers' evidence.</summary>
    public QuoteVerifierOptions Verifier { get; init; } = new();

    /// <summary>Where refused peers are logged, with the reason.</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>
/// Mutual attested TLS 1.3 for node-to-node traffic (consensus, forwarded requests). Each node
/// presents a certificate for its node key — the key the service endorsed when it joined, so its
/// node id is unchanged — issued by the service identity and carrying fresh evidence (DICE) and the
/// evidence's collateral. Each side accepts a peer only if, in that handshake, its certificate is
/// issued by the service identity (CCF's membership proof), its evidence verifies and binds the
/// certificate's key, and the evidence's code id is one the service allows now. A node that did not
/// join through attestation, or whose code id governance removed, can neither vote, append, nor
/// speak for a caller.
/// </summary>
public sealed class NodeChannels
{
    /// <summary>
    /// The server name nodes ask for (SNI). On a node's HTTPS port it selects the node-to-node
    /// certificate and mutual attested TLS instead of the certificate clients pin.
    /// </summary>
    public const string TargetHost = "ccf-node";

    private readonly NodeChannelsOptions _options;

    public NodeChannels(NodeChannelsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        var policy = new AttestedTlsPolicy
        {
            AllowedUniqueIds = options.AllowedCodeIds,
            AllowSimulation = options.AllowSimulation,
            Verifier = options.Verifier,
            Logger = options.Logger,

            // No collateral source: each node's certificate carries its own, verified as any would be.
            Collateral = null,
        };
        policy.TrustedIssuers.Add(options.ServiceCertificate);
        Verifier = new AttestedCertificateVerifier(policy);
    }

    /// <summary>Verifies peers' node-to-node certificates (and remembers the ones it accepted).</summary>
    public AttestedCertificateVerifier Verifier { get; }

    /// <summary>The certificate this node presents now.</summary>
    public X509Certificate2 Certificate => _options.Certificate.Current;

    /// <summary>The accepting side: presents the current certificate and requires an attested node as client.</summary>
    public SslServerAuthenticationOptions ServerOptions() => new()
    {
        ServerCertificateSelectionCallback = (_, _) => Certificate,
        ClientCertificateRequired = true,
        EnabledSslProtocols = SslProtocols.Tls13,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => IsNode(certificate),
    };

    /// <summary>The connecting side: presents the current certificate and requires an attested node as server.</summary>
    public SslClientAuthenticationOptions ClientOptions() => new()
    {
        LocalCertificateSelectionCallback = (_, _, _, _, _) => Certificate,
        EnabledSslProtocols = SslProtocols.Tls13,
        TargetHost = TargetHost,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => IsNode(certificate),
    };

    /// <summary>
    /// True when <paramref name="presented"/> is an attested node-to-node certificate of this
    /// service whose code id is allowed now. Never throws: any failure is a refusal (fail closed),
    /// logged with its reason. A certificate seen before costs a lookup and the code id check.
    /// </summary>
    public bool IsNode(X509Certificate? presented)
    {
        if (presented is null)
        {
            _options.Logger?.LogWarning("Node-to-node peer refused: it presented no certificate.");
            return false;
        }

        using X509Certificate2? loaded = presented is X509Certificate2 ? null : X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        X509Certificate2 certificate = loaded ?? (X509Certificate2)presented;
        try
        {
            // TLS callbacks are synchronous; with the collateral in the certificate, verification
            // does no I/O, so this completes without waiting.
            Verifier.VerifyAsync(certificate).GetAwaiter().GetResult();
            return true;
        }
        catch (AttestedTlsException)
        {
            return false; // logged by the verifier, with the reason
        }
        catch (Exception ex)
        {
            _options.Logger?.LogWarning(ex, "Node-to-node peer refused: its certificate could not be checked ({Subject}).", certificate.Subject);
            return false;
        }
    }

    /// <summary>
    /// Makes this node's node-to-node certificate: for <paramref name="nodeKey"/> (its id stays the
    /// one the service endorsed), issued by the service identity, with DICE evidence from
    /// <paramref name="tee"/> and its collateral, the subject and host names of
    /// <paramref name="endorsedCertificate"/>; renewed with fresh evidence before it expires. The
    /// provider uses <paramref name="nodeKey"/> and <paramref name="service"/> for every renewal:
    /// dispose it before them.
    /// </summary>
    public static Task<AttestedCertificateProvider> CreateCertificateAsync(ITee tee, ECDsa nodeKey, X509Certificate2 endorsedCertificate, ServiceIdentity service, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tee);
        ArgumentNullException.ThrowIfNull(nodeKey);
        ArgumentNullException.ThrowIfNull(endorsedCertificate);
        ArgumentNullException.ThrowIfNull(service);
        List<string> names = endorsedCertificate.Extensions["2.5.29.17"] is X509SubjectAlternativeNameExtension alternative
            ? [.. alternative.EnumerateIPAddresses().Select(a => a.ToString()), .. alternative.EnumerateDnsNames()]
            : [];

        AttestedCertificateOptions Options(X509Certificate2? issuer)
        {
            var options = new AttestedCertificateOptions
            {
                Subject = endorsedCertificate.Subject,
                Issuer = issuer,
                IncludeCollateral = true,

                // One quote: peers read DICE first, and a smaller certificate travels in every handshake.
                Formats = AttestedCertificateFormats.Dice,
            };
            options.DnsNames.Clear();
            foreach (string name in names)
            {
                options.DnsNames.Add(name);
            }

            return options;
        }

        return AttestedCertificateProvider.CreateAsync(async ct =>
        {
            // The issuer with its private key, only for the signing: the service key stays in NodeSecrets.
            using X509Certificate2 publicOnly = X509CertificateLoader.LoadCertificate(service.Certificate.RawData);
            using X509Certificate2 issuer = publicOnly.CopyWithPrivateKey(service.Key);
            return await AttestedCertificate.CreateAsync(tee, nodeKey, Options(issuer), ct).ConfigureAwait(false);
        }, Options(issuer: null), cancellationToken);
    }
}
