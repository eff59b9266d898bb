using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Collateral.Tests.Support;

/// <summary>A vector's TEE, FMSPC and PCK CA (from expected.json) and its collateral file.</summary>
internal sealed record VectorInfo(string Name, string Tee, string FmspcHex, string Ca, string CollateralFile, QuoteCollateral Collateral)
{
    public static VectorInfo Of(string name)
    {
        JsonElement expected = DcapVectors.Expected(name);
        string file = expected.GetProperty("collateral").GetString()!;
        string json = File.ReadAllText(Path.Combine(DcapVectors.Directory, file));
        return new VectorInfo(
            name,
            expected.GetProperty("fields").GetProperty("tee").GetString()!,
            expected.GetProperty("pck").GetProperty("fmspc").GetString()!,
            expected.GetProperty("pck").GetProperty("ca").GetString()!,
            file,
            QuoteCollateral.FromJson(json));
    }

    public TeeType TeeType => Tee switch
    {
        "SGX" => TeeType.Sgx,
        "TDX" => TeeType.Tdx,
        _ => throw new InvalidOperationException(Tee),
    };

    public PckCaType PckCa => Ca == "processor" ? PckCaType.Processor : PckCaType.Platform;

    public CollateralRequest Request => new(TeeType, Convert.FromHexString(FmspcHex), PckCa);

    public DateTimeOffset VerifyAt => DateTimeOffset.FromUnixTimeSeconds(DcapVectors.Expected(Name).GetProperty("verify_at").GetInt64());

    public static DateTimeOffset NextUpdate(string signedJson)
    {
        using JsonDocument document = JsonDocument.Parse(signedJson);
        return DateTimeOffset.Parse(document.RootElement.GetProperty("nextUpdate").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The DER of every certificate in a PEM chain, so chains compare by content, not PEM layout.</summary>
    public static byte[][] Certificates(string pem)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPem(pem);
        byte[][] der = collection.Select(c => c.RawData).ToArray();
        foreach (X509Certificate2 certificate in collection)
        {
            certificate.Dispose();
        }

        return der;
    }

    /// <summary>Asserts two collateral sets carry the same bytes (chains compared as certificates).</summary>
    public static void AssertSame(QuoteCollateral expected, QuoteCollateral actual)
    {
        Assert.Equal(expected.TcbInfo, actual.TcbInfo, StringComparer.Ordinal);
        Assert.Equal(expected.QeIdentity, actual.QeIdentity, StringComparer.Ordinal);
        Assert.Equal(Convert.FromHexString(expected.TcbInfoSignature), Convert.FromHexString(actual.TcbInfoSignature));
        Assert.Equal(Convert.FromHexString(expected.QeIdentitySignature), Convert.FromHexString(actual.QeIdentitySignature));
        Assert.Equal(Convert.FromHexString(expected.RootCaCrl), Convert.FromHexString(actual.RootCaCrl));
        Assert.Equal(Convert.FromHexString(expected.PckCrl), Convert.FromHexString(actual.PckCrl));
        Assert.Equal(Certificates(expected.PckCrlIssuerChain), Certificates(actual.PckCrlIssuerChain));
        Assert.Equal(Certificates(expected.TcbInfoIssuerChain), Certificates(actual.TcbInfoIssuerChain));
        Assert.Equal(Certificates(expected.QeIdentityIssuerChain), Certificates(actual.QeIdentityIssuerChain));
    }
}

/// <summary>A clock the test moves by hand (Microsoft.Extensions.TimeProvider.Testing is not referenced).</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long _utcTicks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

    public void Set(DateTimeOffset value) => Interlocked.Exchange(ref _utcTicks, value.UtcTicks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _utcTicks, by.Ticks);
}
