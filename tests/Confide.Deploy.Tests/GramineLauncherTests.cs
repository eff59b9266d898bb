using Confide.Deploy.Gramine;
using Confide.Deploy.Manifests;
using Confide.Deploy.Values;
using Confide.Deploy.Ledger;
using k8s;
using k8s.Models;

namespace Confide.Deploy.Tests;

/// <summary>
/// <c>sgx.launcher: gramine</c>: the containers start <c>gramine-sgx confide</c> with no arguments,
/// and <c>confide deploy manifests</c> writes each service's Gramine manifest template with exactly
/// the arguments the container would otherwise have had.
/// </summary>
public sealed class GramineLauncherTests
{
    private static string GramineValues() =>
        TestValues.Sgx().Replace("  nodePool: confpool\n", "  nodePool: confpool\n  launcher: gramine\n", StringComparison.Ordinal)
            .Replace("    package: /enclave\n", "", StringComparison.Ordinal);

    [Fact]
    public void ContainersRunGramineWithTheArgumentsFixedInEachServicesTemplate()
    {
        DeployValues dotnetValues = ValuesReader.Parse(GramineValues().Replace("  launcher: gramine\n", "", StringComparison.Ordinal));
        DeployValues values = ValuesReader.Parse(GramineValues());
        Assert.Equal(SgxLauncher.Gramine, values.Sgx.Launcher);
        IReadOnlyList<GramineImage> templates = ManifestGenerator.GramineTemplates(values);
        Assert.Equal(["attestation", "keys", "inference", "ledger"], templates.Select(t => t.Component));
        Assert.Empty(ManifestGenerator.GramineTemplates(dotnetValues));

        IReadOnlyList<ComponentManifests> gramine = ManifestGenerator.Generate(values);
        IReadOnlyList<ComponentManifests> plain = ManifestGenerator.Generate(dotnetValues);
        for (int i = 0; i < gramine.Count; i++)
        {
            V1Container container = Container(gramine[i], values);
            V1Container dotnet = Container(plain[i], dotnetValues);
            Assert.Equal(["gramine-sgx", "confide"], container.Command);
            Assert.True(container.Args is null || container.Args.Count == 0, $"{gramine[i].Component}: arguments would not reach a Gramine enclave");
            Assert.Equal("/gramine", container.WorkingDir);

            // The template's argv is the dotnet container's command line, word for word.
            GramineManifest manifest = templates.Single(t => t.Component == gramine[i].Component).Manifest;
            Assert.Equal(["/usr/share/dotnet/dotnet", "/app/confide.dll", .. dotnet.Args], manifest.Argv);
            Assert.Contains("sgx.remote_attestation = \"dcap\"", manifest.Template, StringComparison.Ordinal);

            // Configuration still mounted is host-provided input, passed through; nothing else is.
            string[] passedThrough = AllowedFiles(manifest.Template);
            foreach (V1VolumeMount mount in container.VolumeMounts.Where(m => m.ReadOnlyProperty == true))
            {
                Assert.Contains($"file:{mount.MountPath}/", passedThrough);
            }

            // Configuration that decides whom the service trusts is measured instead, and not mounted:
            // the host could otherwise swap the administrator key, the CA, or the ledger's launcher settings.
            string[] measured = [.. dotnet.VolumeMounts.Select(m => m.MountPath).Where(p => p is ManifestGenerator.AdminKeysPath or ManifestGenerator.AttestationCaPath or ManifestGenerator.LedgerLauncherPath)];
            foreach (string path in measured)
            {
                Assert.DoesNotContain(container.VolumeMounts, m => m.MountPath == path);
                Assert.DoesNotContain($"file:{path}/", passedThrough);
                Assert.Contains($"\"file:{path}/\",", TrustedFiles(manifest.Template), StringComparison.Ordinal);
            }

        }

        // The ledger's launcher settings become a file of its image, the very JSON the dotnet form's ConfigMap holds.
        V1ConfigMap launcher = Assert.Single(plain.Single(c => c.Component == "ledger").Objects.OfType<V1ConfigMap>(), m => m.Metadata.Name.EndsWith("-launcher", StringComparison.Ordinal));
        Assert.DoesNotContain(gramine.Single(c => c.Component == "ledger").Objects.OfType<V1ConfigMap>(), m => m.Metadata.Name.EndsWith("-launcher", StringComparison.Ordinal));
        ImageFile launcherFile = Assert.Single(templates.Single(t => t.Component == "ledger").Files);
        Assert.Equal("/etc/confide/ledger-launcher/launcher.json", launcherFile.Path);
        Assert.Equal(launcher.Data["launcher.json"], launcherFile.Content);

        // The administrator key and the attestation CA come from the operator: named, with where they go.
        OperatorFolder admin = Assert.Single(templates.Single(t => t.Component == "attestation").OperatorFolders);
        Assert.Equal(ManifestGenerator.AdminKeysPath, admin.Path);
        Assert.Equal(["admin.pem"], admin.Files);
        Assert.Equal("Secret confide-admin", admin.Source);
        Assert.Equal([ManifestGenerator.AdminKeysPath, ManifestGenerator.AttestationCaPath], templates.Single(t => t.Component == "keys").OperatorFolders.Select(f => f.Path));
        OperatorFolder ca = Assert.Single(templates.Single(t => t.Component == "inference").OperatorFolders);
        Assert.Equal((ManifestGenerator.AttestationCaPath, "ConfigMap confide-attestation-tls"), (ca.Path, ca.Source));
        Assert.Equal(["tls.pem"], ca.Files);

        // One SGX product per service: their seal keys, and so their encrypted data folders, differ.
        Assert.Equal(["sgx.isvprodid = 1", "sgx.isvprodid = 2", "sgx.isvprodid = 3", "sgx.isvprodid = 4"],
            templates.Select(t => t.Manifest.Template.Split('\n').Single(l => l.StartsWith("sgx.isvprodid", StringComparison.Ordinal))));

        V1PodTemplateSpec ledger = Template(gramine.Single(c => c.Component == "ledger"), values);
        Assert.Equal("gramine/ledger.manifest.template", ledger.Metadata.Annotations[ManifestGenerator.GramineManifestAnnotation]);
        Assert.Contains("loader.env.POD_NAME = { passthrough = true }", templates.Single(t => t.Component == "ledger").Manifest.Template, StringComparison.Ordinal);
    }

