using System.Security.Cryptography;
using Confide.Enclave.Manifest;
using Confide.Enclave.Measurement;
using Confide.Enclave.Signing;
using Microsoft.Extensions.FileSystemGlobbing;

namespace Confide.Enclave;

/// <summary>
/// An enclave package: a folder with <c>enclave.json</c>, the trusted files, and after signing
/// <c>enclave.sig</c> (SIGSTRUCT) and <c>enclave.files</c> (the measured file list).
/// <see cref="Open"/> is the host's pre-launch check: it accepts a package only when the signature
/// verifies, the manifest and file list produce the signed MRENCLAVE, and the folder holds exactly
/// the measured files with the measured contents.
/// </summary>
public sealed class EnclavePackage
{
    /// <summary>Files that describe the package and are not themselves trusted files.</summary>
    public static readonly IReadOnlySet<string> MetadataFiles =
        new HashSet<string>(StringComparer.Ordinal) { EnclaveManifest.FileName, SignatureFile.FileName, MeasurementLog.FileName };

    private EnclavePackage(string directory, EnclaveManifest manifest, SigStruct signature, IReadOnlyList<MeasuredFile> files)
    {
        Directory = directory;
        Manifest = manifest;
        Signature = signature;
        Files = files;
        Identity = new EnclavePackageIdentity(signature.EnclaveHash.ToArray(), signature.ComputeMrSigner(), signature.ProductId, signature.SecurityVersion, signature.Debug);
    }

    public string Directory { get; }

    public EnclaveManifest Manifest { get; }

    public SigStruct Signature { get; }

    public IReadOnlyList<MeasuredFile> Files { get; }

    public EnclavePackageIdentity Identity { get; }

    /// <summary>Full path of the entry assembly.</summary>
    public string EntryAssemblyPath => Path.Combine(Directory, Manifest.EntryAssembly);

    /// <summary>
    /// Measures the package and writes its signature. Every file in the folder must be matched by
    /// <c>trustedFiles</c>: an unmeasured file would be refused at launch, so signing refuses it now.
    /// </summary>
    public static EnclavePackageIdentity Sign(string packageDirectory, RSA signingKey, DateOnly? signingDate = null)
    {
        string root = Path.GetFullPath(packageDirectory);
        EnclaveManifest manifest = LoadManifest(root);
        IReadOnlyList<MeasuredFile> files = MeasureTrustedFiles(root, manifest);

        byte[] mrEnclave = EnclaveMeasurement.ComputeMrEnclave(manifest, files);
        SigStruct signature = SigStruct.Create(signingKey, mrEnclave, manifest.ProductId, manifest.SecurityVersion, manifest.Debug, signingDate ?? SigningDate());

        File.WriteAllText(Path.Combine(root, MeasurementLog.FileName), MeasurementLog.Format(files));
        File.WriteAllBytes(Path.Combine(root, SignatureFile.FileName), signature.Bytes.ToArray());
        return new EnclavePackageIdentity(mrEnclave, signature.ComputeMrSigner(), manifest.ProductId, manifest.SecurityVersion, manifest.Debug);
    }

    /// <summary>Computes MRENCLAVE of an unsigned (or signed) package from its manifest and files.</summary>
    public static byte[] ComputeMrEnclave(string packageDirectory)
    {
        string root = Path.GetFullPath(packageDirectory);
        EnclaveManifest manifest = LoadManifest(root);
        return EnclaveMeasurement.ComputeMrEnclave(manifest, MeasureTrustedFiles(root, manifest));
    }

