using System.Text;
using Confide.Enclave.Manifest;

namespace Confide.Enclave.Measurement;

/// <summary>
/// The list of measured files written beside the signature (<c>enclave.files</c>), in the format
/// of <c>sha256sum</c> so that it can be audited with standard tools. It is not signed by itself:
/// it is trusted only after recomputing MRENCLAVE from it and finding the value the SIGSTRUCT signs.
/// Its job is to let the host name the exact file that is missing, changed or extra.
/// </summary>
public static class MeasurementLog
{
    public const string FileName = "enclave.files";

    public const int MaxSize = 4 * 1024 * 1024;

    public static string Format(IEnumerable<MeasuredFile> files)
    {
        var builder = new StringBuilder();
        foreach (MeasuredFile file in files.OrderBy(f => f.Path, Comparer<string>.Create(EnclaveMeasurement.CompareUtf8)))
        {
            builder.Append(file.Sha256Hex).Append("  ").Append(file.Path).Append('\n');
        }

        return builder.ToString();
    }

    /// <summary>Parses the log; a malformed line is an <see cref="EnclavePackageException"/>.</summary>
    public static IReadOnlyList<MeasuredFile> Parse(string text)
    {
        var files = new List<MeasuredFile>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (string line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            if (line.Length < 67 || line[64] != ' ' || line[65] != ' ')
            {
                throw Malformed(lineNumber, "expected '<64 hex digits>  <path>'");
            }

            byte[] hash;
            try
            {
                hash = Convert.FromHexString(line.AsSpan(0, 64));
            }
            catch (FormatException)
            {
                throw Malformed(lineNumber, "the hash is not hexadecimal");
            }

            string path = line[66..];
            try
            {
                PackagePath.Validate(path);
            }
            catch (ArgumentException ex)
            {
                throw Malformed(lineNumber, ex.Message);
            }

            if (!seen.Add(path))
            {
                throw Malformed(lineNumber, $"'{path}' is listed twice");
            }

            files.Add(new MeasuredFile(path, hash));
        }

        return files;
    }

    private static EnclavePackageException Malformed(int line, string reason) =>
        new(PackageProblemKind.MalformedMetadata, FileName, $"{FileName} line {line}: {reason}.");
}
