using System.Text.RegularExpressions;
using Confide.Deploy.Ledger;
using Confide.Deploy.Manifests;
using Confide.Deploy.Values;
using k8s;
using k8s.Models;

namespace Confide.Deploy.Tests;

public sealed partial class ManifestTests
{
    /// <summary>
    /// The health routes the services really serve, written down here independently of the generator
    /// and checked against the services' sources below: (component, port, scheme, path or null for TCP).
    /// </summary>
    private static readonly (string Component, int Port, string? Scheme, string? Path)[] RealEndpoints =
    [
        ("attestation", 8443, "HTTPS", "/certs"),
        ("keys", 8444, null, null),
        ("inference", 8002, "HTTP", "/healthz"),
        ("inference", 8002, "HTTP", "/readyz"),
        ("ledger", 8080, "HTTPS", "/node/state"),
        ("ledger", 8080, "HTTPS", "/node/ready/app"),
    ];

    /// <summary>Where each component's command-line options and health routes are defined.</summary>
    private static readonly Dictionary<string, string[]> Sources = new()
    {
        ["attestation"] = ["src/Confide.Cli/Commands/AttestationCommands.cs", "src/Confide.AttestationService/Http/AttestationEndpoints.cs"],
        ["keys"] = ["src/Confide.Cli/Commands/KeyBrokerCommands.cs"],
        ["inference"] = ["src/Confide.Inference/Hosting/InferenceServeCommand.cs", "src/Confide.Cli/Commands/RunCommand.cs", "src/Confide.Inference/Hosting/InferenceServer.cs"],
        ["ledger"] = ["src/Confide.Cli/Commands/LedgerCommands.cs", "src/Confide.Ledger.Node/Hosting/LedgerNodeCommands.cs", "src/Confide.Ledger.Node/Http/LedgerServer.cs"],
    };

    public static TheoryData<string> Variants => ["azure", "intel", "intel-inproc", "simulation"];

    private static (DeployValues Values, List<(string Component, List<object> Objects)> Loaded) GenerateAndLoad(string variant)
    {
        string yaml = variant switch
        {
            "azure" => TestValues.Sgx("azure"),
            "intel" => TestValues.Sgx("intel"),
            "intel-inproc" => TestValues.Sgx("intel", aesmd: false),
            "simulation" => TestValues.Simulation,
            _ => throw new ArgumentOutOfRangeException(nameof(variant)),
        };
        DeployValues values = ValuesReader.Parse(yaml);
        var loaded = new List<(string, List<object>)>();
        foreach (ComponentManifests component in ManifestGenerator.Generate(values))
        {
            // Strict: a field the model types do not know fails the load.
            loaded.Add((component.Component, KubernetesYaml.LoadAllFromString(ManifestWriter.ToYaml(component, values), strict: true).ToList()));
        }

        return (values, loaded);
    }

    private static V1PodTemplateSpec Template(List<object> objects) =>
        objects.OfType<V1Deployment>().Select(d => d.Spec.Template).Concat(objects.OfType<V1StatefulSet>().Select(s => s.Spec.Template)).Single();

