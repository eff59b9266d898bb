using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Confide.Enclave.Manifest;
using Microsoft.Win32.SafeHandles;

namespace Confide.Enclave.Measurement;

/// <summary>
/// Computes MRENCLAVE for a package: SHA-256 over a canonical, versioned encoding of the measured
/// manifest fields and of every trusted file (path and content hash). The encoding is specified in
/// docs/enclave-packages.md; it depends only on the package's bytes, never on file-system order,
/// time stamps or the machine.
/// </summary>
/// <remarks>
/// Following SGX, the product id and security version are not part of MRENCLAVE: they live in the
/// signed SIGSTRUCT, so a new SVN of the same code keeps its MRENCLAVE. Debug and heap size are
/// measured, as Open Enclave measures its enclave configuration.
/// </remarks>
public static partial class EnclaveMeasurement
{
    /// <summary>Domain separator and version of the canonical encoding.</summary>
    public static ReadOnlySpan<byte> Magic => "CONFIDE-MRENCLAVE-V1"u8;

    public const int Size = 32;

    /// <summary>Computes MRENCLAVE from the manifest and the measured files (in any order).</summary>
    public static byte[] ComputeMrEnclave(EnclaveManifest manifest, IEnumerable<MeasuredFile> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Magic);
        AppendString(hash, manifest.EntryAssembly);
        AppendByte(hash, manifest.Debug ? (byte)1 : (byte)0);
        AppendUInt32(hash, (uint)manifest.HeapSizeMiB);

        string[] environment = manifest.Environment.ToArray();
        Array.Sort(environment, CompareUtf8);
        AppendUInt32(hash, (uint)environment.Length);
        foreach (string name in environment)
        {
            AppendString(hash, name);
        }

        MeasuredFile[] sorted = files.ToArray();
        Array.Sort(sorted, (a, b) => CompareUtf8(a.Path, b.Path));
        AppendUInt32(hash, (uint)sorted.Length);
        for (int i = 0; i < sorted.Length; i++)
        {
            if (i > 0 && CompareUtf8(sorted[i - 1].Path, sorted[i].Path) == 0)
            {
                throw new ArgumentException($"The file '{sorted[i].Path}' is listed twice.", nameof(files));
            }

            if (sorted[i].Sha256.Length != SHA256.HashSizeInBytes)
            {
                throw new ArgumentException($"The hash of '{sorted[i].Path}' is not 32 bytes.", nameof(files));
            }

            AppendString(hash, sorted[i].Path);
            hash.AppendData(sorted[i].Sha256);
        }

        return hash.GetHashAndReset();
    }

    /// <summary>
    /// Hashes one file's content with SHA-256, streaming; false when the path is not a regular
    /// file. The file is opened non-blocking and checked through the same handle it is read from,
    /// so a FIFO or device planted in a package is refused instead of hanging the measurement.
    /// </summary>
    public static bool TryHashRegularFile(string fullPath, [NotNullWhen(true)] out byte[]? sha256)
    {
        sha256 = null;
        int descriptor = OpenReadOnlyNonBlocking(fullPath, ReadOnly | NonBlocking | CloseOnExec);
        if (descriptor < 0)
        {
            throw new IOException($"Cannot open '{fullPath}': error {Marshal.GetLastPInvokeError()}.");
        }

        using var handle = new SafeFileHandle(descriptor, ownsHandle: true);
        using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 1 << 16);
        if (!stream.CanSeek)
        {
            return false; // pipes, sockets and character devices cannot seek; regular files can
        }

        sha256 = SHA256.HashData(stream);
        return true;
    }

    private const int ReadOnly = 0;
    private const int NonBlocking = 0x800;   // O_NONBLOCK, the same on x86-64 and arm64 Linux
    private const int CloseOnExec = 0x80000; // O_CLOEXEC

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenReadOnlyNonBlocking(string path, int flags);

    /// <summary>Orders paths by their UTF-8 bytes, the order the encoding uses.</summary>
    public static int CompareUtf8(string? a, string? b)
    {
        byte[] left = Encoding.UTF8.GetBytes(a ?? string.Empty);
        byte[] right = Encoding.UTF8.GetBytes(b ?? string.Empty);
        return left.AsSpan().SequenceCompareTo(right);
    }

    private static void AppendByte(IncrementalHash hash, byte value) => hash.AppendData([value]);

    private static void AppendUInt32(IncrementalHash hash, uint value)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, value);
        hash.AppendData(buffer);
    }

    private static void AppendString(IncrementalHash hash, string value)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        AppendUInt32(hash, (uint)utf8.Length);
        hash.AppendData(utf8);
    }
}
