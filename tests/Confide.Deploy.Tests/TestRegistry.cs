using System.Collections.Concurrent;
using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Confide.Deploy.Tests;

/// <summary>
/// A throw-away, read-only OCI distribution registry on 127.0.0.1 (the pull side of the distribution
/// spec: GET /v2/, HEAD/GET manifests by tag or digest, HEAD/GET blobs), serving one small base image
/// built here: a single gzip layer with /etc/passwd naming the non-root 'app' user, and a config.
/// </summary>
internal sealed class TestRegistry : IAsyncDisposable
{
    public const string ManifestMediaType = "application/vnd.oci.image.manifest.v1+json";

    private readonly WebApplication _app;
    private readonly Dictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (byte[] Bytes, string Digest)> _manifests = new(StringComparer.Ordinal);

    private TestRegistry(WebApplication app) => _app = app;

    /// <summary>host:port, as an image reference's registry part.</summary>
    public string Host { get; private set; } = "";

    /// <summary>Every request, "METHOD path", for checking that the base image came from here.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public string BaseLayerDigest { get; private set; } = "";

    public string BaseManifestDigest { get; private set; } = "";

    public static async Task<TestRegistry> StartAsync(string repository, string tag, CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        WebApplication app = builder.Build();
        var registry = new TestRegistry(app);
        registry.AddBaseImage(repository, tag);
        app.Run(registry.HandleAsync);
        await app.StartAsync(cancellationToken);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        registry.Host = "localhost:" + new Uri(address).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return registry;
    }

    private void AddBaseImage(string repository, string tag)
    {
        // The layer: /etc/passwd and /etc/group with root and the 'app' user (1654) of Microsoft's images.
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "etc/") { Mode = (UnixFileMode)0x1ED });
            foreach ((string name, string content) in new[] { ("etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\napp:x:1654:1654::/home/app:/sbin/nologin\n"), ("etc/group", "root:x:0:\napp:x:1654:\n") })
            {
                byte[] bytes = Encoding.ASCII.GetBytes(content);
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0x1A4, DataStream = new MemoryStream(bytes) });
            }
        }

        byte[] layerTar = tar.ToArray();
        using var gz = new MemoryStream();
        using (var gzip = new GZipStream(gz, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(layerTar);
        }

        byte[] layer = gz.ToArray();
        BaseLayerDigest = AddBlob(layer);
        byte[] config = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject { ["Env"] = new JsonArray("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(Digest(layerTar)) },
            ["history"] = new JsonArray(new JsonObject { ["created_by"] = "Confide.Deploy.Tests base image" }),
        }.ToJsonString());
        string configDigest = AddBlob(config);
        byte[] manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ManifestMediaType,
            ["config"] = new JsonObject { ["mediaType"] = "application/vnd.oci.image.config.v1+json", ["digest"] = configDigest, ["size"] = config.Length },
            ["layers"] = new JsonArray(new JsonObject { ["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip", ["digest"] = BaseLayerDigest, ["size"] = layer.Length }),
        }.ToJsonString());
        BaseManifestDigest = Digest(manifest);
        _manifests[$"{repository}:{tag}"] = (manifest, BaseManifestDigest);
        _manifests[$"{repository}:{BaseManifestDigest}"] = (manifest, BaseManifestDigest);
    }

    private string AddBlob(byte[] bytes)
    {
        string digest = Digest(bytes);
        _blobs[digest] = bytes;
        return digest;
    }

    private static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    private async Task HandleAsync(HttpContext context)
    {
        string path = context.Request.Path.Value ?? "";
        Requests.Enqueue($"{context.Request.Method} {path}");
        bool head = HttpMethods.IsHead(context.Request.Method);
        if (!head && !HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.StatusCode = 405;
            return;
        }

        if (path is "/v2" or "/v2/")
        {
            await Json(context, 200, "{}", head);
            return;
        }

        int manifests = path.LastIndexOf("/manifests/", StringComparison.Ordinal);
        int blobs = path.LastIndexOf("/blobs/", StringComparison.Ordinal);
        if (path.StartsWith("/v2/", StringComparison.Ordinal) && manifests > 4)
        {
            string key = $"{path[4..manifests]}:{path[(manifests + "/manifests/".Length)..]}";
            if (_manifests.TryGetValue(key, out var manifest))
            {
                context.Response.Headers["Docker-Content-Digest"] = manifest.Digest;
                await Bytes(context, manifest.Bytes, ManifestMediaType, head);
                return;
            }
        }
        else if (path.StartsWith("/v2/", StringComparison.Ordinal) && blobs > 4 && _blobs.TryGetValue(path[(blobs + "/blobs/".Length)..], out byte[]? blob))
        {
            context.Response.Headers["Docker-Content-Digest"] = path[(blobs + "/blobs/".Length)..];
            await Bytes(context, blob, "application/octet-stream", head);
            return;
        }

        await Json(context, 404, "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"not here\"}]}", head);
    }

    private static Task Json(HttpContext context, int status, string body, bool head)
    {
        context.Response.StatusCode = status;
        return Bytes(context, Encoding.UTF8.GetBytes(body), "application/json", head);
    }

    private static async Task Bytes(HttpContext context, byte[] body, string contentType, bool head)
    {
        context.Response.ContentType = contentType;
        context.Response.ContentLength = body.Length;
        if (!head)
        {
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
