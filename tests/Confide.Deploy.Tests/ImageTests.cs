using System.Formats.Tar;
using Confide.Deploy.Images;
using Confide.Enclave;
using Confide.Enclave.Signing;

namespace Confide.Deploy.Tests;

public sealed class ImageTests
{
    private static string MakeSignedPackage(out EnclavePackageIdentity identity)
    {
        string package = Directory.CreateTempSubdirectory("confide-package-").FullName;
        File.WriteAllText(Path.Combine(package, "enclave.json"), """
            {
              "name": "image-test",
              "entryAssembly": "ImageTest.dll",
              "productId": 7,
              "securityVersion": 3,
              "debug": false,
              "heapSizeMiB": 64,
              "trustedFiles": ["*.dll", "models/*.bin"],
              "env": []
            }
            """);
        File.WriteAllBytes(Path.Combine(package, "ImageTest.dll"), [.. Enumerable.Range(0, 4096).Select(i => (byte)i)]);
        Directory.CreateDirectory(Path.Combine(package, "models"));
        File.WriteAllBytes(Path.Combine(package, "models", "weights.bin"), [1, 2, 3, 4, 5]);
        using System.Security.Cryptography.RSA key = EnclaveSigningKey.Generate();
        identity = EnclavePackage.Sign(package, key);
        return package;
    }

    [Fact]
    public async Task APackageImageIsBuiltAgainstALoopbackRegistryAndCarriesThePackageAndItsIdentity()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        string package = MakeSignedPackage(out EnclavePackageIdentity identity);
        string output = Directory.CreateTempSubdirectory("confide-image-test-").FullName;
        try
        {
            await using TestRegistry registry = await TestRegistry.StartAsync("confide-base", "1", cancellationToken);
            var log = new StringWriter();
            var options = new ImageBuildOptions
            {
                BaseImage = $"{registry.Host}/confide-base:1",
                ArchivePath = Path.Combine(output, "image-test.tar"),
                Repository = "image-test",
                Tag = "0.1",
                Labels = new Dictionary<string, string> { ["org.opencontainers.image.title"] = "image test", ["org.opencontainers.image.version"] = "0.1" },
                WorkDirectory = Path.Combine(output, "work"),
            };
            ImageBuildResult result;
            try
            {
                result = await ImageBuilder.BuildPackageImageAsync(package, options, log, cancellationToken);
            }
            catch (ImageBuildException ex)
            {
                Assert.Fail(ex.Message + Environment.NewLine + log);
                throw;
            }

            Assert.Equal(identity, result.Identity);
            Assert.Contains(registry.Requests, r => r == "GET /v2/confide-base/manifests/1" || r.StartsWith("GET /v2/confide-base/manifests/sha256:", StringComparison.Ordinal));
            Assert.Contains(registry.Requests, r => r == $"GET /v2/confide-base/blobs/{registry.BaseLayerDigest}");

            OciArchive archive = OciArchive.Open(result.ArchivePath);
            Assert.Contains("0.1", archive.RefNames);
            Assert.Equal("application/vnd.oci.image.manifest.v1+json", archive.Manifest["mediaType"]!.GetValue<string>());

            // Config: entrypoint runs the package with the CLI of the base image, as the non-root user.
            Assert.Equal(ImageBuilder.PackageEntrypoint, archive.Entrypoint);
            Assert.Equal(["dotnet", "/app/confide.dll", "run", "/enclave"], archive.Entrypoint);
            Assert.Equal("1654", archive.User);
            Assert.Equal("/enclave/", archive.WorkingDirectory);
            IReadOnlyDictionary<string, string> labels = archive.Labels;
            Assert.Equal(identity.MrEnclaveHex, labels[ImageBuilder.MrEnclaveLabel]);
            Assert.Equal(identity.MrSignerHex, labels[ImageBuilder.MrSignerLabel]);
            Assert.Equal("7", labels[ImageBuilder.ProductIdLabel]);
            Assert.Equal("3", labels[ImageBuilder.SecurityVersionLabel]);
            Assert.Equal("false", labels[ImageBuilder.DebugLabel]);
            Assert.Equal("enclave-package", labels[ImageBuilder.ContentLabel]);
            Assert.Equal("image test", labels["org.opencontainers.image.title"]);
            // A label given replaces the SDK's generated one of the same key (its version would be 1.0.0).
            Assert.Equal("0.1", labels["org.opencontainers.image.version"]);
            Assert.Equal("linux", archive.Config["os"]!.GetValue<string>());
            Assert.Equal("amd64", archive.Config["architecture"]!.GetValue<string>());

            // Layers: the base layer reused as is, then exactly the package's files under /enclave.
            Assert.Equal(2, archive.Layers.Count);
            Assert.Equal(registry.BaseLayerDigest, archive.Layers[0].Digest);
            string[] files = [.. archive.Layers[1].Entries.Where(e => e.Value.Type is TarEntryType.RegularFile or TarEntryType.V7RegularFile).Select(e => e.Key).Order(StringComparer.Ordinal)];
            Assert.Equal(["/enclave/ImageTest.dll", "/enclave/enclave.files", "/enclave/enclave.json", "/enclave/enclave.sig", "/enclave/models/weights.bin"], files);
            Assert.All(files, f => Assert.True(archive.Layers[1].Entries[f].Mode.HasFlag(UnixFileMode.OtherRead), $"{f} is not readable by the non-root user"));
            Assert.Equal(4096, archive.Layers[1].Entries["/enclave/ImageTest.dll"].Length);
            Assert.Equal(
                archive.Config["rootfs"]!["diff_ids"]!.AsArray().Count,
                archive.Layers.Count);
        }
        finally
        {
            Directory.Delete(package, recursive: true);
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public async Task ATamperedPackageIsRefusedBeforeAnyBuild()
    {
        string package = MakeSignedPackage(out _);
        try
        {
            File.WriteAllBytes(Path.Combine(package, "models", "weights.bin"), [9, 9, 9]);
            var options = new ImageBuildOptions { BaseImage = "localhost:1/none:1", ArchivePath = Path.Combine(package, "..", "never.tar"), DotnetPath = "/nonexistent/dotnet" };
            await Assert.ThrowsAsync<EnclavePackageException>(() => ImageBuilder.BuildPackageImageAsync(package, options, TextWriter.Null, TestContext.Current.CancellationToken));
        }
        finally
        {
            Directory.Delete(package, recursive: true);
        }
    }

    [Fact]
    public void PublishArgumentsNameTheArchiveBaseImageUserAndTag()
    {
        var options = new ImageBuildOptions { BaseImage = "mcr.microsoft.com/dotnet/aspnet:10.0", ArchivePath = "/tmp/confide.tar", Tag = "1.2.3", Repository = "confide" };
        IReadOnlyList<string> args = ImageBuilder.PublishArguments("src/Confide.Cli/Confide.Cli.csproj", "/tmp/publish", options, ["SelfContained=false"]);
        Assert.Equal(["publish", "src/Confide.Cli/Confide.Cli.csproj", "-c", "Release", "-r", "linux-x64", "-t:PublishContainer"], args.Take(7));
        Assert.Contains("-p:ContainerBaseImage=mcr.microsoft.com/dotnet/aspnet:10.0", args);
        Assert.Contains("-p:ContainerArchiveOutputPath=/tmp/confide.tar", args);
        Assert.Contains("-p:ContainerUser=1654", args);
        Assert.Contains("-p:ContainerImageTag=1.2.3", args);
        Assert.Contains("-p:ContainerRepository=confide", args);
        Assert.Contains("-p:SelfContained=false", args);
    }
}
