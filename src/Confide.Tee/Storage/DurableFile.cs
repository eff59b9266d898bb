using System.Runtime.InteropServices;

namespace Confide.Tee.Storage;

/// <summary>
/// Crash-safe replacement of small files: after <see cref="WriteAllBytes"/> returns, the file holds
/// the new content even across a power loss; if the process dies before, it holds the old content.
/// Never a mix, never empty.
/// </summary>
/// <remarks>
/// The classic recipe: write a temporary file in the same directory, fsync it, rename it over the
/// target (atomic on POSIX file systems), then fsync the directory so that the rename itself is
/// durable. .NET cannot open a directory, hence the two libc calls.
/// </remarks>
public static partial class DurableFile
{
    private static readonly UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Replaces <paramref name="path"/> with <paramref name="content"/>, readable by the owner only.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content)
    {
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnly };
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        SyncDirectory(directory);
    }

    /// <summary>Deletes <paramref name="path"/> durably (no error if it does not exist).</summary>
    public static void Delete(string path)
    {
        string fullPath = Path.GetFullPath(path);
        File.Delete(fullPath);
        SyncDirectory(Path.GetDirectoryName(fullPath)!);
    }

    /// <summary>Deletes temporary files a crashed <see cref="WriteAllBytes"/> left in <paramref name="directory"/>.</summary>
    public static void RemoveLeftovers(string directory)
    {
        foreach (string leftover in Directory.EnumerateFiles(directory, ".*.tmp"))
        {
            File.Delete(leftover);
        }
    }

    private static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // the flag values below are Linux's
        }

        int descriptor = Open(directory, ReadOnly | DirectoryOnly | CloseOnExec);
        if (descriptor < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to make a rename durable (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(descriptor) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    private const int ReadOnly = 0;
    private const int DirectoryOnly = 0x10000;  // O_DIRECTORY on x86-64 and arm64 Linux
    private const int CloseOnExec = 0x80000; // O_CLOEXEC

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int descriptor);
}
