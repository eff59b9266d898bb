using Confide.Attestation.Quotes;
using Confide.Tee.Tsm;

namespace Confide.Tee.Tests.Support;

/// <summary>
/// A temporary directory laid out like <c>/sys/kernel/config/tsm/report</c> (sdk.md §5.1) with one
/// pre-created entry, <see cref="EntryName"/>: <c>provider</c>, <c>generation</c> and <c>outblob</c>
/// as plain files (the back-end writes <c>inblob</c>).
/// </summary>
/// <remarks>
/// A plain <c>outblob</c> cannot follow <c>inblob</c> as the kernel's does, and the back-end asks
/// for a report over 64 zero bytes when it starts (to learn its identity). So the entry starts out
/// serving <see cref="StartupQuote"/>, the real quote with its report data zeroed (the back-end
/// checks no signatures, only the report data), and tests switch to the real quote with
/// <see cref="ServeRealQuote"/> once the back-end is constructed.
/// </remarks>
internal sealed class TsmDirectory : IDisposable
{
    public const string EntryName = "confide-test-entry";

    /// <summary>TD report body offset 520 in a v4 quote whose body starts at 48 (dcap.md §1.2).</summary>
    private const int TdReportDataOffset = QuoteHeader.Size + 520;

    private readonly TempDirectory _temp = new();

    public TsmDirectory(string vector = "tdx_v4_phala", string provider = "tdx_guest")
    {
        RealQuote = DcapVectors.Quote(vector);
        StartupQuote = WithReportData(RealQuote, new byte[64]);
        Root = _temp.Combine("report");
        Entry = Path.Combine(Root, EntryName);
        Directory.CreateDirectory(Entry);
        WriteText("provider", provider + "\n");
        WriteText("generation", "1\n");
        Write("outblob", StartupQuote);
    }

    public string Root { get; }

    public string Entry { get; }

    public byte[] RealQuote { get; }

    public byte[] StartupQuote { get; }

    /// <summary>The report data the real quote carries.</summary>
    public byte[] RealReportData => Quote.Parse(RealQuote).ReportData;

    public TsmReportOptions Options => new() { Root = Root, EntryName = EntryName };

    public string PathOf(string name) => Path.Combine(Entry, name);

    public byte[] Read(string name) => File.ReadAllBytes(PathOf(name));

    public void Write(string name, byte[] content) => File.WriteAllBytes(PathOf(name), content);

    public void WriteText(string name, string content) => File.WriteAllText(PathOf(name), content);

    public void ServeRealQuote() => Write("outblob", RealQuote);

    /// <summary>A copy of a v4 TDX quote with other report data (its signature no longer verifies).</summary>
    public static byte[] WithReportData(byte[] quote, byte[] reportData)
    {
        byte[] copy = (byte[])quote.Clone();
        reportData.CopyTo(copy, TdReportDataOffset);
        Assert.Equal(reportData, Quote.Parse(copy).ReportData);
        return copy;
    }

    public void Dispose() => _temp.Dispose();
}
