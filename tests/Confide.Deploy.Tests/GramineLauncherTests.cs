using Confide.Deploy.Gramine;
using Confide.Deploy.Manifests;
using Confide.Deploy.Values;
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
        IReadOnlyList<(string Component, GramineManifest Manifest)> templates = ManifestGenerator.GramineTemplates(values);
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

            // Configuration mounts are readable (passed through), the data folder writable, nothing else.
            foreach (V1VolumeMount mount in container.VolumeMounts.Where(m => m.ReadOnlyProperty == true))
            {
                Assert.Contains($"\"file:{mount.MountPath}/\"", manifest.Template, StringComparison.Ordinal);
            }
        }

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
            IReadOnlyList<string> written = ManifestWriter.Write(ManifestGenerator.Generate(values), values, directory);
            Assert.Equal(
                ["10-attestation.yaml", "20-keys.yaml", "30-inference.yaml", "40-ledger.yaml", "attestation.manifest.template", "inference.manifest.template", "keys.manifest.template", "ledger.manifest.template"],
                written.Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.All(written.Where(p => p.EndsWith(".template", StringComparison.Ordinal)), p => Assert.Equal("gramine", Path.GetFileName(Path.GetDirectoryName(p))));
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

    private static V1PodTemplateSpec Template(ComponentManifests component, DeployValues values)
    {
        List<object> objects = [.. KubernetesYaml.LoadAllFromString(ManifestWriter.ToYaml(component, values), strict: true)];
        return objects.OfType<V1Deployment>().Select(d => d.Spec.Template).Concat(objects.OfType<V1StatefulSet>().Select(s => s.Spec.Template)).Single();
    }

    private static V1Container Container(ComponentManifests component, DeployValues values) => Template(component, values).Spec.Containers.Single();
}
