using System.Collections.Concurrent;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Collateral;

/// <summary>
/// Collateral from <c>QuoteCollateralV3</c> JSON files (<see cref="CollateralJson"/>): one file, or a
/// directory of them from which the file for the request's TEE, FMSPC and PCK CA is chosen.
/// </summary>
/// <remarks>
/// <para>The path is read on every request (a parsed file is reused while its size and write time
/// are unchanged), so collateral dropped into the directory later is picked up.</para>
/// <para>A file matches when its TCB info <c>id</c> is the request's TEE ("SGX", or absent in v2
/// TCB info, for SGX; "TDX" for TDX), its TCB info <c>fmspc</c> decodes to the request's FMSPC
/// (hex case does not matter), its QE identity <c>id</c>, when present, is for the same TEE
/// ("QE" / "TD_QE"), and its PCK CRL's issuer, when it is a PCK Processor or Platform CA, is the
/// requested one. A single file that does not match is an error, not returned anyway. In a
/// directory, several matches go to the one with the latest TCB info <c>issueDate</c> (then
/// <c>nextUpdate</c>, then file name); unreadable files in a directory are skipped, and named in
/// the error when nothing matches.</para>
/// </remarks>
public sealed class FileCollateralProvider : ICollateralProvider
{
    private readonly ConcurrentDictionary<string, CachedFile> _parsed = new(StringComparer.Ordinal);

    /// <param name="path">A collateral JSON file, or a directory of them.</param>
    /// <param name="searchPattern">Which files of a directory are considered (top level only).</param>
    public FileCollateralProvider(string path, string searchPattern = "*.json")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentException.ThrowIfNullOrWhiteSpace(searchPattern);
        Path = System.IO.Path.GetFullPath(path);
        SearchPattern = searchPattern;
    }

    /// <summary>The full path of the file or directory.</summary>
    public string Path { get; }

    public string SearchPattern { get; }

    /// <summary>Reads and validates one collateral file (at most <see cref="CollateralJson.MaxInputBytes"/>).</summary>
    /// <exception cref="CollateralException">The file cannot be read or is not valid collateral; the message names the file.</exception>
    public static async Task<QuoteCollateral> LoadFileAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] bytes = await ReadCappedAsync(path, cancellationToken);
        try
        {
            return CollateralJson.Parse(bytes);
        }
        catch (CollateralException ex)
        {
            throw new CollateralException($"{path}: {ex.Message}", ex);
        }
    }

    public async ValueTask<QuoteCollateral> GetCollateralAsync(CollateralRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Fmspc);
        if (File.Exists(Path))
        {
            CachedFile file = await LoadAsync(Path, cancellationToken);
            if (file.Error is not null)
            {
                throw file.Error;
            }

            string? mismatch = Mismatch(file.Summary!, request);
            return mismatch is null
                ? file.Collateral!
                : throw new CollateralException($"The collateral in {Path} does not fit the request for {Describe(request)}: {mismatch}.");
        }

        if (!Directory.Exists(Path))
        {
            throw new CollateralException($"Collateral path {Path} does not exist.");
        }

        string[] files;
        try
        {
            files = Directory.GetFiles(Path, SearchPattern, SearchOption.TopDirectoryOnly);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CollateralException($"Cannot list collateral directory {Path}: {ex.Message}", ex);
        }

        Array.Sort(files, StringComparer.Ordinal);
        var matches = new List<(string File, CachedFile Entry)>();
        var errors = new List<string>();
        foreach (string file in files)
        {
            CachedFile entry = await LoadAsync(file, cancellationToken);
            if (entry.Error is not null)
            {
                errors.Add(entry.Error.Message);
            }
            else if (Mismatch(entry.Summary!, request) is null)
            {
                matches.Add((file, entry));
            }
        }

        if (matches.Count == 0)
        {
            string message = $"No collateral for {Describe(request)} among {files.Length} file(s) matching '{SearchPattern}' in {Path}.";
            if (errors.Count > 0)
            {
                message += $" {errors.Count} could not be read: " + string.Join(" | ", errors.Take(5)) + (errors.Count > 5 ? " | ..." : "");
            }

            throw new CollateralException(message);
        }

        // Latest issueDate first, then latest nextUpdate, then the first file name: deterministic.
        return matches
            .OrderByDescending(m => m.Entry.Summary!.TcbInfo.IssueDate ?? DateTimeOffset.MinValue)
            .ThenByDescending(m => m.Entry.Summary!.TcbInfo.NextUpdate)
            .ThenBy(m => m.File, StringComparer.Ordinal)
            .First().Entry.Collateral!;
    }

    private static string Describe(CollateralRequest request) =>
        $"{CollateralFormat.Describe(request.TeeType)} FMSPC {request.FmspcHex} ({CollateralFormat.Describe(request.PckCa)})";

    /// <summary>Why the collateral does not fit the request, or null when it does.</summary>
    private static string? Mismatch(CollateralSummary summary, CollateralRequest request)
    {
        TeeType? tee = CollateralFormat.TeeOfTcbInfo(summary.TcbInfo.Id);
        if (tee != request.TeeType)
        {
            return $"its TCB info id is '{summary.TcbInfo.Id ?? "(none: SGX v2)"}'";
        }

        if (!summary.TcbInfo.Fmspc.AsSpan().SequenceEqual(request.Fmspc))
        {
            return $"its TCB info is for FMSPC {Convert.ToHexStringLower(summary.TcbInfo.Fmspc ?? [])}";
        }

        if (summary.QeIdentity.Id is string qeId && qeId != CollateralFormat.QeIdentityId(request.TeeType))
        {
            return $"its QE identity id is '{qeId}'";
        }

        if (summary.PckCrl.PckCa is PckCaType ca && ca != request.PckCa)
        {
            return $"its PCK CRL is issued by the {CollateralFormat.Describe(ca)}";
        }

        return null;
    }

    private async Task<CachedFile> LoadAsync(string file, CancellationToken cancellationToken)
    {
        FileInfo info;
        try
        {
            info = new FileInfo(file);
            _ = info.Length; // throws when the file vanished
        }
        catch (IOException ex)
        {
            return new CachedFile(default, -1, null, null, new CollateralException($"{file}: {ex.Message}", ex));
        }

        if (_parsed.TryGetValue(file, out CachedFile? cached) && cached.LastWriteUtc == info.LastWriteTimeUtc && cached.Length == info.Length)
        {
            return cached;
        }

        CachedFile entry;
        try
        {
            QuoteCollateral collateral = await LoadFileAsync(file, cancellationToken);
            entry = new CachedFile(info.LastWriteTimeUtc, info.Length, collateral, CollateralJson.Describe(collateral), null);
        }
        catch (CollateralException ex)
        {
            entry = new CachedFile(info.LastWriteTimeUtc, info.Length, null, null, ex);
        }

        _parsed[file] = entry;
        return entry;
    }

    private static async Task<byte[]> ReadCappedAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, useAsync: true);
            return await CollateralFormat.ReadCappedAsync(
                stream,
                CollateralJson.MaxInputBytes,
                stream.Length,
                () => $"{path}: collateral file is larger than {CollateralJson.MaxInputBytes} bytes.",
                cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CollateralException($"Cannot read collateral file {path}: {ex.Message}", ex);
        }
    }

    private sealed record CachedFile(DateTime LastWriteUtc, long Length, QuoteCollateral? Collateral, CollateralSummary? Summary, CollateralException? Error);
}