    [Theory]
    [MemberData(nameof(Variants))]
    public void ManifestsLoadBackWithTheModelTypesAndKeepTheInvariants(string variant)
    {
        (DeployValues values, var loaded) = GenerateAndLoad(variant);
        Assert.Equal(["attestation", "keys", "inference", "ledger"], loaded.Select(l => l.Component));
        foreach ((string component, List<object> objects) in loaded)
        {
            string name = $"confide-{component}";
            Assert.All(objects, o => Assert.Equal(values.Namespace, ((IMetadata<V1ObjectMeta>)o).Metadata.NamespaceProperty));
            Assert.DoesNotContain(objects, o => o is V1Secret);

            V1ServiceAccount account = Assert.Single(objects.OfType<V1ServiceAccount>());
            Assert.False(account.AutomountServiceAccountToken);
            V1PodDisruptionBudget pdb = Assert.Single(objects.OfType<V1PodDisruptionBudget>());
            V1NetworkPolicy policy = Assert.Single(objects.OfType<V1NetworkPolicy>());
            Assert.Contains(objects.OfType<V1ConfigMap>(), c => c.Metadata.Name == $"{name}-identity");

            V1PodTemplateSpec template = Template(objects);
            V1PodSpec pod = template.Spec;
            Assert.Equal(name, pod.ServiceAccountName);
            Assert.Equal(template.Metadata.Labels["app.kubernetes.io/name"], pdb.Spec.Selector.MatchLabels["app.kubernetes.io/name"]);
            Assert.Equal(template.Metadata.Labels["app.kubernetes.io/name"], policy.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"]);

            // Security context: non-root, no privilege escalation, no capabilities, read-only root.
            Assert.True(pod.SecurityContext.RunAsNonRoot);
            Assert.Equal(1654, pod.SecurityContext.RunAsUser);
            Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile.Type);
            foreach (V1Container container in pod.Containers.Concat(pod.InitContainers ?? []))
            {
                Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
                Assert.False(container.SecurityContext.Privileged);
                Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
                Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
                Assert.Null(container.SecurityContext.Capabilities.Add);

                // Resources on every container: cpu and memory requests, a memory limit.
                Assert.True(container.Resources.Requests.ContainsKey("cpu") && container.Resources.Requests.ContainsKey("memory"), $"{component}/{container.Name} requests");
                Assert.True(container.Resources.Limits.ContainsKey("memory"), $"{component}/{container.Name} memory limit");
                Assert.All(container.VolumeMounts, m => Assert.True(pod.Volumes.Any(v => v.Name == m.Name) || objects.OfType<V1StatefulSet>().Any(s => s.Spec.VolumeClaimTemplates.Any(c => c.Metadata.Name == m.Name)), $"{component}/{container.Name}: no volume {m.Name}"));
            }

            // Writable paths are volumes (the root file system is read-only).
            V1Container main = Assert.Single(pod.Containers);
            Assert.Contains(main.VolumeMounts, m => m.MountPath == "/tmp" && pod.Volumes.Single(v => v.Name == m.Name).EmptyDir is not null);
            Assert.Contains(main.VolumeMounts, m => m.MountPath == ManifestGenerator.DataPath);

            // The image is the one the values give.
            ServiceKind kind = ValuesReader.ServiceKeys.Values.Single(k => ServiceEndpoints.For(k).Component == component);
            Assert.Equal(values.Services[kind].Image, main.Image);
            Assert.All(pod.InitContainers ?? [], c => Assert.Equal(main.Image, c.Image));

            CheckProbes(component, main);
            CheckSgx(values, component, pod, main);
            CheckLabels(values, values.Services[kind], template, objects);
        }
    }

    private static void CheckProbes(string component, V1Container main)
    {
        foreach ((string kind, V1Probe probe) in new[] { ("liveness", main.LivenessProbe), ("readiness", main.ReadinessProbe), ("startup", main.StartupProbe) })
        {
            Assert.True(probe is not null, $"{component} has no {kind} probe");
            string portName = (probe.HttpGet?.Port ?? probe.TcpSocket!.Port).Value;
            int port = Assert.Single(main.Ports, p => p.Name == portName).ContainerPort;
            string? path = probe.HttpGet?.Path;
            string? scheme = probe.HttpGet?.Scheme;
            Assert.True(RealEndpoints.Contains((component, port, scheme, path)), $"{component} {kind} probe {scheme} :{port}{path} is not an endpoint the service serves");
        }
    }

    private static void CheckSgx(DeployValues values, string component, V1PodSpec pod, V1Container main)
    {
        string[] sgxResources = [ManifestGenerator.AzureEpcResource, ManifestGenerator.IntelEpcResource, ManifestGenerator.IntelEnclaveResource, ManifestGenerator.IntelProvisionResource];
        bool hasAesmd = main.VolumeMounts.Any(m => m.MountPath == "/var/run/aesmd");
        bool hasAesmdEnv = main.Env.Any(e => e.Name == "SGX_AESM_ADDR" && e.Value == "1");
        if (values.Simulation)
        {
            Assert.DoesNotContain(main.Resources.Limits.Keys, sgxResources.Contains);
            Assert.DoesNotContain(main.Resources.Requests.Keys, sgxResources.Contains);
            Assert.False(hasAesmd || hasAesmdEnv);
            Assert.Null(pod.Tolerations);
            Assert.Equal(new Dictionary<string, string> { ["kubernetes.io/os"] = "linux" }, pod.NodeSelector);
            Assert.DoesNotContain(pod.Volumes, v => v.HostPath is not null);
            return;
        }

        ServiceValues service = values.Services[ValuesReader.ServiceKeys.Values.Single(k => ServiceEndpoints.For(k).Component == component)];
        if (values.Sgx.Provider == SgxProvider.Azure)
        {
            Assert.Equal(service.EpcMiB.ToString(System.Globalization.CultureInfo.InvariantCulture), main.Resources.Limits[ManifestGenerator.AzureEpcResource].ToString());
            Assert.Equal(main.Resources.Limits[ManifestGenerator.AzureEpcResource], main.Resources.Requests[ManifestGenerator.AzureEpcResource]);
            Assert.Equal("confpool", pod.NodeSelector["agentpool"]);
            Assert.Contains(pod.Tolerations, t => t.Key == "kubernetes.azure.com/sgx_epc_mem_in_MiB" && t.OperatorProperty == "Exists");
        }
        else
        {
            Assert.Equal(new ResourceQuantity($"{service.EpcMiB}Mi"), main.Resources.Limits[ManifestGenerator.IntelEpcResource]);
            Assert.Equal("1", main.Resources.Limits[ManifestGenerator.IntelEnclaveResource].ToString());
            Assert.Equal(!values.Sgx.Aesmd, main.Resources.Limits.ContainsKey(ManifestGenerator.IntelProvisionResource));
            Assert.Equal("true", pod.NodeSelector["sgx.intel.com/capable"]);
        }

        Assert.Equal(values.Sgx.Aesmd, hasAesmd);
        Assert.Equal(values.Sgx.Aesmd, hasAesmdEnv);
        if (values.Sgx.Aesmd)
        {
            Assert.Equal("/var/run/aesmd", Assert.Single(pod.Volumes, v => v.HostPath is not null).HostPath.Path);
        }
    }

