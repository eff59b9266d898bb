using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Confide.Enclave.Measurement;
using Confide.Enclave.Signing;

namespace Confide.Enclave.Tests.Packaging;

public sealed class PackageTests : IClassFixture<SigningKeyFixture>
{
    private const string Manifest = """
        { "name": "p", "entryAssembly": "App.dll", "productId": 9, "securityVersion": 2, "debug": false,
          "heapSizeMiB": 128, "trustedFiles": ["*.dll", "data/**/*.bin", "App.runtimeconfig.json"], "env": ["Z", "A"] }
        """;

    private readonly RSA _key;

    public PackageTests(SigningKeyFixture fixture) => _key = fixture.Key;

    [Fact]
    public void Mrenclave_follows_the_documented_encoding()
    {
        string package = CreatePackage();

        // docs/enclave-packages.md, written out independently of the implementation.
        var encoding = new List<byte>();
        encoding.AddRange("CONFIDE-MRENCLAVE-V1"u8.ToArray());
        AddString(encoding, "App.dll");
        encoding.Add(0);
        AddUInt32(encoding, 128);
        AddUInt32(encoding, 2);
        AddString(encoding, "A");
        AddString(encoding, "Z");
        string[] files = ["App.dll", "App.runtimeconfig.json", "Lib.dll", "data/a.bin", "data/deep/b.bin"];
        AddUInt32(encoding, (uint)files.Length);
        foreach (string file in files)
        {
            AddString(encoding, file);
            encoding.AddRange(SHA256.HashData(File.ReadAllBytes(Path.Combine(package, file))));
        }

        Assert.Equal(SHA256.HashData(encoding.ToArray()), EnclavePackage.ComputeMrEnclave(package));
    }

    [Fact]
    public void The_same_content_measures_the_same_whatever_the_creation_order_and_location()
    {
        string first = CreatePackage();
        string second = CreatePackage(reverseOrder: true);

        Assert.Equal(EnclavePackage.ComputeMrEnclave(first), EnclavePackage.ComputeMrEnclave(second));
        Assert.Equal(EnclavePackage.Sign(first, _key), EnclavePackage.Sign(second, _key));
    }

    [Theory]
    [InlineData("\"debug\": false", "\"debug\": true")]
    [InlineData("\"heapSizeMiB\": 128", "\"heapSizeMiB\": 129")]
    [InlineData("\"entryAssembly\": \"App.dll\"", "\"entryAssembly\": \"Lib.dll\"")]
    [InlineData("\"env\": [\"Z\", \"A\"]", "\"env\": [\"Z\"]")]
    public void Measured_manifest_fields_change_mrenclave(string original, string replacement)
    {
        string package = CreatePackage();
        byte[] before = EnclavePackage.ComputeMrEnclave(package);
        Rewrite(package, original, replacement);
        Assert.NotEqual(before, EnclavePackage.ComputeMrEnclave(package));
    }

    [Fact]
    public void Name_product_id_and_svn_do_not_change_mrenclave_but_are_signed()
    {
        string package = CreatePackage();
        byte[] before = EnclavePackage.ComputeMrEnclave(package);
        Rewrite(package, "\"productId\": 9, \"securityVersion\": 2", "\"productId\": 10, \"securityVersion\": 3");
        Rewrite(package, "\"name\": \"p\"", "\"name\": \"renamed\"");
        Assert.Equal(before, EnclavePackage.ComputeMrEnclave(package));

        EnclavePackageIdentity identity = EnclavePackage.Sign(package, _key);
        Assert.Equal(10, identity.ProductId);
        Assert.Equal(3, identity.SecurityVersion);
    }

