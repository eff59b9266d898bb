using System.Buffers.Binary;
using System.Security.Cryptography;
using Confide.Attestation.Quotes;
using Confide.Tee.Gramine;

namespace Confide.Tee.Tsm;

/// <summary>
/// Confidential VMs (Intel TDX, AMD SEV-SNP) through Linux configfs-tsm
/// (<c>/sys/kernel/config/tsm/report</c>): create a report entry, write <c>inblob</c>, read
/// <c>outblob</c> and <c>provider</c>. <c>generation</c> is read before and after the read of
/// <c>outblob</c>: if another writer changed the entry in between, the report may answer someone
/// else's request, so it is retried and, if that keeps happening, refused.
/// </summary>
public sealed class TsmReportTee : ITee
{
    public const string DefaultRoot = "/sys/kernel/config/tsm/report";

    private const int MaxAttempts = 3;
    private const int MaxReportSize = 64 * 1024;

    private readonly TsmReportOptions _options;
    private readonly SemaphoreSlim _lock = new(1, 1);

    private TsmReportTee(TsmReportOptions options, TeeKind kind, TeeIdentity identity)
    {
        _options = options;
        Kind = kind;
        Identity = identity;
    }

    /// <summary>
    /// Opens configfs-tsm and learns the guest's identity from a report over zero report data
    /// (which also tells whether the provider is TDX or SEV-SNP).
    /// </summary>
    public static async Task<TsmReportTee> CreateAsync(TsmReportOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new TsmReportOptions();
        if (!Directory.Exists(options.Root))
        {
            throw new TeeException(TeeError.DeviceError, $"'{options.Root}' does not exist: configfs-tsm is not available (kernel 6.7+ in a TDX or SEV-SNP guest, configfs mounted).");
        }

        var probe = new TsmReportTee(options, TeeKind.Tdx, new TeeIdentity(TeeKind.Tdx, [], [], 0, 0, false));
        try
        {
            (TsmReport report, _) = await probe.RequestAsync(new byte[ReportData.Size], cancellationToken).ConfigureAwait(false);
            return new TsmReportTee(options, report.Kind, report.Identity);
        }
        finally
        {
            probe.Dispose();
        }
    }

    public static bool IsAvailable(string root = DefaultRoot) => Directory.Exists(root);

    public TeeKind Kind { get; }

    public bool IsSimulated => false;

    public TeeIdentity Identity { get; }

