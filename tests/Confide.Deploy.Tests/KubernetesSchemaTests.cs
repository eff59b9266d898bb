using System.Reflection;
using System.Text.Json.Nodes;
using Confide.Deploy.Manifests;
using Confide.Deploy.Values;

namespace Confide.Deploy.Tests;

/// <summary>
/// The generated manifests against the Kubernetes OpenAPI schemas, checked by a second, independent
/// implementation: kubernetes-models (JSON schemas generated from Kubernetes' OpenAPI spec) run by
/// Node.js. The KubernetesClient model types reject unknown fields; these schemas check what they
/// do not: required fields, types, and formats such as resource quantities and int-or-string ports.
/// </summary>
public sealed class KubernetesSchemaTests : IDisposable
{
    private static readonly string Folder = typeof(KubernetesSchemaTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "NpmFolder").Value!;

    private readonly string _directory = Directory.CreateTempSubdirectory("confide-schema-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static TheoryData<string> ValueSets => ["sgx-azure", "sgx-intel-without-aesmd", "sgx-gramine", "simulation"];

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Every_generated_object_is_valid_against_its_kubernetes_schema(string name)
    {
        RequireInstalled();
        string yaml = name switch
        {
            "sgx-azure" => TestValues.Sgx(),
            "sgx-intel-without-aesmd" => TestValues.Sgx("intel", aesmd: false),
            "sgx-gramine" => TestValues.Sgx().Replace("  nodePool: confpool\n", "  nodePool: confpool\n  launcher: gramine\n", StringComparison.Ordinal).Replace("    package: /enclave\n", "", StringComparison.Ordinal),
            "simulation" => TestValues.Simulation,
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        DeployValues values = ValuesReader.Parse(yaml);
        IReadOnlyList<ComponentManifests> components = ManifestGenerator.Generate(values);
        string[] files = [.. ManifestWriter.Write(components, values, _directory).Where(p => p.EndsWith(".yaml", StringComparison.Ordinal))];

        JsonArray results = await ValidateAsync(files);

        // Every object was checked (none skipped for want of a schema), and every one is valid.
        Assert.Equal(components.Sum(c => c.Objects.Count), results.Count);
        Assert.All(results, r => Assert.True((bool)r!["ok"]!, $"{r["kind"]} {r["name"]} ({Path.GetFileName((string)r["file"]!)}): {Errors(r)}"));
        Assert.Contains(results, r => (string?)r!["kind"] == (name == "simulation" ? "Deployment" : "StatefulSet"));
    }

    [Fact]
    public async Task The_schemas_refuse_what_the_cluster_would()
    {
        RequireInstalled();
        string file = Path.Combine(_directory, "broken.yaml");
        await File.WriteAllTextAsync(file, """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: broken}
            spec:
              selector: {matchLabels: {app: x}}
              template:
                metadata: {labels: {app: x}}
                spec:
                  containers:
                  - image: r.example/x:1
                    ports: [{containerPort: http}]
                    resources: {limits: {memory: 4 GB}}
            ---
            apiVersion: example.com/v1
            kind: Widget
            metadata: {name: w}
            """, TestContext.Current.CancellationToken);

        JsonArray results = await ValidateAsync([file]);

        Assert.Equal(2, results.Count);
        string errors = Errors(results[0]!);
        Assert.False((bool)results[0]!["ok"]!);
        Assert.Contains("containers/0 must have required property name", errors, StringComparison.Ordinal);
        Assert.Contains("containerPort must be integer", errors, StringComparison.Ordinal);
        Assert.Contains("must match format \"quantity\"", errors, StringComparison.Ordinal);
        Assert.False((bool)results[1]!["ok"]!);
        Assert.Contains("no schema for apiVersion example.com/v1 kind Widget", Errors(results[1]!), StringComparison.Ordinal);
    }

    private static string Errors(JsonNode result) => string.Join("\n", result["errors"]!.AsArray().Select(e => (string)e!));

    /// <summary>Skips the calling test, with the reason, when Node.js or the installed schemas are missing.</summary>
    private static void RequireInstalled()
    {
        if (!Confide.Tests.NodeScript.IsInstalled)
        {
            Assert.Skip("Node.js is not installed: the Kubernetes schema checks run kubernetes-models under node.");
        }

        if (!File.Exists(Path.Combine(Folder, "node_modules", "kubernetes-models", "package.json")))
        {
            Assert.Skip($"kubernetes-models is not installed in {Folder}: the build runs 'npm ci' there, which needs the npm registry.");
        }
    }

    private static async Task<JsonArray> ValidateAsync(IEnumerable<string> files)
    {
        (int exitCode, string output, string errors) = await Confide.Tests.NodeScript.RunAsync(Folder, "validate.mjs", files, TimeSpan.FromSeconds(120));
        Assert.True(exitCode == 0, $"validate.mjs exited with {exitCode}: {errors}");
        return JsonNode.Parse(output)!.AsArray();
    }
}