    [Fact]
    public void A_signed_package_opens_with_its_identity()
    {
        string package = CreatePackage();
        EnclavePackageIdentity signed = EnclavePackage.Sign(package, _key);

        EnclavePackage opened = EnclavePackage.Open(package);
        Assert.Equal(signed, opened.Identity);
        Assert.Equal(signed.MrEnclave, opened.Identity.MrEnclave);
        Assert.Equal(EnclaveSigningKey.ComputeMrSigner(_key), opened.Identity.MrSigner);
        Assert.Equal(5, opened.Files.Count);
        Assert.Contains("data/deep/b.bin", File.ReadAllText(Path.Combine(package, MeasurementLog.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_tampering_is_reported_with_the_file_it_concerns()
    {
        string package = CreatePackage();
        EnclavePackage.Sign(package, _key);
        File.AppendAllText(Path.Combine(package, "Lib.dll"), "!");
        File.Delete(Path.Combine(package, "data", "a.bin"));
        File.WriteAllText(Path.Combine(package, "Plugin.dll"), "evil");
        File.WriteAllText(Path.Combine(package, "data", "deep", "c.bin"), "extra");

        var error = Assert.Throws<EnclavePackageException>(() => EnclavePackage.Open(package));
        Assert.Equal(4, error.Problems.Count);
        Assert.Contains(error.Problems, p => p is { Kind: PackageProblemKind.ChangedFile, Path: "Lib.dll" });
        Assert.Contains(error.Problems, p => p is { Kind: PackageProblemKind.MissingFile, Path: "data/a.bin" });
        Assert.Contains(error.Problems, p => p is { Kind: PackageProblemKind.ExtraFile, Path: "Plugin.dll" });
        Assert.Contains(error.Problems, p => p is { Kind: PackageProblemKind.ExtraFile, Path: "data/deep/c.bin" });
        Assert.Contains("Lib.dll", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_symbolic_link_in_the_package_is_refused()
    {
        string package = CreatePackage();
        EnclavePackage.Sign(package, _key);
        File.CreateSymbolicLink(Path.Combine(package, "Link.dll"), "/etc/passwd");

        var error = Assert.Throws<EnclavePackageException>(() => EnclavePackage.Open(package));
        Assert.Contains(error.Problems, p => p is { Kind: PackageProblemKind.UnsupportedFile, Path: "Link.dll" });
    }

    [Fact]
    public void A_fifo_in_place_of_a_measured_file_is_refused_instead_of_hanging()
    {
        string package = CreatePackage();
        EnclavePackage.Sign(package, _key);
        string lib = Path.Combine(package, "Lib.dll");
        File.Delete(lib);
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", lib))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var opened = Assert.Throws<EnclavePackageException>(() => EnclavePackage.Open(package));
        Assert.Contains(opened.Problems, p => p is { Kind: PackageProblemKind.UnsupportedFile, Path: "Lib.dll" });
        var signed = Assert.Throws<EnclavePackageException>(() => EnclavePackage.Sign(package, _key));
        Assert.Contains(signed.Problems, p => p is { Kind: PackageProblemKind.UnsupportedFile, Path: "Lib.dll" });
    }

    [Fact]
    public void Editing_the_file_list_or_manifest_after_signing_breaks_the_measurement()
    {
        string package = CreatePackage();
        EnclavePackage.Sign(package, _key);
        string log = Path.Combine(package, MeasurementLog.FileName);
        string text = File.ReadAllText(log);
        File.WriteAllText(log, text.Replace("Lib.dll", "Lob.dll", StringComparison.Ordinal));
        Assert.Equal(PackageProblemKind.MeasurementMismatch, Assert.Throws<EnclavePackageException>(() => EnclavePackage.Open(package)).Kind);

        File.WriteAllText(log, text);
        Rewrite(package, "\"heapSizeMiB\": 128", "\"heapSizeMiB\": 4096");
        Assert.Equal(PackageProblemKind.MeasurementMismatch, Assert.Throws<EnclavePackageException>(() => EnclavePackage.Open(package)).Kind);
    }

    [Fact]
    public void Changing_a_signed_field_in_the_manifest_is_named()
    {
        string package = CreatePackage();
        EnclavePackage.Sign(package, _key);
        Rewrite(package, "\"securityVersion\": 2", "\"securityVersion\": 5");

        var error = Assert.Throws<EnclavePackageException>(() => EnclavePackage.Open(package));
        Assert.Equal(PackageProblemKind.SignatureFieldMismatch, error.Kind);
        Assert.Contains("securityVersion", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Signing_refuses_files_no_pattern_covers_and_missing_listed_files()
    {
        string package = CreatePackage();
        File.WriteAllText(Path.Combine(package, "notes.txt"), "?");
        var uncovered = Assert.Throws<EnclavePackageException>(() => EnclavePackage.Sign(package, _key));
        Assert.Contains(uncovered.Problems, p => p is { Kind: PackageProblemKind.ExtraFile, Path: "notes.txt" });
        Assert.False(File.Exists(Path.Combine(package, SignatureFile.FileName)));

        File.Delete(Path.Combine(package, "notes.txt"));
        File.Delete(Path.Combine(package, "App.runtimeconfig.json"));
        var missing = Assert.Throws<EnclavePackageException>(() => EnclavePackage.Sign(package, _key));
        Assert.Contains(missing.Problems, p => p is { Kind: PackageProblemKind.MissingFile, Path: "App.runtimeconfig.json" });
    }

    [Theory]
    [InlineData("enclave.sig")]
    [InlineData("enclave.files")]
    [InlineData("enclave.json")]
    public void Missing_metadata_is_named(string name)
    {
        string package = CreatePackage();
        EnclavePackage.Sign(package, _key);
        File.Delete(Path.Combine(package, name));

        var error = Assert.Throws<EnclavePackageException>(() => EnclavePackage.Open(package));
        Assert.Equal(PackageProblemKind.MissingMetadata, error.Kind);
        Assert.Equal(name, error.Path);
    }

    [Theory]
    [InlineData("zz  App.dll\n")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000 App.dll\n")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000  ../x\n")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000  a\n0000000000000000000000000000000000000000000000000000000000000000  a\n")]
    public void A_malformed_file_list_is_refused(string content)
    {
        var error = Assert.Throws<EnclavePackageException>(() => MeasurementLog.Parse(content));
        Assert.Equal(PackageProblemKind.MalformedMetadata, error.Kind);
    }

    private static string CreatePackage(bool reverseOrder = false)
    {
        string root = Directory.CreateTempSubdirectory("confide-pkg-").FullName;
        (string Path, string Content)[] files =
        [
            ("enclave.json", Manifest),
            ("App.dll", "app"),
            ("Lib.dll", "lib"),
            ("App.runtimeconfig.json", "{}"),
            ("data/a.bin", "a"),
            ("data/deep/b.bin", "b"),
        ];
        foreach ((string path, string content) in reverseOrder ? files.Reverse() : files)
        {
            string full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }

        return root;
    }

    private static void Rewrite(string package, string original, string replacement)
    {
        string path = Path.Combine(package, "enclave.json");
        string text = File.ReadAllText(path);
        Assert.Contains(original, text, StringComparison.Ordinal);
        File.WriteAllText(path, text.Replace(original, replacement, StringComparison.Ordinal));
    }

    private static void AddUInt32(List<byte> target, uint value)
    {
        byte[] buffer = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, value);
        target.AddRange(buffer);
    }

    private static void AddString(List<byte> target, string value)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        AddUInt32(target, (uint)utf8.Length);
        target.AddRange(utf8);
    }
}