    public async ValueTask<TeeEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken = default)
    {
        byte[] data = ReportData.Pad(reportData.Span);
        (TsmReport report, byte[]? auxiliary) = await RequestAsync(data, cancellationToken).ConfigureAwait(false);
        return new TeeEvidence(report.Kind == TeeKind.Tdx ? EvidenceFormat.TdxQuote : EvidenceFormat.SevSnpReport, report.Bytes, IsSimulated: false)
        {
            AuxiliaryData = auxiliary,
        };
    }

    public byte[] DeriveSealKey(SealKeyRequest request) =>
        throw new TeeException(TeeError.NotSupported,
            "configfs-tsm provides reports only, no sealing keys; keep persistent secrets with the key release service.");

    public void Dispose() => _lock.Dispose();

    private async ValueTask<(TsmReport Report, byte[]? Auxiliary)> RequestAsync(byte[] data, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        string entry = Path.Combine(_options.Root, _options.EntryName ?? $"confide-{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        bool created = !Directory.Exists(entry);
        try
        {
            if (created)
            {
                Directory.CreateDirectory(entry);
            }

            for (int attempt = 1; attempt <= MaxAttempts; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await File.WriteAllBytesAsync(Path.Combine(entry, "inblob"), data, cancellationToken).ConfigureAwait(false);
                string before = GramineTee.ReadText(Path.Combine(entry, "generation"));
                byte[] outblob = await File.ReadAllBytesAsync(Path.Combine(entry, "outblob"), cancellationToken).ConfigureAwait(false);
                string provider = GramineTee.ReadText(Path.Combine(entry, "provider"));
                string after = GramineTee.ReadText(Path.Combine(entry, "generation"));
                if (before != after)
                {
                    continue;
                }

                string auxPath = Path.Combine(entry, "auxblob");
                byte[]? auxiliary = provider == "sev_guest" && File.Exists(auxPath) ? await File.ReadAllBytesAsync(auxPath, cancellationToken).ConfigureAwait(false) : null;
                TsmReport report = TsmReport.Parse(provider, outblob);
                if (!CryptographicOperations.FixedTimeEquals(report.ReportData, data))
                {
                    throw new TeeException(TeeError.ReportDataMismatch, $"configfs-tsm returned a {provider} report for other report data.");
                }

                return (report, auxiliary);
            }

            throw new TeeException(TeeError.Race, $"The configfs-tsm entry '{entry}' changed generation during each of {MaxAttempts} attempts: another process writes to it. Use a private entry.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TeeException(TeeError.DeviceError, $"configfs-tsm request in '{entry}' failed: {ex.Message}", ex);
        }
        finally
        {
            if (created && _options.EntryName is null)
            {
                try
                {
                    Directory.Delete(entry);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // configfs removes the entry's files with it; a plain directory may refuse.
                }
            }

            _lock.Release();
        }
    }

    /// <summary>One parsed outblob: who produced it, what it attests, and the report data it carries.</summary>
    private sealed record TsmReport(TeeKind Kind, byte[] Bytes, TeeIdentity Identity, byte[] ReportData)
    {
        // SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI spec, table "ATTESTATION_REPORT Structure").
        private const int SnpReportSize = 0x4A0;
        private const int SnpGuestSvnOffset = 0x04;
        private const int SnpPolicyOffset = 0x08;
        private const int SnpReportDataOffset = 0x50;
        private const int SnpMeasurementOffset = 0x90;
        private const int SnpIdKeyDigestOffset = 0xE0;
        private const ulong SnpPolicyDebug = 1UL << 19;

        public static TsmReport Parse(string provider, byte[] outblob)
        {
            if (outblob.Length > MaxReportSize)
            {
                throw new TeeException(TeeError.MalformedEvidence, $"The {provider} report is {outblob.Length} bytes; the limit is {MaxReportSize}.");
            }

            switch (provider)
            {
                case "tdx_guest":
                {
                    Quote quote = GramineTee.ParseQuote(outblob);
                    TdReportBody body = quote.TdBody ?? throw new TeeException(TeeError.MalformedEvidence, "tdx_guest returned a quote without a TD report body.");
                    var identity = new TeeIdentity(TeeKind.Tdx, body.MrTd, [], 0, 0, body.IsDebug);
                    return new TsmReport(TeeKind.Tdx, outblob, identity, body.ReportData);
                }

                case "sev_guest":
                {
                    if (outblob.Length < SnpReportSize)
                    {
                        throw new TeeException(TeeError.MalformedEvidence, $"The SEV-SNP report is {outblob.Length} bytes; it must be {SnpReportSize}.");
                    }

                    ReadOnlySpan<byte> report = outblob;
                    uint guestSvn = BinaryPrimitives.ReadUInt32LittleEndian(report[SnpGuestSvnOffset..]);
                    ulong policy = BinaryPrimitives.ReadUInt64LittleEndian(report[SnpPolicyOffset..]);
                    var identity = new TeeIdentity(
                        TeeKind.SevSnp,
                        report.Slice(SnpMeasurementOffset, 48).ToArray(),
                        report.Slice(SnpIdKeyDigestOffset, 48).ToArray(),
                        0,
                        (ushort)Math.Min(guestSvn, ushort.MaxValue),
                        (policy & SnpPolicyDebug) != 0);
                    return new TsmReport(TeeKind.SevSnp, outblob, identity, report.Slice(SnpReportDataOffset, 64).ToArray());
                }

                default:
                    throw new TeeException(TeeError.NotSupported, $"configfs-tsm provider '{provider}' is not supported (tdx_guest and sev_guest are).");
            }
        }
    }
}

/// <summary>Where configfs-tsm lives and which report entry to use.</summary>
public sealed class TsmReportOptions
{
    public string Root { get; set; } = TsmReportTee.DefaultRoot;

    /// <summary>
    /// A fixed entry name to use and keep (created if absent). Null (the default) creates a private
    /// entry per request and removes it afterwards, the kernel documentation's race-free pattern.
    /// </summary>
    public string? EntryName { get; set; }
}