    [Fact]
    public void TheWriterPutsTheTemplatesBesideTheManifests()
    {
        string directory = Directory.CreateTempSubdirectory("confide-gramine-").FullName;
        try
        {
            DeployValues values = ValuesReader.Parse(GramineValues());
            // What the operator put in for the previous generation (the key broker's admin key), and an outdated generated file.
            string operatorFile = Path.Combine(directory, "gramine", "keys.rootfs", "etc", "confide", "admin", "admin.pem");
            Directory.CreateDirectory(Path.GetDirectoryName(operatorFile)!);
            File.WriteAllText(operatorFile, "-----BEGIN PUBLIC KEY-----");
            string launcherFile = Path.Combine(directory, "gramine", "ledger.rootfs", "etc", "confide", "ledger-launcher", "launcher.json");
            Directory.CreateDirectory(Path.GetDirectoryName(launcherFile)!);
            File.WriteAllText(launcherFile, "{}");

            IReadOnlyList<string> written = ManifestWriter.Write(ManifestGenerator.Generate(values), values, directory);
            Assert.Equal(
                ["10-attestation.yaml", "20-keys.yaml", "30-inference.yaml", "40-ledger.yaml", "attestation.manifest.template", "gramine/ledger.rootfs/etc/confide/ledger-launcher/launcher.json",
                 "inference.manifest.template", "keys.manifest.template", "ledger.manifest.template"],
                written.Select(p => p.EndsWith(".json", StringComparison.Ordinal) ? Path.GetRelativePath(directory, p) : Path.GetFileName(p)).Order(StringComparer.Ordinal));
            Assert.All(written.Where(p => p.EndsWith(".template", StringComparison.Ordinal)), p => Assert.Equal("gramine", Path.GetFileName(Path.GetDirectoryName(p))));

            // The launcher settings to bake into the ledger's image, rewritten; the operator's files kept.
            LedgerLauncherSettings settings = LedgerLauncherSettings.FromJson(File.ReadAllText(launcherFile));
            Assert.Equal("sgx-gramine", settings.Tee);
            Assert.False(settings.AllowSimulation);
            Assert.Equal("-----BEGIN PUBLIC KEY-----", File.ReadAllText(operatorFile));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("simulation: true\nsgx: {launcher: gramine}\nservices:\n  ledger: {}\n", "sgx.launcher", "simulation: false and tee: sgx-gramine")]
    [InlineData("tee: tsm\nsgx: {launcher: gramine}\nservices:\n  ledger: {collateral: 'https://pccs.example/'}\n", "sgx.launcher", "tee: tsm")]
    [InlineData("sgx: {launcher: docker}\nservices:\n  ledger: {collateral: 'https://pccs.example/'}\n", "sgx.launcher", "dotnet or gramine")]
    [InlineData("sgx: {launcher: gramine}\nservices:\n  keyBroker: {enclave: {mrenclave: 2f1c6a0b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b}}\n  attestation: {collateral: 'https://pccs.example/'}\n  inference:\n    package: /enclave\n    models: {claimName: m}\n    keyBroker: true\n", "services.inference.package", "confide deploy gramine-manifest --package")]
    public void ALauncherThatCannotWorkIsRefusedNamingTheField(string body, string field, string message)
    {
        var ex = Assert.Throws<DeployValuesException>(() => ValuesReader.Parse("namespace: confide\nimage: r.example/c:1\n" + body));
        Assert.True(ex.Errors.Any(e => e.Field == field && e.Message.Contains(message, StringComparison.Ordinal)), ex.Message);
    }

    /// <summary>The entries of a template's <c>sgx.allowed_files</c> (host-provided, unauthenticated).</summary>
    private static string[] AllowedFiles(string template) =>
        [.. Section(template, "sgx.allowed_files = [").Split('\n').Select(l => l.Trim().TrimEnd(',').Trim('"')).Where(l => l.Length > 0 && !l.StartsWith('#'))];

    private static string TrustedFiles(string template) => Section(template, "sgx.trusted_files = [");

    private static string Section(string template, string opening)
    {
        int start = template.IndexOf(opening, StringComparison.Ordinal) + opening.Length;
        return template[start..template.IndexOf("\n]", start, StringComparison.Ordinal)];
    }

    private static V1PodTemplateSpec Template(ComponentManifests component, DeployValues values)
    {
        List<object> objects = [.. KubernetesYaml.LoadAllFromString(ManifestWriter.ToYaml(component, values), strict: true)];
        return objects.OfType<V1Deployment>().Select(d => d.Spec.Template).Concat(objects.OfType<V1StatefulSet>().Select(s => s.Spec.Template)).Single();
    }

    private static V1Container Container(ComponentManifests component, DeployValues values) => Template(component, values).Spec.Containers.Single();
}
