using System.CommandLine;
using System.Text.RegularExpressions;
using Confide.Deploy.Gramine;
using Confide.Deploy.Manifests;
using Confide.Deploy.Values;
using Confide.Enclave;
using Confide.Enclave.Manifest;
using Confide.Enclave.Signing;
using k8s.Models;
using Tomlyn;
using Tomlyn.Model;

namespace Confide.Deploy.Tests;

/// <summary>
/// The Gramine manifest templates, checked structurally: Gramine itself (and SGX) is not available
/// here. Each template is rendered the way gramine-manifest would render its three expressions, then
/// parsed as TOML and its invariants asserted.
/// </summary>
public sealed partial class GramineManifestTests : IDisposable
{
    // What gramine-manifest puts in for the template's expressions on a Debian/Ubuntu x86-64 install.
    private const string LibOs = "/usr/lib/x86_64-linux-gnu/gramine/libsysdb.so";
    private const string RuntimeDirectory = "/usr/lib/x86_64-linux-gnu/gramine/runtime/glibc";
    private const string ArchLibDirectory = "/lib/x86_64-linux-gnu";
    private const string Dotnet = "/usr/share/dotnet/dotnet";

    // One signing key for every test: RSA-3072 key generation is what would make this class slow.
    private static readonly Lazy<System.Security.Cryptography.RSA> SigningKey = new(EnclaveSigningKey.Generate);

    private readonly string _package;
    private readonly EnclavePackageIdentity _identity;

    public GramineManifestTests()
    {
        _package = Directory.CreateTempSubdirectory("confide-gramine-").FullName;
        File.WriteAllText(Path.Combine(_package, "enclave.json"), """
            {
              "name": "gramine-test",
              "entryAssembly": "GramineTest.dll",
              "productId": 7,
              "securityVersion": 3,
              "debug": false,
              "heapSizeMiB": 64,
              "trustedFiles": ["*.dll", "models/*.bin"],
              "env": ["MODEL_NAME"]
            }
            """);
        File.WriteAllBytes(Path.Combine(_package, "GramineTest.dll"), [.. Enumerable.Range(0, 4096).Select(i => (byte)i)]);
        Directory.CreateDirectory(Path.Combine(_package, "models"));
        File.WriteAllBytes(Path.Combine(_package, "models", "weights.bin"), [1, 2, 3, 4, 5]);
        _identity = EnclavePackage.Sign(_package, SigningKey.Value);
    }

    public void Dispose() => Directory.Delete(_package, recursive: true);