    private static void CheckLabels(DeployValues values, ServiceValues service, V1PodTemplateSpec template, List<object> objects)
    {
        foreach (object o in objects.Append(template))
        {
            IDictionary<string, string> labels = o is V1PodTemplateSpec t ? t.Metadata.Labels : ((IMetadata<V1ObjectMeta>)o).Metadata.Labels;
            Assert.All(labels, l => Assert.Matches(LabelValue(), l.Value));
            Assert.Equal(values.Simulation ? "false" : "true", labels[ManifestGenerator.ConfidentialLabel]);
        }

        IDictionary<string, string> annotations = template.Metadata.Annotations ?? new Dictionary<string, string>();
        if (service.Enclave?.MrEnclave is { } mrenclave)
        {
            Assert.Equal(mrenclave, annotations[ManifestGenerator.MrEnclaveAnnotation]);
            Assert.StartsWith(template.Metadata.Labels[ManifestGenerator.MrEnclaveLabel], mrenclave, StringComparison.Ordinal);
        }

        if (service.Enclave?.MrSigner is { } mrsigner)
        {
            Assert.Equal(mrsigner, annotations[ManifestGenerator.MrSignerAnnotation]);
            Assert.StartsWith(template.Metadata.Labels[ManifestGenerator.MrSignerLabel], mrsigner, StringComparison.Ordinal);
        }

        Assert.Equal(values.Simulation, annotations.ContainsKey(ManifestGenerator.WarningAnnotation));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void ArgumentsUseOptionsTheCommandsHaveAndTheContainerPorts(string variant)
    {
        (DeployValues values, var loaded) = GenerateAndLoad(variant);
        string root = RepositoryRoot();
        foreach ((string component, List<object> objects) in loaded)
        {
            V1Container main = Template(objects).Spec.Containers.Single();
            Assert.Equal(ManifestGenerator.CliCommand, main.Command);
            IList<string> args = main.Args;
            if (component == "ledger")
            {
                // The launcher runs 'ledger start|join' with options checked in LedgerLauncherTests.
                Assert.Equal(["deploy", "ledger-node", "--config", "/etc/confide/ledger-launcher/launcher.json"], args);
                LedgerLauncherSettings settings = LedgerLauncherSettings.FromJson(objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "confide-ledger-launcher").Data["launcher.json"]);
                Assert.Equal(main.Ports.Single(p => p.Name == "rpc").ContainerPort, settings.RpcPort);
                Assert.Equal(main.Ports.Single(p => p.Name == "node").ContainerPort, settings.NodePort);
                Assert.Equal(values.Simulation, settings.AllowSimulation);
                Assert.Equal(values.Simulation ? "simulation" : "sgx-gramine", settings.Tee);
                args = [.. LedgerLauncher.Arguments(settings, 1, [])];
            }
            else
            {
                foreach (V1ContainerPort port in main.Ports)
                {
                    Assert.Contains(args, a => a.EndsWith($"0.0.0.0:{port.ContainerPort}", StringComparison.Ordinal));
                }
            }

            string sources = string.Concat(Sources[component].Select(f => Path.Combine(root, f)).Where(File.Exists).Select(File.ReadAllText));
            foreach (string option in args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a != "--"))
            {
                Assert.True(sources.Contains($"\"{option}\"", StringComparison.Ordinal), $"{component}: '{option}' is not an option of the command it is passed to");
            }

            int tee = args.IndexOf("--tee");
            Assert.True(tee >= 0, $"{component} passes no --tee");
            Assert.Equal(values.Simulation ? "simulation" : "sgx-gramine", args[tee + 1]);
            Assert.Equal(values.Simulation, args.Contains("--allow-simulation"));
        }
    }

    [Fact]
    public void TheProbedRoutesExistInTheServicesSources()
    {
        string root = RepositoryRoot();
        foreach ((string component, int _, string? _, string? path) in RealEndpoints.Where(e => e.Path is not null))
        {
            string sources = string.Concat(Sources[component].Select(f => Path.Combine(root, f)).Where(File.Exists).Select(File.ReadAllText));
            Assert.True(sources.Contains($"MapGet(\"{path}\"", StringComparison.Ordinal), $"{component} has no GET {path}");
        }

        string inference = File.ReadAllText(Path.Combine(root, "src/Confide.Inference/Hosting/InferenceServer.cs"));
        Assert.Contains("MapPrometheusScrapingEndpoint(\"/metrics\")", inference, StringComparison.Ordinal);
    }

    [Fact]
    public void TheLedgerIsAStatefulSetOfThreeWithStableIdentitiesAndVolumes()
    {
        (_, var loaded) = GenerateAndLoad("azure");
        List<object> ledger = loaded.Single(l => l.Component == "ledger").Objects;
        V1StatefulSet set = Assert.Single(ledger.OfType<V1StatefulSet>());
        Assert.Equal(3, set.Spec.Replicas);
        Assert.Equal("Parallel", set.Spec.PodManagementPolicy);
        V1Service headless = Assert.Single(ledger.OfType<V1Service>(), s => s.Metadata.Name == set.Spec.ServiceName);
        Assert.Equal("None", headless.Spec.ClusterIP);
        Assert.True(headless.Spec.PublishNotReadyAddresses);
        V1PersistentVolumeClaim claim = Assert.Single(set.Spec.VolumeClaimTemplates);
        Assert.Equal("data", claim.Metadata.Name);
        Assert.Equal("20Gi", claim.Spec.Resources.Requests["storage"].ToString());
        Assert.Equal("managed-csi-premium", claim.Spec.StorageClassName);
        Assert.Equal(["ReadWriteOnce"], claim.Spec.AccessModes);
        Assert.Contains(set.Spec.Template.Spec.Containers[0].VolumeMounts, m => m.Name == "data" && m.MountPath == ManifestGenerator.DataPath);
        Assert.DoesNotContain(set.Spec.Template.Spec.Volumes, v => v.Name == "data");
        Assert.Equal("2", ledger.OfType<V1PodDisruptionBudget>().Single().Spec.MinAvailable.Value);

        // Consensus traffic only from the other ledger nodes.
        V1NetworkPolicyIngressRule node = ledger.OfType<V1NetworkPolicy>().Single().Spec.Ingress.Single(r => r.Ports.Single().Port.Value == "7100");
        Assert.Equal("ledger", Assert.Single(node.FromProperty).PodSelector.MatchLabels["app.kubernetes.io/name"]);
    }

    [Fact]
    public void StatefulServicesKeepTheirDataOnAClaimAndRecreate()
    {
        (_, var loaded) = GenerateAndLoad("azure");
        foreach (string component in new[] { "attestation", "keys" })
        {
            List<object> objects = loaded.Single(l => l.Component == component).Objects;
            V1PersistentVolumeClaim claim = Assert.Single(objects.OfType<V1PersistentVolumeClaim>());
            V1Deployment deployment = Assert.Single(objects.OfType<V1Deployment>());
            Assert.Equal("Recreate", deployment.Spec.Strategy.Type);
            Assert.Equal(1, deployment.Spec.Replicas);
            Assert.Equal(claim.Metadata.Name, deployment.Spec.Template.Spec.Volumes.Single(v => v.Name == "data").PersistentVolumeClaim.ClaimName);
        }
    }

    [Fact]
    public void InferenceIsScrapedOnItsMetricsPortAndRunsTheEnclavePackage()
    {
        (DeployValues values, var loaded) = GenerateAndLoad("azure");
        List<object> objects = loaded.Single(l => l.Component == "inference").Objects;
        V1PodTemplateSpec template = Template(objects);
        V1Container main = template.Spec.Containers.Single();
        Assert.Equal("true", template.Metadata.Annotations["prometheus.io/scrape"]);
        Assert.Equal("/metrics", template.Metadata.Annotations["prometheus.io/path"]);
        Assert.Equal(main.Ports.Single(p => p.Name == "metrics").ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture), template.Metadata.Annotations["prometheus.io/port"]);
        Assert.Equal(2, objects.OfType<V1Deployment>().Single().Spec.Replicas);

        // The signed package under 'confide run', the serve options after '--'.
        Assert.Equal(["run", "/enclave", "--tee", "sgx-gramine", "--"], main.Args.Take(5));
        Assert.Contains("--key-broker-enclave", main.Args);
        Assert.Equal(TestValues.KeyBrokerMrEnclave, main.Args[main.Args.IndexOf("--key-broker-enclave") + 1]);
        Assert.Equal("https://confide-keys.confide.svc:8444", main.Args[main.Args.IndexOf("--key-broker") + 1]);
        Assert.Equal("models", template.Spec.Volumes.Single(v => v.Name == "models").PersistentVolumeClaim.ClaimName);

        // Exposed: a LoadBalancer, and the REST port open to all; metrics from the release and the monitoring namespace only.
        V1Service service = objects.OfType<V1Service>().Single();
        Assert.Equal("LoadBalancer", service.Spec.Type);
        Assert.Equal(["http", "grpc"], service.Spec.Ports.Select(p => p.Name));
        V1NetworkPolicy policy = objects.OfType<V1NetworkPolicy>().Single();
        Assert.Null(policy.Spec.Ingress.Single(r => r.Ports.Single().Port.Value == "8000").FromProperty);
        V1NetworkPolicyIngressRule metrics = policy.Spec.Ingress.Single(r => r.Ports.Single().Port.Value == "8002");
        Assert.Contains(metrics.FromProperty, p => p.NamespaceSelector?.MatchLabels["kubernetes.io/metadata.name"] == values.MonitoringNamespace);
    }

    [Fact]
    public void SimulationIsLabelledNotConfidentialAndSharesOnePlatform()
    {
        (_, var loaded) = GenerateAndLoad("simulation");
        foreach ((string component, List<object> objects) in loaded)
        {
            V1PodSpec pod = Template(objects).Spec;
            V1Container init = Assert.Single(pod.InitContainers);
            Assert.Equal(["deploy", "install-file", "--from", "/etc/confide/simulation-platform/platform.json", "--to", "/var/lib/confide/simulation/platform.json"], init.Args);
            Assert.Equal("confide-simulated-platform", pod.Volumes.Single(v => v.Name == "simulation-platform").Secret.SecretName);
            Assert.Contains(pod.Containers[0].Env, e => e.Name == "CONFIDE_SIMULATION_DIR" && e.Value == "/var/lib/confide/simulation");
            Assert.Equal("simulation", Template(objects).Metadata.Labels[ManifestGenerator.TeeLabel]);
            Assert.Equal("false", objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name.EndsWith("-identity", StringComparison.Ordinal)).Data["confidential"]);
            _ = component;
        }
    }

    [Fact]
    public void WriterPutsOneFilePerComponentAndDropsStaleOnes()
    {
        string directory = Directory.CreateTempSubdirectory("confide-manifests-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "notes.txt"), "mine");
            DeployValues all = ValuesReader.Parse(TestValues.Sgx());
            IReadOnlyList<string> written = ManifestWriter.Write(ManifestGenerator.Generate(all), all, directory);
            Assert.Equal(["10-attestation.yaml", "20-keys.yaml", "30-inference.yaml", "40-ledger.yaml"], written.Select(Path.GetFileName));
            string text = File.ReadAllText(written[3]);
            Assert.StartsWith("# Generated by 'confide deploy manifests'", text, StringComparison.Ordinal);
            Assert.Equal(8, KubernetesYaml.LoadAllFromString(text, strict: true).Count);

            DeployValues one = ValuesReader.Parse("namespace: confide\nimage: r.example/c:1\nsimulation: true\nservices:\n  ledger: {}\n");
            ManifestWriter.Write(ManifestGenerator.Generate(one), one, directory);
            Assert.Equal(["40-ledger.yaml", "notes.txt"], Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    internal static string RepositoryRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Confide.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The tests run outside the repository (no Confide.slnx above them).");
    }

    [GeneratedRegex("^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]
    private static partial Regex LabelValue();
}
