namespace Confide.Attestation.Collateral;

/// <summary>Where and how <see cref="PcsCollateralProvider"/> fetches collateral.</summary>
public sealed class PcsCollateralProviderOptions
{
    /// <summary>Intel's Provisioning Certification Service.</summary>
    public static readonly Uri IntelPcsAddress = new("https://api.trustedservices.intel.com/");

    /// <summary>Intel's published CRL of the SGX Root CA (DER).</summary>
    public static readonly Uri IntelRootCaCrlAddress = new("https://certificates.trustedservices.intel.com/IntelSGXRootCA.der");

    /// <summary>
    /// Root of the PCS v4 API: Intel's PCS, or a PCCS root such as <c>https://pccs.local:8081/</c>.
    /// Requests go to <c>{BaseAddress}sgx|tdx/certification/v4/...</c>.
    /// </summary>
    public Uri BaseAddress { get; set; } = IntelPcsAddress;

    /// <summary>
    /// Where the root CA CRL comes from: Intel's certificate site by default; a PCCS serves it at
    /// <c>{root}/sgx/certification/v4/rootcacrl</c> (see <see cref="ForPccs"/>). DER, PEM or hex are accepted.
    /// </summary>
    public Uri RootCaCrlAddress { get; set; } = IntelRootCaCrlAddress;

    /// <summary>Limit for each HTTP request, from sending it to the end of the body.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest response body accepted (Intel's biggest, the processor CA CRL, is well under 1 MiB).</summary>
    public int MaxResponseBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Whether fetched pieces are reused. Each piece (root CA CRL, PCK CRL per CA, TCB info per TEE
    /// and FMSPC, QE identity per TEE) is kept while the provider's clock is before its
    /// <c>nextUpdate</c>.
    /// </summary>
    public bool EnableCache { get; set; } = true;

    /// <summary>
    /// Optional upper bound on how long a cached piece is reused even before its <c>nextUpdate</c>
    /// (Intel publishes a TCB recovery's new TCB info before the old one's nextUpdate). Null: only
    /// nextUpdate counts.
    /// </summary>
    public TimeSpan? MaxCacheAge { get; set; }

    /// <summary>Options for a PCCS at <paramref name="pccsRoot"/>, taking the root CA CRL from it too.</summary>
    public static PcsCollateralProviderOptions ForPccs(Uri pccsRoot)
    {
        ArgumentNullException.ThrowIfNull(pccsRoot);
        Uri root = PcsCollateralProvider.WithTrailingSlash(pccsRoot);
        return new PcsCollateralProviderOptions
        {
            BaseAddress = root,
            RootCaCrlAddress = new Uri(root, "sgx/certification/v4/rootcacrl"),
        };
    }

    internal PcsCollateralProviderOptions Snapshot()
    {
        ArgumentNullException.ThrowIfNull(BaseAddress);
        ArgumentNullException.ThrowIfNull(RootCaCrlAddress);
        CheckHttp(BaseAddress, nameof(BaseAddress));
        CheckHttp(RootCaCrlAddress, nameof(RootCaCrlAddress));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Timeout, TimeSpan.Zero, nameof(Timeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MaxResponseBytes, 0, nameof(MaxResponseBytes));
        if (MaxCacheAge is TimeSpan age)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(age, TimeSpan.Zero, nameof(MaxCacheAge));
        }

        return new PcsCollateralProviderOptions
        {
            BaseAddress = PcsCollateralProvider.WithTrailingSlash(BaseAddress),
            RootCaCrlAddress = RootCaCrlAddress,
            Timeout = Timeout,
            MaxResponseBytes = MaxResponseBytes,
            EnableCache = EnableCache,
            MaxCacheAge = MaxCacheAge,
        };
    }

    private static void CheckHttp(Uri uri, string name)
    {
        if (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"{name} must be an absolute http or https URI.", name);
        }
    }
}