    /// <summary>Verifies a signed package before launch. Throws with every problem found.</summary>
    public static EnclavePackage Open(string packageDirectory)
    {
        string root = Path.GetFullPath(packageDirectory);
        EnclaveManifest manifest = LoadManifest(root);
        SigStruct signature = SigStruct.ReadAndVerify(ReadMetadata(root, SignatureFile.FileName, SigStruct.Size));
        IReadOnlyList<MeasuredFile> measured = MeasurementLog.Parse(System.Text.Encoding.UTF8.GetString(ReadMetadata(root, MeasurementLog.FileName, MeasurementLog.MaxSize)));

        byte[] mrEnclave = EnclaveMeasurement.ComputeMrEnclave(manifest, measured);
        if (!CryptographicOperations.FixedTimeEquals(mrEnclave, signature.EnclaveHash))
        {
            throw new EnclavePackageException(PackageProblemKind.MeasurementMismatch, null,
                $"{EnclaveManifest.FileName} or {MeasurementLog.FileName} was changed after signing: they measure to {Convert.ToHexStringLower(mrEnclave)}, the signature covers {Convert.ToHexStringLower(signature.EnclaveHash)}.");
        }

        var problems = new List<PackageProblem>();
        CheckSignedField(problems, ManifestFields.ProductId, manifest.ProductId, signature.ProductId);
        CheckSignedField(problems, ManifestFields.SecurityVersion, manifest.SecurityVersion, signature.SecurityVersion);
        CheckSignedField(problems, ManifestFields.Debug, manifest.Debug, signature.Debug);
        if (!measured.Any(f => f.Path == manifest.EntryAssembly))
        {
            problems.Add(new PackageProblem(PackageProblemKind.MeasurementMismatch, manifest.EntryAssembly, $"the entry assembly '{manifest.EntryAssembly}' is not a measured file."));
        }

        CompareWithFolder(root, measured, problems);
        if (problems.Count > 0)
        {
            throw new EnclavePackageException(problems);
        }

        return new EnclavePackage(root, manifest, signature, measured);
    }

    /// <summary>Resolves <c>trustedFiles</c> against the folder and hashes every match.</summary>
    public static IReadOnlyList<MeasuredFile> MeasureTrustedFiles(string packageDirectory, EnclaveManifest manifest)
    {
        string root = Path.GetFullPath(packageDirectory);
        var matcher = new Matcher(StringComparison.Ordinal);
        matcher.AddIncludePatterns(manifest.TrustedFiles);

        var problems = new List<PackageProblem>();
        var files = new List<MeasuredFile>();
        foreach (string path in EnumeratePackageFiles(root, problems))
        {
            if (matcher.Match(path).HasMatches)
            {
                if (EnclaveMeasurement.TryHashRegularFile(Path.Combine(root, path), out byte[]? hash))
                {
                    files.Add(new MeasuredFile(path, hash));
                }
                else
                {
                    problems.Add(NotRegular(path));
                }
            }
            else
            {
                problems.Add(new PackageProblem(PackageProblemKind.ExtraFile, path,
                    $"'{path}' is in the package but no {ManifestFields.TrustedFiles} pattern covers it; list it or remove it."));
            }
        }

        foreach (string pattern in manifest.TrustedFiles.Where(p => !p.Contains('*', StringComparison.Ordinal)))
        {
            if (!files.Any(f => f.Path == pattern))
            {
                problems.Add(new PackageProblem(PackageProblemKind.MissingFile, pattern, $"trusted file '{pattern}' is not in the package."));
            }
        }

        if (!files.Any(f => f.Path == manifest.EntryAssembly))
        {
            problems.Add(new PackageProblem(PackageProblemKind.MissingFile, manifest.EntryAssembly,
                $"the entry assembly '{manifest.EntryAssembly}' is not in the package or not covered by {ManifestFields.TrustedFiles}."));
        }

        if (problems.Count > 0)
        {
            throw new EnclavePackageException(problems);
        }

        return files;
    }

    private static void CompareWithFolder(string root, IReadOnlyList<MeasuredFile> measured, List<PackageProblem> problems)
    {
        var present = new HashSet<string>(EnumeratePackageFiles(root, problems), StringComparer.Ordinal);
        foreach (MeasuredFile file in measured)
        {
            if (!present.Remove(file.Path))
            {
                problems.Add(new PackageProblem(PackageProblemKind.MissingFile, file.Path, $"measured file '{file.Path}' is missing."));
                continue;
            }

            if (!EnclaveMeasurement.TryHashRegularFile(Path.Combine(root, file.Path), out byte[]? actual))
            {
                problems.Add(NotRegular(file.Path));
            }
            else if (!CryptographicOperations.FixedTimeEquals(actual, file.Sha256))
            {
                problems.Add(new PackageProblem(PackageProblemKind.ChangedFile, file.Path, $"measured file '{file.Path}' was changed (SHA-256 {Convert.ToHexStringLower(actual)}, signed {file.Sha256Hex})."));
            }
        }

        foreach (string extra in present.Order(StringComparer.Ordinal))
        {
            problems.Add(new PackageProblem(PackageProblemKind.ExtraFile, extra, $"'{extra}' is not a measured file; an unmeasured file in the package could be loaded by the enclave."));
        }
    }

