using System.Buffers.Binary;
using Confide.Tee.Sealing;
using Confide.Tee.Tests.Support;
using Confide.Tee.Tsm;

namespace Confide.Tee.Tests;

/// <summary>
/// <see cref="TsmReportTee"/> against a fake configfs-tsm report directory serving a real TDX
/// quote, including the generation race the kernel documentation warns about.
/// </summary>
public sealed class TsmReportTeeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Identity_IsTheQuotesMrTd_AndTheKindIsTdx()
    {
        using var device = new TsmDirectory();

        using var tee = await TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken);

        Assert.Equal(TeeKind.Tdx, tee.Kind);
        Assert.False(tee.IsSimulated);
        Assert.Equal(TeeKind.Tdx, tee.Identity.Kind);
        Assert.Equal(DcapVectors.ExpectedField("tdx_v4_phala", "mr_td"), tee.Identity.UniqueId);
        Assert.Empty(tee.Identity.SignerId);
        Assert.False(tee.Identity.Debug);

        // The identity came from a request over 64 zero bytes.
        Assert.Equal(new byte[64], device.Read("inblob"));
    }

    [Fact]
    public async Task Evidence_ForTheQuotesOwnReportData_IsTheRealQuote()
    {
        using var device = new TsmDirectory();
        using var tee = await TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken);
        device.ServeRealQuote();

        TeeEvidence evidence = await tee.GetEvidenceAsync(device.RealReportData, TestContext.Current.CancellationToken);

        Assert.Equal(EvidenceFormat.TdxQuote, evidence.Format);
        Assert.False(evidence.IsSimulated);
        Assert.Equal(device.RealQuote, evidence.Data);
        Assert.Null(evidence.AuxiliaryData);
        Assert.Null(evidence.CollateralJson);
        Assert.Equal(device.RealReportData, device.Read("inblob"));
    }

    [Fact]
    public async Task AReportForOtherReportData_IsAReportDataMismatch()
    {
        using var device = new TsmDirectory();
        using var tee = await TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken);
        device.ServeRealQuote();

        TeeException error = await Assert.ThrowsAsync<TeeException>(
            async () => await tee.GetEvidenceAsync(new byte[] { 1, 2, 3 }, TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.ReportDataMismatch, error.Error);
    }

    [Fact]
    public async Task AKernelAnsweringOtherReportDataAtStartup_IsRefusedAlready()
    {
        using var device = new TsmDirectory();
        device.ServeRealQuote(); // its report data is not the 64 zero bytes asked for

        TeeException error = await Assert.ThrowsAsync<TeeException>(() => TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.ReportDataMismatch, error.Error);
    }

    [Fact]
    public async Task ReportDataLongerThan64Bytes_IsAnInvalidRequest()
    {
        using var device = new TsmDirectory();
        using var tee = await TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken);

        TeeException error = await Assert.ThrowsAsync<TeeException>(
            async () => await tee.GetEvidenceAsync(new byte[65], TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.InvalidRequest, error.Error);
    }

    [Theory]
    [InlineData("unknown_guest")]
    [InlineData("")]
    public async Task UnknownProvider_IsNotSupported(string provider)
    {
        using var device = new TsmDirectory(provider: provider);

        TeeException error = await Assert.ThrowsAsync<TeeException>(() => TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.NotSupported, error.Error);
    }

    [Fact]
    public async Task OutblobThatIsNotAQuote_IsMalformedEvidence()
    {
        using var device = new TsmDirectory();
        device.Write("outblob", new byte[200]);

        TeeException error = await Assert.ThrowsAsync<TeeException>(() => TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.MalformedEvidence, error.Error);
    }

    [Fact]
    public async Task SealKeys_AreNotSupported_AndTheSealerReportsTheKeyAsUnavailable()
    {
        using var device = new TsmDirectory();
        using var tee = await TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken);

        TeeException error = Assert.Throws<TeeException>(() => tee.DeriveSealKey(new SealKeyRequest(SealPolicy.Product, 0, new byte[32])));
        Assert.Equal(TeeError.NotSupported, error.Error);

        SealingException sealError = Assert.Throws<SealingException>(() => new EnclaveSealer(tee).Seal("x"u8));
        Assert.Equal(SealingError.KeyUnavailable, sealError.Error);
        Assert.IsType<TeeException>(sealError.InnerException);
    }

    [Fact]
    public async Task MissingRoot_IsADeviceError()
    {
        using var temp = new TempDirectory();
        var options = new TsmReportOptions { Root = temp.Combine("absent") };

        Assert.False(TsmReportTee.IsAvailable(options.Root));
        TeeException error = await Assert.ThrowsAsync<TeeException>(() => TsmReportTee.CreateAsync(options, TestContext.Current.CancellationToken));
        Assert.Equal(TeeError.DeviceError, error.Error);
    }

    [Fact]
    public async Task WithoutAnEntryName_APrivateEntryIsCreated_AndOneNoKernelServesIsADeviceError()
    {
        using var temp = new TempDirectory();
        string root = temp.Combine("report");
        Directory.CreateDirectory(root);
        Assert.True(TsmReportTee.IsAvailable(root));

        // A plain directory: mkdir makes an empty entry, with no generation or outblob in it.
        TeeException error = await Assert.ThrowsAsync<TeeException>(() => TsmReportTee.CreateAsync(new TsmReportOptions { Root = root }, TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.DeviceError, error.Error);

        // The entry was private to this process. (configfs would also let the back-end rmdir it;
        // a plain directory holding the inblob it wrote cannot be removed that way, so it stays.)
        string entry = Assert.Single(Directory.GetDirectories(root));
        Assert.StartsWith($"confide-{Environment.ProcessId}-", Path.GetFileName(entry), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APreCreatedEntry_IsKept()
    {
        using var device = new TsmDirectory();

        using (await TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken))
        {
        }

        Assert.True(Directory.Exists(device.Entry));
    }

    [Fact]
    public async Task SevSnpReport_GivesTheMeasurementIdKeyDigestSvnAndDebugPolicy_AndTheCertificateTable()
    {
        using var device = new TsmDirectory(provider: "sev_guest");
        byte[] report = SnpReport(reportData: new byte[64], guestSvn: 9, debug: true);
        byte[] certificateTable = [1, 2, 3, 4];
        device.Write("outblob", report);
        device.Write("auxblob", certificateTable);

        using var tee = await TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken);
        TeeEvidence evidence = await tee.GetEvidenceAsync(new byte[64], TestContext.Current.CancellationToken);

        Assert.Equal(TeeKind.SevSnp, tee.Kind);
        Assert.Equal(report.AsSpan(0x90, 48).ToArray(), tee.Identity.UniqueId);
        Assert.Equal(report.AsSpan(0xE0, 48).ToArray(), tee.Identity.SignerId);
        Assert.Equal(9, tee.Identity.SecurityVersion);
        Assert.True(tee.Identity.Debug);
        Assert.Equal(EvidenceFormat.SevSnpReport, evidence.Format);
        Assert.Equal(report, evidence.Data);
        Assert.Equal(certificateTable, evidence.AuxiliaryData);
    }

    [Fact]
    public async Task SevSnpReportShorterThanTheAbiStructure_IsMalformedEvidence()
    {
        using var device = new TsmDirectory(provider: "sev_guest");
        device.Write("outblob", new byte[0x4A0 - 1]);

        TeeException error = await Assert.ThrowsAsync<TeeException>(() => TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.MalformedEvidence, error.Error);
    }

    [Fact]
    public async Task GenerationChangingDuringEveryRead_EndsInARace_AfterRetrying()
    {
        using var device = new TsmDirectory();
        using var tee = await TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken);
        using var outblob = new FifoOutblob(device.Entry, device.RealQuote,
            onOpen: n => device.WriteText("generation", $"{n + 1}\n")); // another writer, every time

        TeeException error = await Assert.ThrowsAsync<TeeException>(
            async () => await tee.GetEvidenceAsync(device.RealReportData, TestContext.Current.CancellationToken).AsTask().WaitAsync(Patience, TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.Race, error.Error);
        Assert.Null(outblob.Error);
        Assert.Equal(3, outblob.Served); // three attempts, each read of outblob raced
    }

    [Fact]
    public async Task GenerationChangingOnlyDuringTheFirstRead_IsRetried_AndSucceeds()
    {
        using var device = new TsmDirectory();
        using var tee = await TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken);
        using var outblob = new FifoOutblob(device.Entry, device.RealQuote, onOpen: n =>
        {
            if (n == 1)
            {
                device.WriteText("generation", "2\n");
            }
        });

        TeeEvidence evidence = await tee.GetEvidenceAsync(device.RealReportData, TestContext.Current.CancellationToken).AsTask().WaitAsync(Patience, TestContext.Current.CancellationToken);

        Assert.Equal(device.RealQuote, evidence.Data);
        Assert.Null(outblob.Error);
        Assert.Equal(2, outblob.Served);
    }

    [Fact]
    public async Task AFifoOutblobWithoutRaces_IsReadOnce()
    {
        // The control for the two tests above: the FIFO plumbing by itself does not cause retries.
        using var device = new TsmDirectory();
        using var tee = await TsmReportTee.CreateAsync(device.Options, TestContext.Current.CancellationToken);
        using var outblob = new FifoOutblob(device.Entry, device.RealQuote, onOpen: _ => { });

        TeeEvidence evidence = await tee.GetEvidenceAsync(device.RealReportData, TestContext.Current.CancellationToken).AsTask().WaitAsync(Patience, TestContext.Current.CancellationToken);

        Assert.Equal(device.RealQuote, evidence.Data);
        Assert.Null(outblob.Error);
        Assert.Equal(1, outblob.Served);
    }

    /// <summary>An SEV-SNP ATTESTATION_REPORT (0x4A0 bytes) with the fields the back-end reads.</summary>
    private static byte[] SnpReport(byte[] reportData, uint guestSvn, bool debug)
    {
        byte[] report = new byte[0x4A0];
        BinaryPrimitives.WriteUInt32LittleEndian(report.AsSpan(0x04), guestSvn);
        BinaryPrimitives.WriteUInt64LittleEndian(report.AsSpan(0x08), (1UL << 17) | (debug ? 1UL << 19 : 0));
        reportData.CopyTo(report, 0x50);
        for (int i = 0; i < 48; i++)
        {
            report[0x90 + i] = (byte)(0x10 + i); // measurement
            report[0xE0 + i] = (byte)(0x80 + i); // ID key digest
        }

        return report;
    }
}