    [Fact]
    public void APackageManifestMeasuresExactlyThePackageAndTakesItsIdentityFromEnclaveJson()
    {
        GramineManifest manifest = GramineManifestGenerator.Generate(new GramineManifestOptions { PackageDirectory = _package, Arguments = ["--models", "/models"], PassthroughPaths = ["/models/"] });
        TomlTable toml = Render(manifest.Template);

        // What runs: the image's entrypoint with the TEE named, the enclave's arguments after '--'.
        Assert.Equal("file:" + LibOs, Get<string>(toml, "loader.entrypoint"));
        Assert.Equal(Dotnet, Get<string>(toml, "libos.entrypoint"));
        Assert.Equal([Dotnet, "/app/confide.dll", "run", "/enclave", "--tee", "sgx-gramine", "--", "--models", "/models"], Strings(toml, "loader.argv"));
        Assert.Equal(manifest.Argv, Strings(toml, "loader.argv"));
        Assert.Equal("error", Get<string>(toml, "loader.log_level"));

        // Identity fields from enclave.json, as the package's signature binds them.
        Assert.Equal(7L, Get<long>(toml, "sgx.isvprodid"));
        Assert.Equal(3L, Get<long>(toml, "sgx.isvsvn"));
        Assert.False(Get<bool>(toml, "sgx.debug"));
        Assert.Equal("dcap", Get<string>(toml, "sgx.remote_attestation"));
        Assert.Equal(64L, Get<long>(toml, "sgx.max_threads"));
        Assert.False(Get<bool>(toml, "sgx.edmm_enable"));
        Assert.Equal(_identity, manifest.Package);
        Assert.Equal(2, manifest.Processes);

        // Heap: the measured 64 MiB as the runtime reads it; the enclave holds 5 x 64 MiB + 2560 MiB → 4G.
        TomlTable env = Get<TomlTable>(toml, "loader.env");
        Assert.Equal("0x4000000", env["DOTNET_GCHeapHardLimit"]);
        Assert.Equal(EnclaveEnvironment.HeapLimitValue(64), env["DOTNET_GCHeapHardLimit"]);
        Assert.Equal("0", env["DOTNET_EnableDiagnostics"]);
        Assert.Equal($"/lib:{ArchLibDirectory}:/usr{ArchLibDirectory}", env["LD_LIBRARY_PATH"]);
        Assert.True((bool)((TomlTable)env["MODEL_NAME"])["passthrough"]);
        Assert.Equal("4G", Get<string>(toml, "sgx.enclave_size"));
        Assert.Equal(4L << 30, manifest.EnclaveSizeBytes);

        // Measured: the runtime, the CLI, and the package file by file — exactly what its own measurement covers.
        string[] trusted = Strings(toml, "sgx.trusted_files");
        Assert.Equal(trusted.Length, trusted.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains("file:" + LibOs, trusted);
        Assert.Contains($"file:{RuntimeDirectory}/", trusted);
        Assert.Contains($"file:{ArchLibDirectory}/", trusted);
        Assert.Contains($"file:/usr{ArchLibDirectory}/", trusted);
        Assert.Contains("file:/usr/share/dotnet/", trusted);
        Assert.Contains("file:/app/", trusted);
        Assert.Contains("file:/etc/ssl/certs/", trusted);
        EnclavePackage package = EnclavePackage.Open(_package);
        string[] expected = [.. package.Files.Select(f => f.Path).Concat(EnclavePackage.MetadataFiles).Select(p => "file:/enclave/" + p).Order(StringComparer.Ordinal)];
        Assert.Equal(["file:/enclave/GramineTest.dll", "file:/enclave/enclave.files", "file:/enclave/enclave.json", "file:/enclave/enclave.sig", "file:/enclave/models/weights.bin"], expected);
        Assert.Equal(expected, trusted.Where(t => t.StartsWith("file:/enclave", StringComparison.Ordinal)));

        // Passed through: only /models, because it was asked for; nothing measured is passed through.
        // The data folder is written through Gramine's encrypted files instead (below).
        Assert.Equal(["file:/models/"], Strings(toml, "sgx.allowed_files"));
        Assert.DoesNotContain(Strings(toml, "sgx.allowed_files"), a => trusted.Any(t => a.StartsWith(t.TrimEnd('/'), StringComparison.Ordinal) || t.StartsWith(a.TrimEnd('/'), StringComparison.Ordinal)));

        // /tmp is shared by 'confide run' and the enclave process it starts, so it cannot be a per-process tmpfs.
        TomlTable[] mounts = Mounts(toml);
        TomlTable tmp = Assert.Single(mounts, m => (string)m["path"] == "/tmp");
        Assert.Equal("encrypted", tmp["type"]);
        Assert.Equal("_sgx_mrenclave", tmp["key_name"]);
        Assert.Equal(["/lib", ArchLibDirectory, "/usr" + ArchLibDirectory, "/usr/share/dotnet", "/app", "/enclave", "/etc/ssl/certs", "/models", "/var/lib/confide/data", "/tmp"], mounts.Select(m => (string)m["path"]));
        AssertEncryptedData(mounts, "/var/lib/confide/data");
        Assert.Equal("file:" + RuntimeDirectory, mounts[0]["uri"]);
        Assert.All(mounts[1..^1], m => Assert.Equal("file:" + m["path"], m["uri"]));

        Assert.True(Get<bool>(toml, "sys.insecure__allow_eventfd"));
        Assert.True(Get<bool>(toml, "sys.enable_extra_runtime_domain_names_conf"));

        // The header says how to build it and which MRENCLAVE counts; the comments say why the data folder may be writable.
        string comments = Comments(manifest.Template);
        Assert.Contains("gramine-manifest -Darch_libdir=/lib/x86_64-linux-gnu", comments, StringComparison.Ordinal);
        Assert.Contains("gramine-sgx-sign --manifest", comments, StringComparison.Ordinal);
        Assert.Contains("gramine-sgx confide", comments, StringComparison.Ordinal);
        Assert.Contains("gramine-sgx-sigstruct-view", comments, StringComparison.Ordinal);
        Assert.Contains("it goes into the values' 'enclave:' identity and into release and code-id policies", comments, StringComparison.Ordinal);
        Assert.Contains($"not the package's own MRENCLAVE {_identity.MrEnclaveHex}", comments, StringComparison.Ordinal);
        Assert.Contains("Not verified on SGX hardware", comments, StringComparison.Ordinal);
        Assert.Contains("the host can neither read nor alter what the service keeps there", comments, StringComparison.Ordinal);
        Assert.Contains("putting back an older copy", comments, StringComparison.Ordinal);
        Assert.Contains("2 x 4G of EPC", comments, StringComparison.Ordinal);
    }

    [Fact]
    public void AServiceManifestRunsTheContainerArgsOfTheGeneratedKubernetesManifests()
    {
        V1Container attestation = Container(ValuesReader.Parse(TestValues.Sgx()), "attestation");
        Assert.Contains("/etc/confide/admin/admin.pem", attestation.Args);

        // The admin key comes from a Secret volume in the pods: unknown to the manifest until it is named.
        GramineManifestException refused = Assert.Throws<GramineManifestException>(() => GramineManifestGenerator.Generate(new GramineManifestOptions { Service = "attestation", Arguments = [.. attestation.Args] }));
        Assert.Equal("args", refused.Field);
        Assert.Contains("/etc/confide/admin/admin.pem", refused.Message, StringComparison.Ordinal);

        GramineManifest manifest = GramineManifestGenerator.Generate(new GramineManifestOptions
        {
            Service = "attestation",
            Arguments = [.. attestation.Args],
            TrustedPaths = ["/etc/confide/admin/"],
        });
        TomlTable toml = Render(manifest.Template);
        Assert.Equal([Dotnet, "/app/confide.dll", .. attestation.Args], Strings(toml, "loader.argv"));
        Assert.Equal(1, manifest.Processes);
        Assert.Null(manifest.Package);

        // No package: nothing under /enclave; the admin key folder measured; nothing passed through,
        // the data folder (stored policies, certificates) encrypted and integrity-protected by Gramine.
        string[] trusted = Strings(toml, "sgx.trusted_files");
        Assert.DoesNotContain(trusted, t => t.StartsWith("file:/enclave", StringComparison.Ordinal));
        Assert.Contains("file:/etc/confide/admin/", trusted);
        Assert.Empty(Strings(toml, "sgx.allowed_files"));
        AssertEncryptedData(Mounts(toml), "/var/lib/confide/data");
        TomlTable tmp = Assert.Single(Mounts(toml), m => (string)m["path"] == "/tmp");
        Assert.Equal("tmpfs", tmp["type"]);
        Assert.DoesNotContain(Mounts(toml), m => (string)m["path"] == "/enclave");

        // Service defaults: a 512 MiB heap (5 x 512 + 2560 MiB → 8G), product 0, not debuggable.
        Assert.Equal("0x20000000", Get<TomlTable>(toml, "loader.env")["DOTNET_GCHeapHardLimit"]);
        Assert.Equal("8G", Get<string>(toml, "sgx.enclave_size"));
        Assert.Equal(0L, Get<long>(toml, "sgx.isvprodid"));
        Assert.False(Get<bool>(toml, "sgx.debug"));
        Assert.Contains("Not verified on SGX hardware", Comments(manifest.Template), StringComparison.Ordinal);
        Assert.DoesNotContain("not the package's own MRENCLAVE", Comments(manifest.Template), StringComparison.Ordinal);
    }

    [Fact]
    public void ServiceArgumentsMayOmitTheCommandWordsAndGetTheGramineTeeAndDataFolder()
    {
        GramineManifest keys = GramineManifestGenerator.Generate(new GramineManifestOptions
        {
            Service = "keys",
            Arguments = ["--urls", "https://0.0.0.0:8444"],
            HeapSizeMiB = 1024,
            MaxThreads = 32,
            ProductId = 2,
            SecurityVersion = 5,
            Debug = true,
            EnableEdmm = true,
            DotnetRoot = "/opt/dotnet",
            DataDirectory = "/data",
        });
        TomlTable toml = Render(keys.Template);
        Assert.Equal(["/opt/dotnet/dotnet", "/app/confide.dll", "keys", "serve", "--urls", "https://0.0.0.0:8444", "--tee", "sgx-gramine", "--data-dir", "/data"], Strings(toml, "loader.argv"));
        Assert.Equal("/opt/dotnet/dotnet", Get<string>(toml, "libos.entrypoint"));
        Assert.Contains("file:/opt/dotnet/", Strings(toml, "sgx.trusted_files"));
        Assert.Empty(Strings(toml, "sgx.allowed_files"));
        AssertEncryptedData(Mounts(toml), "/data");
        Assert.Equal("0x40000000", Get<TomlTable>(toml, "loader.env")["DOTNET_GCHeapHardLimit"]);
        Assert.Equal("8G", Get<string>(toml, "sgx.enclave_size")); // 5 x 1024 + 2560 = 7680 MiB
        Assert.Equal(32L, Get<long>(toml, "sgx.max_threads"));
        Assert.Equal(2L, Get<long>(toml, "sgx.isvprodid"));
        Assert.Equal(5L, Get<long>(toml, "sgx.isvsvn"));
        Assert.True(Get<bool>(toml, "sgx.debug"));
        Assert.True(Get<bool>(toml, "sgx.edmm_enable"));

        // The ledger's launcher: its ordinal from POD_NAME, its configuration file passed through as asked.
        V1Container ledger = Container(ValuesReader.Parse(TestValues.Sgx()), "ledger");
        GramineManifest node = GramineManifestGenerator.Generate(new GramineManifestOptions { Service = "ledger", Arguments = [.. ledger.Args], PassthroughPaths = ["/etc/confide/ledger-launcher/"], EnclaveSize = "16G" });
        TomlTable ledgerToml = Render(node.Template);
        Assert.Equal([Dotnet, "/app/confide.dll", "deploy", "ledger-node", "--config", "/etc/confide/ledger-launcher/launcher.json"], Strings(ledgerToml, "loader.argv"));
        Assert.True((bool)((TomlTable)Get<TomlTable>(ledgerToml, "loader.env")["POD_NAME"])["passthrough"]);
        Assert.Equal("16G", Get<string>(ledgerToml, "sgx.enclave_size"));
        // The ledger's files are made for an untrusted host (signed Merkle roots, encrypted private
        // maps) and are read outside the enclave by audits and recovery: a plain mount by default.
        Assert.Equal(["file:/var/lib/confide/data/", "file:/etc/confide/ledger-launcher/"], Strings(ledgerToml, "sgx.allowed_files"));
        Assert.DoesNotContain(Mounts(ledgerToml), m => m.ContainsKey("type") && (string)m["path"] == "/var/lib/confide/data");
        Assert.Contains("the ledger files themselves are made for an untrusted host", Comments(node.Template), StringComparison.Ordinal);

        // Either default can be overridden.
        TomlTable plainKeys = Render(GramineManifestGenerator.Generate(new GramineManifestOptions { Service = "keys", DataMount = GramineDataMount.Plain }).Template);
        Assert.Equal(["file:/var/lib/confide/data/"], Strings(plainKeys, "sgx.allowed_files"));
        TomlTable encryptedLedger = Render(GramineManifestGenerator.Generate(new GramineManifestOptions { Service = "ledger", DataMount = GramineDataMount.Encrypted, Arguments = [.. ledger.Args], PassthroughPaths = ["/etc/confide/ledger-launcher/"] }).Template);
        AssertEncryptedData(Mounts(encryptedLedger), "/var/lib/confide/data");
    }

    [Fact]
    public void TheEnclaveSizeCoversTheGcReservationAndTheRuntimeAndIsAPowerOfTwo()
    {
        Assert.Equal(4L << 30, GramineManifestGenerator.RequiredEnclaveSize(64, 2560));     // 2880 MiB
        Assert.Equal(4L << 30, GramineManifestGenerator.RequiredEnclaveSize(307, 2560));    // 4095 MiB
        Assert.Equal(8L << 30, GramineManifestGenerator.RequiredEnclaveSize(308, 2560));    // 4100 MiB
        Assert.Equal(16L << 30, GramineManifestGenerator.RequiredEnclaveSize(2048, 2560));  // 12800 MiB
        Assert.True(GramineSize.TryParse("512M", out long bytes) && bytes == 512L << 20);
        Assert.True(GramineSize.TryParse("1073741824", out bytes) && bytes == 1L << 30);
        Assert.False(GramineSize.TryParse("8GB", out _));
        Assert.False(GramineSize.TryParse("-1G", out _));
        Assert.Equal("512M", GramineSize.Format(512L << 20));
        Assert.Equal("16G", GramineSize.Format(16L << 30));
    }

    public static TheoryData<string, string> InvalidOptions => new()
    {
        { "neither", "--service" },
        { "both", "--package" },
        { "unknown service", "--service" },
        { "missing package", "--package" },
        { "enclave size not a power of two", "--enclave-size" },
        { "enclave size unparsable", "--enclave-size" },
        { "enclave size too small", "--enclave-size" },
        { "max threads 0", "--max-threads" },
        { "max threads 3", "--max-threads" },
        { "relative dotnet root", "--dotnet-root" },
        { "relative data folder", "--data-dir" },
        { "data folder with ..", "--data-dir" },
        { "relative trusted path", "--trusted" },
        { "data folder inside the CLI", "--data-dir" },
        { "passthrough inside the runtime", "--passthrough" },
        { "trusted inside the CLI", "--trusted" },
        { "heap size for a package", "--heap-size" },
        { "debug for a package", "--debug" },
        { "heap size too small", "--heap-size" },
        { "another service's command", "args" },
        { "simulation TEE", "args" },
        { "allow simulation in a package", "args" },
        { "unmounted path", "args" },
        { "another data folder in the args", "args" },
        { "template syntax", "args" },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void InvalidOptionsAreRefusedNamingTheField(string name, string field)
    {
        GramineManifestOptions options = name switch
        {
            "neither" => new(),
            "both" => new() { PackageDirectory = _package, Service = "keys" },
            "unknown service" => new() { Service = "gateway" },
            "missing package" => new() { PackageDirectory = Path.Combine(_package, "nope") },
            "enclave size not a power of two" => new() { Service = "keys", EnclaveSize = "12G" },
            "enclave size unparsable" => new() { Service = "keys", EnclaveSize = "lots" },
            "enclave size too small" => new() { PackageDirectory = _package, EnclaveSize = "2G" },
            "max threads 0" => new() { Service = "keys", MaxThreads = 0 },
            "max threads 3" => new() { Service = "keys", MaxThreads = 3 },
            "relative dotnet root" => new() { Service = "keys", DotnetRoot = "usr/share/dotnet" },
            "relative data folder" => new() { Service = "keys", DataDirectory = "data" },
            "data folder with .." => new() { Service = "keys", DataDirectory = "/var/lib/../data" },
            "relative trusted path" => new() { Service = "keys", TrustedPaths = ["etc/confide/admin/"] },
            "data folder inside the CLI" => new() { Service = "keys", DataDirectory = "/app/data" },
            "passthrough inside the runtime" => new() { Service = "keys", PassthroughPaths = ["/usr/share/dotnet/shared/"] },
            "trusted inside the CLI" => new() { Service = "keys", TrustedPaths = ["/app/extra.json"] },
            "heap size for a package" => new() { PackageDirectory = _package, HeapSizeMiB = 128 },
            "debug for a package" => new() { PackageDirectory = _package, Debug = true },
            "heap size too small" => new() { Service = "keys", HeapSizeMiB = 8 },
            "another service's command" => new() { Service = "keys", Arguments = ["attestation", "serve"] },
            "simulation TEE" => new() { Service = "keys", Arguments = ["keys", "serve", "--tee", "simulation"] },
            "allow simulation in a package" => new() { PackageDirectory = _package, Arguments = ["--allow-simulation"] },
            "unmounted path" => new() { Service = "inference", Arguments = ["--models", "/models"] },
            "another data folder in the args" => new() { Service = "keys", Arguments = ["--data-dir=/srv/data"] },
            "template syntax" => new() { Service = "keys", Arguments = ["--urls", "https://{{ host }}:8444"] },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        GramineManifestException ex = Assert.Throws<GramineManifestException>(() => GramineManifestGenerator.Generate(options));
        Assert.Equal(field, ex.Field);
        Assert.StartsWith(field + ": ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheRequiredSizeIsNamedWhenAnExplicitEnclaveSizeIsTooSmall()
    {
        GramineManifestException ex = Assert.Throws<GramineManifestException>(() => GramineManifestGenerator.Generate(new GramineManifestOptions { PackageDirectory = _package, EnclaveSize = "2G" }));
        Assert.Contains("2G is too small", ex.Message, StringComparison.Ordinal);
        Assert.Contains("4G", ex.Message, StringComparison.Ordinal);

        ex = Assert.Throws<GramineManifestException>(() => GramineManifestGenerator.Generate(new GramineManifestOptions { Service = "keys", EnclaveSize = "12G" }));
        Assert.Contains("16G", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnsignedOrTamperedPackageIsRefused()
    {
        File.WriteAllBytes(Path.Combine(_package, "models", "weights.bin"), [9, 9, 9]);
        GramineManifestException tampered = Assert.Throws<GramineManifestException>(() => GramineManifestGenerator.Generate(new GramineManifestOptions { PackageDirectory = _package }));
        Assert.Equal("--package", tampered.Field);
        EnclavePackageException inner = Assert.IsType<EnclavePackageException>(tampered.InnerException);
        Assert.Equal(PackageProblemKind.ChangedFile, inner.Kind);
        Assert.Contains("models/weights.bin", tampered.Message, StringComparison.Ordinal);

        File.Delete(Path.Combine(_package, "enclave.sig"));
        GramineManifestException unsigned = Assert.Throws<GramineManifestException>(() => GramineManifestGenerator.Generate(new GramineManifestOptions { PackageDirectory = _package }));
        Assert.Equal("--package", unsigned.Field);
        Assert.Equal(PackageProblemKind.MissingMetadata, Assert.IsType<EnclavePackageException>(unsigned.InnerException).Kind);
    }

    [Fact]
    public void TheTemplateUsesOnlyGramineManifestExpressionsAndTomlThatGramineParses()
    {
        foreach (GramineManifestOptions options in new GramineManifestOptions[] { new() { PackageDirectory = _package }, new() { Service = "keys" } })
        {
            string template = GramineManifestGenerator.Generate(options).Template;
            // Jinja statements and comments would be rendered (or swallowed) by gramine-manifest.
            Assert.DoesNotContain("{%", template, StringComparison.Ordinal);
            Assert.DoesNotContain("{#", template, StringComparison.Ordinal);
            Assert.Equal(
                ["{{ arch_libdir }}", "{{ gramine.libos }}", "{{ gramine.runtimedir() }}"],
                JinjaExpression().Matches(template).Select(m => m.Value).Distinct().Order(StringComparer.Ordinal));
            // Gramine's TOML parser reads TOML 1.0: inline tables on one line and without a trailing comma.
            Assert.DoesNotMatch(TrailingCommaInInlineTable(), template);
            Assert.All(template.Split('\n').Where(l => l.Contains('{', StringComparison.Ordinal) && !l.TrimStart().StartsWith('#')), l => Assert.Equal(l.Count(c => c == '{'), l.Count(c => c == '}')));
        }
    }

    [Fact]
    public async Task TheCommandWritesTheTemplateAndRefusesBadInput()
    {
        string directory = Directory.CreateTempSubdirectory("confide-gramine-cmd-").FullName;
        try
        {
            string output = Path.Combine(directory, "out", "confide.manifest.template");
            Assert.Equal(0, await Invoke("deploy", "gramine-manifest", "--package", _package, "--output", output, "--max-threads", "48", "--passthrough", "/models/", "--", "--models", "/models", "--passthrough-test"));
            TomlTable toml = Render(await File.ReadAllTextAsync(output, TestContext.Current.CancellationToken));
            Assert.Equal([Dotnet, "/app/confide.dll", "run", "/enclave", "--tee", "sgx-gramine", "--", "--models", "/models", "--passthrough-test"], Strings(toml, "loader.argv"));
            Assert.Equal(48L, Get<long>(toml, "sgx.max_threads"));
            Assert.Equal(7L, Get<long>(toml, "sgx.isvprodid"));

            string service = Path.Combine(directory, "keys.manifest.template");
            Assert.Equal(0, await Invoke("deploy", "gramine-manifest", "--service", "keys", "-o", service, "--trusted", "/etc/confide/attestation-ca/", "--heap-size", "256", "--debug",
                "--", "keys", "serve", "--authority-ca", "/etc/confide/attestation-ca/tls.pem"));
            TomlTable keys = Render(await File.ReadAllTextAsync(service, TestContext.Current.CancellationToken));
            Assert.True(Get<bool>(keys, "sgx.debug"));
            Assert.Equal("4G", Get<string>(keys, "sgx.enclave_size"));
            Assert.Contains("file:/etc/confide/attestation-ca/", Strings(keys, "sgx.trusted_files"));
            AssertEncryptedData(Mounts(keys), "/var/lib/confide/data");

            string plain = Path.Combine(directory, "plain.manifest.template");
            Assert.Equal(0, await Invoke("deploy", "gramine-manifest", "--service", "keys", "-o", plain, "--data-mount", "plain"));
            Assert.Equal(["file:/var/lib/confide/data/"], Strings(Render(await File.ReadAllTextAsync(plain, TestContext.Current.CancellationToken)), "sgx.allowed_files"));

            string bad = Path.Combine(directory, "bad.manifest.template");
            Assert.Equal(1, await Invoke("deploy", "gramine-manifest", "--service", "gateway", "-o", bad));
            Assert.Equal(1, await Invoke("deploy", "gramine-manifest", "--package", _package, "-o", bad, "--enclave-size", "3G"));
            Assert.Equal(1, await Invoke("deploy", "gramine-manifest", "--package", _package, "-o", bad, "--debug"));
            Assert.NotEqual(0, await Invoke("deploy", "gramine-manifest", "--service", "keys", "-o", bad, "--data-mount", "sealed"));
            Assert.False(File.Exists(bad));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Task<int> Invoke(params string[] args)
    {
        var root = new RootCommand("test") { DeployCommand.Create() };
        return root.Parse(args).InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);
    }

    /// <summary>Renders the template's three expressions as gramine-manifest would, then parses the TOML.</summary>
    private static TomlTable Render(string template)
    {
        string rendered = template
            .Replace("{{ gramine.libos }}", LibOs, StringComparison.Ordinal)
            .Replace("{{ gramine.runtimedir() }}", RuntimeDirectory, StringComparison.Ordinal)
            .Replace("{{ arch_libdir }}", ArchLibDirectory, StringComparison.Ordinal);
        Assert.DoesNotContain("{{", rendered, StringComparison.Ordinal);
        return TomlSerializer.Deserialize<TomlTable>(rendered)!;
    }

    /// <summary>The template's comments as one line of text (they are wrapped at 100 columns).</summary>
    private static string Comments(string template) =>
        string.Join(' ', template.Split('\n').Select(l => l.TrimStart()).Where(l => l.StartsWith('#')).Select(l => l.TrimStart('#').Trim()));

    private static T Get<T>(TomlTable table, string dottedKey)
    {
        object current = table;
        foreach (string key in dottedKey.Split('.'))
        {
            Assert.True(((TomlTable)current).TryGetValue(key, out object? next), $"{dottedKey}: no '{key}'");
            current = next!;
        }

        return Assert.IsAssignableFrom<T>(current);
    }

    private static string[] Strings(TomlTable table, string dottedKey) => [.. Get<TomlArray>(table, dottedKey).Select(v => Assert.IsType<string>(v))];

    /// <summary>The data folder is Gramine's encrypted files, keyed to the signer, and neither measured nor passed through.</summary>
    private static void AssertEncryptedData(TomlTable[] mounts, string path)
    {
        TomlTable data = Assert.Single(mounts, m => (string)m["path"] == path);
        Assert.Equal("encrypted", data["type"]);
        Assert.Equal("file:" + path, data["uri"]);
        Assert.Equal("_sgx_mrsigner", data["key_name"]);
    }

    private static TomlTable[] Mounts(TomlTable table) => [.. Get<TomlArray>(table, "fs.mounts").Select(m => Assert.IsAssignableFrom<TomlTable>(m))];

    private static V1Container Container(DeployValues values, string component) =>
        ManifestGenerator.Generate(values).Single(c => c.Component == component).Objects
            .Select(o => o switch { V1Deployment d => d.Spec.Template, V1StatefulSet s => s.Spec.Template, _ => null })
            .OfType<V1PodTemplateSpec>()
            .Single().Spec.Containers.Single();

    [GeneratedRegex(@"\{\{.*?\}\}")]
    private static partial Regex JinjaExpression();

    [GeneratedRegex(@",\s*\}")]
    private static partial Regex TrailingCommaInInlineTable();
}