    /// <summary>Every regular file below the package root except the metadata files; links are refused.</summary>
    private static IEnumerable<string> EnumeratePackageFiles(string root, List<PackageProblem> problems)
    {
        var pending = new Stack<DirectoryInfo>();
        pending.Push(new DirectoryInfo(root));
        var result = new List<string>();
        while (pending.Count > 0)
        {
            DirectoryInfo directory = pending.Pop();
            foreach (FileSystemInfo entry in directory.EnumerateFileSystemInfos())
            {
                string path = PackagePath.FromFileSystem(root, entry.FullName);
                if (entry.LinkTarget is not null)
                {
                    problems.Add(new PackageProblem(PackageProblemKind.UnsupportedFile, path, $"'{path}' is a symbolic link; packages hold regular files only."));
                }
                else if (entry is DirectoryInfo subdirectory)
                {
                    pending.Push(subdirectory);
                }
                else if (!IsValidPackagePath(path))
                {
                    problems.Add(new PackageProblem(PackageProblemKind.UnsupportedFile, path, $"'{path}' has a name a package cannot hold (control characters or a backslash)."));
                }
                else if (!MetadataFiles.Contains(path))
                {
                    result.Add(path);
                }
            }
        }

        return result;
    }

    private static PackageProblem NotRegular(string path) =>
        new(PackageProblemKind.UnsupportedFile, path, $"'{path}' is not a regular file (a FIFO, socket or device); packages hold regular files only.");

    private static bool IsValidPackagePath(string path)
    {
        try
        {
            PackagePath.Validate(path);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static EnclaveManifest LoadManifest(string root)
    {
        if (!System.IO.Directory.Exists(root))
        {
            throw new EnclavePackageException(PackageProblemKind.MissingMetadata, null, $"The package folder '{root}' does not exist.");
        }

        if (!File.Exists(Path.Combine(root, EnclaveManifest.FileName)))
        {
            throw new EnclavePackageException(PackageProblemKind.MissingMetadata, EnclaveManifest.FileName, $"'{root}' has no {EnclaveManifest.FileName}: not an enclave package.");
        }

        return EnclaveManifest.Load(root);
    }

    private static byte[] ReadMetadata(string root, string name, int maxSize)
    {
        var info = new FileInfo(Path.Combine(root, name));
        if (!info.Exists)
        {
            throw new EnclavePackageException(PackageProblemKind.MissingMetadata, name, $"'{name}' is missing: the package is not signed (run 'confide sign').");
        }

        if (info.Length > maxSize)
        {
            throw new EnclavePackageException(PackageProblemKind.MalformedMetadata, name, $"'{name}' is {info.Length} bytes; the limit is {maxSize}.");
        }

        return File.ReadAllBytes(info.FullName);
    }

    private static void CheckSignedField<T>(List<PackageProblem> problems, string field, T manifestValue, T signedValue)
        where T : IEquatable<T>
    {
        if (!manifestValue.Equals(signedValue))
        {
            problems.Add(new PackageProblem(PackageProblemKind.SignatureFieldMismatch, EnclaveManifest.FileName,
                $"{EnclaveManifest.FileName} field '{field}' is {manifestValue} but the signature says {signedValue}; re-sign the package."));
        }
    }

    // SOURCE_DATE_EPOCH keeps the signature file itself reproducible in builds that ask for it.
    private static DateOnly SigningDate()
    {
        string? epoch = Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
        DateTimeOffset when = long.TryParse(epoch, out long seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : DateTimeOffset.UtcNow;
        return DateOnly.FromDateTime(when.UtcDateTime);
    }
}
