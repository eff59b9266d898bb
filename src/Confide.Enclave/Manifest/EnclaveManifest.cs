using System.Text.Json;

namespace Confide.Enclave.Manifest;

/// <summary>
/// The contents of a package's <c>enclave.json</c>: what the enclave is, how it may run, and
/// which files make it up. Every field except <see cref="Name"/> is security-relevant and is
/// either measured into MRENCLAVE or bound by the SIGSTRUCT signature.
/// </summary>
public sealed record EnclaveManifest
{
    /// <summary>The file name of the manifest inside a package folder.</summary>
    public const string FileName = "enclave.json";

    /// <summary>Largest manifest accepted; a real one is a few hundred bytes.</summary>
    public const int MaxSize = 64 * 1024;

    public required string Name { get; init; }

    /// <summary>The managed assembly (relative path) that the enclave process starts.</summary>
    public required string EntryAssembly { get; init; }

    /// <summary>ISVPRODID: 16-bit product id, bound by the signature.</summary>
    public ushort ProductId { get; init; }

    /// <summary>ISVSVN: 16-bit security version, bound by the signature.</summary>
    public ushort SecurityVersion { get; init; }

    /// <summary>Whether the enclave is debuggable. Production policies refuse debug enclaves.</summary>
    public bool Debug { get; init; }

    /// <summary>Heap size in MiB (as EGo's heapSize); measured, and enforced as the GC heap limit.</summary>
    public int HeapSizeMiB { get; init; } = 256;

    /// <summary>File patterns (relative, '/'-separated, '*' and '**' globs) that make up the enclave.</summary>
    public required IReadOnlyList<string> TrustedFiles { get; init; }

    /// <summary>Names of host environment variables the enclave may see; all others are withheld.</summary>
    public IReadOnlyList<string> Environment { get; init; } = [];

    /// <summary>Reads and validates <c>enclave.json</c> from a package folder.</summary>
    public static EnclaveManifest Load(string packageDirectory)
    {
        string path = Path.Combine(packageDirectory, FileName);
        if (!File.Exists(path))
        {
            throw new EnclaveManifestException(null, $"'{FileName}' not found in '{packageDirectory}'.");
        }

        var info = new FileInfo(path);
        if (info.Length > MaxSize)
        {
            throw new EnclaveManifestException(null, $"'{FileName}' is {info.Length} bytes; the limit is {MaxSize}.");
        }

        return Parse(File.ReadAllBytes(path));
    }

    /// <summary>Parses manifest JSON. Errors name the offending field.</summary>
    public static EnclaveManifest Parse(ReadOnlySpan<byte> utf8Json)
    {
        if (utf8Json.Length > MaxSize)
        {
            throw new EnclaveManifestException(null, $"The manifest is {utf8Json.Length} bytes; the limit is {MaxSize}.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            throw new EnclaveManifestException(null, $"The manifest is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            return ManifestReader.Read(document.RootElement);
        }
    }

    /// <summary>Serializes the manifest in the documented shape (camelCase, indented).</summary>
    public byte[] ToJsonBytes()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString(ManifestFields.Name, Name);
            writer.WriteString(ManifestFields.EntryAssembly, EntryAssembly);
            writer.WriteNumber(ManifestFields.ProductId, ProductId);
            writer.WriteNumber(ManifestFields.SecurityVersion, SecurityVersion);
            writer.WriteBoolean(ManifestFields.Debug, Debug);
            writer.WriteNumber(ManifestFields.HeapSizeMiB, HeapSizeMiB);
            writer.WriteStartArray(ManifestFields.TrustedFiles);
            foreach (string pattern in TrustedFiles)
            {
                writer.WriteStringValue(pattern);
            }

            writer.WriteEndArray();
            writer.WriteStartArray(ManifestFields.Environment);
            foreach (string name in Environment)
            {
                writer.WriteStringValue(name);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return stream.ToArray();
    }
}
