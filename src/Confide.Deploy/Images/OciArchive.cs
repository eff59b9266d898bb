using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Confide.Deploy.Images;

/// <summary>One layer of an image: its descriptor and the files its tar holds (path → mode, owner, size).</summary>
public sealed record OciLayer(string Digest, string MediaType, long Size, IReadOnlyDictionary<string, OciLayerEntry> Entries);

public sealed record OciLayerEntry(TarEntryType Type, UnixFileMode Mode, int Uid, int Gid, long Length);

/// <summary>
/// An OCI image-layout archive (what <c>ContainerArchiveOutputPath</c> writes): index.json → manifest →
/// config and layers, each blob checked against its sha256 digest on reading.
/// </summary>
public sealed class OciArchive
{
    // The image config's keys (OCI image spec, config.md).
    private const string EntrypointKey = "Entrypoint";
    private const string UserKey = "User";
    private const string LabelsKey = "Labels";

    private OciArchive(JsonObject index, JsonObject manifest, string manifestDigest, JsonObject config, IReadOnlyList<OciLayer> layers, IReadOnlyList<string> files)
    {
        Index = index;
        Manifest = manifest;
        ManifestDigest = manifestDigest;
        Config = config;
        Layers = layers;
        Files = files;
    }

    public JsonObject Index { get; }

    public JsonObject Manifest { get; }

    public string ManifestDigest { get; }

    public JsonObject Config { get; }

    public IReadOnlyList<OciLayer> Layers { get; }

    /// <summary>The archive's own entries (oci-layout, index.json, blobs/sha256/...).</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The image config's <c>config</c> object (Entrypoint, Cmd, User, WorkingDir, Labels, Env).</summary>
    public JsonObject ContainerConfig => Config["config"] as JsonObject ?? [];

    public IReadOnlyList<string> Entrypoint => [.. (ContainerConfig[EntrypointKey] as JsonArray ?? []).Select(e => e!.GetValue<string>())];

    public string? User => ContainerConfig[UserKey]?.GetValue<string>();

    public string? WorkingDirectory => ContainerConfig["WorkingDir"]?.GetValue<string>();

    public IReadOnlyDictionary<string, string> Labels =>
        (ContainerConfig[LabelsKey] as JsonObject ?? []).ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal);

    /// <summary>The image's tags (the index's <c>org.opencontainers.image.ref.name</c> annotations).</summary>
    public IReadOnlyList<string> RefNames => [.. (Index["manifests"] as JsonArray ?? [])
        .Select(m => m?["annotations"]?["org.opencontainers.image.ref.name"]?.GetValue<string>())
        .OfType<string>()];

    public static OciArchive Open(string path)
    {
        var blobs = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var files = new List<string>();
        using (FileStream stream = File.OpenRead(path))
        using (var reader = new TarReader(stream))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                string name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                files.Add(name);
                if (entry.DataStream is { } data)
                {
                    using var buffer = new MemoryStream();
                    data.CopyTo(buffer);
                    blobs[name] = buffer.ToArray();
                }
            }
        }

        if (!blobs.TryGetValue("oci-layout", out byte[]? layout) || JsonNode.Parse(layout)?["imageLayoutVersion"]?.GetValue<string>() is null)
        {
            throw new InvalidDataException($"'{path}' is not an OCI image layout (no oci-layout file).");
        }

        JsonObject index = Json(blobs, "index.json");
        JsonObject descriptor = (index["manifests"] as JsonArray)?.FirstOrDefault() as JsonObject
            ?? throw new InvalidDataException("index.json names no manifest.");
        string manifestDigest = descriptor["digest"]!.GetValue<string>();
        JsonObject manifest = Json(blobs, Blob(blobs, manifestDigest));
        JsonObject config = Json(blobs, Blob(blobs, manifest["config"]!["digest"]!.GetValue<string>()));
        var layers = new List<OciLayer>();
        foreach (JsonNode? layer in manifest["layers"] as JsonArray ?? [])
        {
            string digest = layer!["digest"]!.GetValue<string>();
            string mediaType = layer["mediaType"]!.GetValue<string>();
            byte[] bytes = blobs[Blob(blobs, digest)];
            layers.Add(new OciLayer(digest, mediaType, bytes.Length, ReadLayer(bytes, mediaType)));
        }

        return new OciArchive(index, manifest, manifestDigest, config, layers, files);
    }

    private static string Blob(Dictionary<string, byte[]> blobs, string digest)
    {
        if (!digest.StartsWith("sha256:", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Unsupported digest '{digest}'.");
        }

        string name = "blobs/sha256/" + digest["sha256:".Length..];
        if (!blobs.TryGetValue(name, out byte[]? bytes))
        {
            throw new InvalidDataException($"The archive has no blob {digest}.");
        }

        if ("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)) != digest)
        {
            throw new InvalidDataException($"Blob {digest} does not match its digest.");
        }

        return name;
    }

    private static JsonObject Json(Dictionary<string, byte[]> blobs, string name) =>
        blobs.TryGetValue(name, out byte[]? bytes) && JsonNode.Parse(bytes) is JsonObject json ? json : throw new InvalidDataException($"'{name}' is missing or not a JSON object.");

    private static Dictionary<string, OciLayerEntry> ReadLayer(byte[] bytes, string mediaType)
    {
        var entries = new Dictionary<string, OciLayerEntry>(StringComparer.Ordinal);
        using Stream raw = new MemoryStream(bytes);
        using Stream tar = mediaType.EndsWith("gzip", StringComparison.Ordinal) ? new GZipStream(raw, CompressionMode.Decompress) : raw;
        using var reader = new TarReader(tar);
        while (reader.GetNextEntry() is { } entry)
        {
            string name = "/" + entry.Name.TrimStart('.').TrimStart('/');
            entries[name.TrimEnd('/')] = new OciLayerEntry(entry.EntryType, entry.Mode, entry.Uid, entry.Gid, entry.DataStream?.Length ?? 0);
        }

        return entries;
    }
}
