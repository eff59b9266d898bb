namespace Confide.Attestation.Collateral;

/// <summary>A collateral provider chosen from a command-line value, disposed with the command.</summary>
public interface ICollateralProviderLease : IDisposable
{
    ICollateralProvider Provider { get; }
}

/// <summary>
/// A <c>--collateral</c> value of the confide commands: an http(s) URL is a PCS v4 or PCCS root (Intel's PCS when it is Intel's
/// address); anything else is a collateral JSON file or a folder of them.
/// </summary>
public static class CollateralSource
{
    public static ICollateralProviderLease Open(string value)
    {
        if (Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            PcsCollateralProviderOptions options = uri.Host == PcsCollateralProviderOptions.IntelPcsAddress.Host
                ? new PcsCollateralProviderOptions()
                : PcsCollateralProviderOptions.ForPccs(uri);
            var provider = new PcsCollateralProvider(options);
            return new Lease(provider, provider);
        }

        return new Lease(new FileCollateralProvider(value), null);
    }

    private sealed class Lease(ICollateralProvider provider, IDisposable? owned) : ICollateralProviderLease
    {
        public ICollateralProvider Provider { get; } = provider;

        public void Dispose() => owned?.Dispose();
    }
}
