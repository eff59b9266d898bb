namespace Confide.Enclave;

/// <summary>Why a package cannot be signed or launched.</summary>
public enum PackageProblemKind
{
    /// <summary>enclave.json, enclave.sig or enclave.files is absent.</summary>
    MissingMetadata,

    /// <summary>A metadata file exists but cannot be parsed.</summary>
    MalformedMetadata,

    /// <summary>The SIGSTRUCT is malformed or its RSA signature does not verify.</summary>
    InvalidSignature,

    /// <summary>The manifest or file list does not produce the MRENCLAVE the signature covers.</summary>
    MeasurementMismatch,

    /// <summary>A manifest field bound by the signature (product id, SVN, debug) differs from the SIGSTRUCT.</summary>
    SignatureFieldMismatch,

    /// <summary>A measured file is not in the folder.</summary>
    MissingFile,

    /// <summary>A measured file's content changed.</summary>
    ChangedFile,

    /// <summary>A file is in the folder but was not measured (it could be loaded by the enclave).</summary>
    ExtraFile,

    /// <summary>A file that is not a regular file (a link, a device) is in the package.</summary>
    UnsupportedFile,
}

/// <summary>One thing wrong with a package, naming the file where there is one.</summary>
public sealed record PackageProblem(PackageProblemKind Kind, string? Path, string Message);

/// <summary>A package that failed signing or pre-launch verification; lists every problem found.</summary>
public sealed class EnclavePackageException : Exception
{
    public EnclavePackageException(PackageProblemKind kind, string? path, string message, Exception? inner = null)
        : this([new PackageProblem(kind, path, message)], inner)
    {
    }

    public EnclavePackageException(IReadOnlyList<PackageProblem> problems, Exception? inner = null)
        : base(Describe(problems), inner)
    {
        Problems = problems;
    }

    public IReadOnlyList<PackageProblem> Problems { get; }

    /// <summary>The first problem's kind.</summary>
    public PackageProblemKind Kind => Problems[0].Kind;

    /// <summary>The first problem's file, if it names one.</summary>
    public string? Path => Problems[0].Path;

    private static string Describe(IReadOnlyList<PackageProblem> problems)
    {
        if (problems.Count == 0)
        {
            throw new ArgumentException("At least one problem is required.", nameof(problems));
        }

        return problems.Count == 1
            ? problems[0].Message
            : $"The enclave package has {problems.Count} problems:{Environment.NewLine}  "
              + string.Join(Environment.NewLine + "  ", problems.Select(p => p.Message));
    }
}
