using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Confide.Enclave.Manifest;

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
public static class EnclaveMeasurement
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

    /// <summary>Hashes one file's content with SHA-256, streaming.</summary>
    public static byte[] HashFile(string fullPath)
    {
        using FileStream stream = new(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return SHA256.HashData(stream);
    }

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
