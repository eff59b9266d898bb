using System.Security.Cryptography;
using System.Text;
using Confide.Attestation.Quotes;

namespace Confide.Tee.Gramine;

/// <summary>
/// Intel SGX under Gramine, through its <c>/dev/attestation</c> pseudo-files: write 64 bytes to
/// <c>user_report_data</c>, read <c>quote</c>; identity from a local <c>report</c>; seal keys from
/// <c>keys/_sgx_mrenclave</c> and <c>keys/_sgx_mrsigner</c>. The files are process-wide state,
/// so requests are serialized.
/// </summary>
public sealed class GramineTee : ITee
{
    public const string DefaultRoot = "/dev/attestation";

    private static readonly byte[] SealLabel = "CONFIDE-GRAMINE-SEAL-KEY-V1"u8.ToArray();

    private readonly string _root;
    private readonly SemaphoreSlim _lock = new(1, 1);

    public GramineTee(string root = DefaultRoot)
    {
        _root = root;
        if (!File.Exists(Path.Combine(root, "attestation_type")))
        {
            throw new TeeException(TeeError.DeviceError, $"'{root}/attestation_type' does not exist: not running under Gramine with SGX.");
        }

        Identity = ReadIdentity();
    }

    /// <summary>True when <paramref name="root"/> looks like Gramine's attestation interface.</summary>
    public static bool IsAvailable(string root = DefaultRoot) => File.Exists(Path.Combine(root, "attestation_type"));

    public TeeKind Kind => TeeKind.SgxGramine;

    public bool IsSimulated => false;

    public TeeIdentity Identity { get; }

    /// <summary>Gramine's <c>attestation_type</c>: "dcap" for quotes, "none" when the manifest disables remote attestation.</summary>
    public string AttestationType => File.ReadAllText(Path.Combine(_root, "attestation_type")).Trim();

    public async ValueTask<TeeEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken = default)
    {
        byte[] data = ReportData.Pad(reportData.Span);
        string type = AttestationType;
        if (type != "dcap")
        {
            throw new TeeException(TeeError.NotSupported, $"Gramine's attestation type is '{type}'; set sgx.remote_attestation = \"dcap\" in the manifest to get quotes.");
        }

        byte[] quoteBytes;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await WriteAsync("user_report_data", data, cancellationToken).ConfigureAwait(false);
            quoteBytes = await ReadAsync("quote", Quote.MaxSize, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }

        Quote quote = ParseQuote(quoteBytes);
        if (quote.SgxBody is null)
        {
            throw new TeeException(TeeError.MalformedEvidence, "Gramine returned a quote without an SGX report body.");
        }

        if (!CryptographicOperations.FixedTimeEquals(quote.ReportData, data))
        {
            throw new TeeException(TeeError.ReportDataMismatch, "Gramine returned a quote for other report data (another writer of user_report_data in this process?).");
        }

        return new TeeEvidence(EvidenceFormat.SgxQuote, quoteBytes, IsSimulated: false);
    }

    public byte[] DeriveSealKey(SealKeyRequest request)
    {
        SealKeys.Validate(request, Identity);
        if (request.SecurityVersion != Identity.SecurityVersion)
        {
            throw new TeeException(TeeError.NotSupported,
                $"Gramine exposes only the seal key of the running security version ({Identity.SecurityVersion}); a key for version {request.SecurityVersion} cannot be derived. Re-seal data after an SVN upgrade while the old version runs, or use key release.");
        }

        string name = request.Policy == SealPolicy.Unique ? "_sgx_mrenclave" : "_sgx_mrsigner";
        byte[] hardwareKey;
        try
        {
            hardwareKey = File.ReadAllBytes(Path.Combine(_root, "keys", name));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TeeException(TeeError.DeviceError, $"Reading {_root}/keys/{name} failed: {ex.Message}", ex);
        }

        if (hardwareKey.Length != 16)
        {
            throw new TeeException(TeeError.DeviceError, $"Gramine's keys/{name} is {hardwareKey.Length} bytes; expected a 16-byte SGX key.");
        }

        try
        {
            byte[] key = new byte[32];
            HKDF.DeriveKey(HashAlgorithmName.SHA256, hardwareKey, key, request.KeyId.Span, [.. SealLabel, (byte)request.Policy]);
            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(hardwareKey);
        }
    }

    public void Dispose() => _lock.Dispose();

    private TeeIdentity ReadIdentity()
    {
        // A report targeted at ourselves carries our own identity; no quote (and no AESM) needed.
        byte[] report;
        try
        {
            File.WriteAllBytes(Path.Combine(_root, "target_info"), File.ReadAllBytes(Path.Combine(_root, "my_target_info")));
            File.WriteAllBytes(Path.Combine(_root, "user_report_data"), new byte[ReportData.Size]);
            report = File.ReadAllBytes(Path.Combine(_root, "report"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TeeException(TeeError.DeviceError, $"Reading this enclave's report from {_root} failed: {ex.Message}", ex);
        }

        if (report.Length < SgxReportBody.Size)
        {
            throw new TeeException(TeeError.MalformedEvidence, $"Gramine's report is {report.Length} bytes; an SGX report is 432.");
        }

        SgxReportBody body = SgxReportBody.Read(report.AsSpan(0, SgxReportBody.Size));
        return new TeeIdentity(TeeKind.SgxGramine, body.MrEnclave, body.MrSigner, body.IsvProdId, body.IsvSvn, body.IsDebug);
    }

    private async Task WriteAsync(string name, byte[] data, CancellationToken cancellationToken)
    {
        try
        {
            await File.WriteAllBytesAsync(Path.Combine(_root, name), data, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TeeException(TeeError.DeviceError, $"Writing {_root}/{name} failed: {ex.Message}", ex);
        }
    }

    private async Task<byte[]> ReadAsync(string name, int limit, CancellationToken cancellationToken)
    {
        try
        {
            byte[] bytes = await File.ReadAllBytesAsync(Path.Combine(_root, name), cancellationToken).ConfigureAwait(false);
            return bytes.Length <= limit ? bytes : throw new TeeException(TeeError.MalformedEvidence, $"{_root}/{name} is {bytes.Length} bytes; the limit is {limit}.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TeeException(TeeError.DeviceError, $"Reading {_root}/{name} failed: {ex.Message}", ex);
        }
    }

    internal static Quote ParseQuote(byte[] bytes)
    {
        if (!Quote.TryParse(bytes, out Quote? quote, out QuoteFormatException? error))
        {
            throw new TeeException(TeeError.MalformedEvidence, $"The TEE returned bytes that are not a valid quote: {error!.Message}", error);
        }

        return quote!;
    }

    internal static string ReadText(string path) => Encoding.ASCII.GetString(File.ReadAllBytes(path)).Trim();
}
