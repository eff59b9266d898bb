namespace Confide.Enclave.Manifest;

/// <summary>
/// Rules for paths inside a package. Measured paths are relative, '/'-separated and stay inside
/// the package, so that the same package measures the same on every machine and cannot name
/// files outside itself.
/// </summary>
public static class PackagePath
{
    public const int MaxLength = 1024;

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="path"/> is not a valid package path.</summary>
    public static void Validate(string path)
    {
        if (string.IsNullOrEmpty(path))
        {
            throw new ArgumentException("the path is empty.");
        }

        if (path.Length > MaxLength)
        {
            throw new ArgumentException($"the path is longer than {MaxLength} characters.");
        }

        if (path.StartsWith('/') || Path.IsPathRooted(path))
        {
            throw new ArgumentException($"'{path}' must be relative to the package folder.");
        }

        if (path.Contains('\\', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{path}' must use '/' as separator.");
        }

        if (path.Any(char.IsControl))
        {
            throw new ArgumentException($"'{path}' contains a control character.");
        }

        foreach (string segment in path.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                throw new ArgumentException($"'{path}' has an empty, '.' or '..' segment.");
            }
        }
    }

    /// <summary>The package-relative, '/'-separated form of a file below <paramref name="root"/>.</summary>
    public static string FromFileSystem(string root, string fullPath) =>
        Path.GetRelativePath(root, fullPath).Replace(Path.DirectorySeparatorChar, '/');
}
