using System.Globalization;
using Confide.Deploy.Ledger;
using Confide.Deploy.Values;
using k8s;
using k8s.Models;

namespace Confide.Deploy.Manifests;

/// <summary>The objects of one component, in the order they are applied.</summary>
public sealed record ComponentManifests(string Component, IReadOnlyList<IKubernetesObject> Objects);

/// <summary>
/// Turns validated <see cref="DeployValues"/> into Kubernetes objects (KubernetesClient model
/// types): per service a ServiceAccount, Service(s), ConfigMap, PersistentVolumeClaim or volume
/// claim templates, a Deployment (a StatefulSet for the ledger), a PodDisruptionBudget and a
/// NetworkPolicy. Secrets are only referenced by name, never written.
/// </summary>
public static class ManifestGenerator
{
    /// <summary>How the Confide CLI is started in images built by <c>confide deploy image</c> (framework-dependent on an ASP.NET Core runtime image).</summary>
    public static readonly IReadOnlyList<string> CliCommand = ["dotnet", "/app/confide.dll"];

    /// <summary>The non-root user (and group) images and pods run as: the 'app' user of Microsoft's .NET images.</summary>
    public const long RunAsUser = 1654;

    public const string DataPath = "/var/lib/confide/data";
    public const string SimulationPath = "/var/lib/confide/simulation";
    public const string TmpPath = "/tmp";
    public const string AesmdPath = "/var/run/aesmd";
    public const string AdminKeysPath = "/etc/confide/admin";
    public const string AttestationCaPath = "/etc/confide/attestation-ca";
    public const string ModelsPath = "/models";
    public const string LedgerMembersPath = "/etc/confide/ledger-members";
    public const string LedgerServiceCertPath = "/etc/confide/ledger-service";
    public const string LedgerLauncherPath = "/etc/confide/ledger-launcher";

    public const string AzureEpcResource = "kubernetes.azure.com/sgx_epc_mem_in_MiB";
    public const string IntelEpcResource = "sgx.intel.com/epc";
    public const string IntelEnclaveResource = "sgx.intel.com/enclave";
    public const string IntelProvisionResource = "sgx.intel.com/provision";

    public const string ConfidentialLabel = "confide.dev/confidential";
    public const string TeeLabel = "confide.dev/tee";
    public const string MrEnclaveLabel = "confide.dev/mrenclave-prefix";
    public const string MrSignerLabel = "confide.dev/mrsigner-prefix";
    public const string MrEnclaveAnnotation = "confide.dev/mrenclave";
    public const string MrSignerAnnotation = "confide.dev/mrsigner";
    public const string WarningAnnotation = "confide.dev/warning";

    public static IReadOnlyList<ComponentManifests> Generate(DeployValues values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var result = new List<ComponentManifests>();
        foreach (ServiceKind kind in Enum.GetValues<ServiceKind>())
        {
            if (values.Service(kind) is { } service)
            {
                result.Add(new ComponentManifests(ServiceEndpoints.For(kind).Component, new Builder(values, service).Build()));
            }
        }

        return result;
    }

    /// <summary>What a container runs under <c>sgx.launcher: gramine</c>: the loader, with the manifest named <c>confide</c> in <see cref="GramineDirectory"/>.</summary>
    public static readonly IReadOnlyList<string> GramineCommand = ["gramine-sgx", "confide"];

    /// <summary>Where a Gramine image keeps the signed manifest (<c>confide.manifest.sgx</c>, <c>confide.sig</c>).</summary>
    public const string GramineDirectory = "/gramine";

    public const string GramineManifestAnnotation = "confide.dev/gramine-manifest";

    /// <summary>
    /// Under <c>sgx.launcher: gramine</c>, what each service's Gramine image needs: its manifest
    /// template (the argv the container would otherwise get, fixed and measured), the configuration
    /// that decides what the service trusts, measured and so baked into the image (generated files,
    /// and folders the operator fills), and the host-provided folders passed through. Empty otherwise.
    /// </summary>
    /// <exception cref="Gramine.GramineManifestException">A service's arguments cannot be expressed in a manifest.</exception>
    public static IReadOnlyList<GramineImage> GramineTemplates(DeployValues values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Simulation || values.Sgx.Launcher != SgxLauncher.Gramine)
        {
            return [];
        }

        var templates = new List<GramineImage>();
        foreach (ServiceKind kind in Enum.GetValues<ServiceKind>())
        {
            if (values.Service(kind) is { } service)
            {
                var builder = new Builder(values, service);
                templates.Add(new GramineImage(
                    ServiceEndpoints.For(kind).Component,
                    Gramine.GramineManifestGenerator.Generate(builder.GramineOptions()),
                    builder.GramineGeneratedFiles(),
                    builder.GramineOperatorFolders()));
            }
        }

        return templates;
    }

    public static string Name(DeployValues values, ServiceKind kind) => $"{values.NamePrefix}-{ServiceEndpoints.For(kind).Component}";

    /// <summary>The in-cluster https URL of a service of this deployment.</summary>
    public static string ClusterUrl(DeployValues values, ServiceKind kind, int port) => $"https://{Name(values, kind)}.{values.Namespace}.svc:{port}";

    private sealed class Builder(DeployValues values, ServiceValues service)
    {
        private readonly ServiceEndpoints _endpoints = ServiceEndpoints.For(service.Kind, service);
        private readonly string _name = Name(values, service.Kind);

        private string Component => _endpoints.Component;

        private bool Simulation => values.Simulation;

        private bool Gramine => !Simulation && values.Sgx.Launcher == SgxLauncher.Gramine;

        /// <summary>The Gramine manifest of this service's container (see <see cref="GramineTemplates"/>).</summary>
        public Gramine.GramineManifestOptions GramineOptions()
        {
            // What stays mounted under Gramine is host-provided input: the data folder, /tmp and
            // the AESM socket, and configuration passed through (see PodTemplate).
            string[] writable = [TmpPath, DataPath, SimulationPath, AesmdPath];
            return new Gramine.GramineManifestOptions
            {
                Service = Component,
                Arguments = [.. Arguments()],
                DataDirectory = DataPath,
                // One SGX product per service: seal keys (and so each encrypted data folder) are
                // derived with the product id, so that one service's enclave cannot read another's
                // volume even though all are signed with one key and use one path.
                ProductId = (ushort)(service.Kind + 1),
                TrustedPaths = [.. MeasuredConfiguration().Select(path => path + "/")],
                PassthroughPaths = [.. PodTemplate().Spec.Containers[0].VolumeMounts.Select(m => m.MountPath).Where(path => !writable.Contains(path)).Select(path => path + "/")],
            };
        }

        /// <summary>
        /// Under Gramine, the configuration folders that decide whom the service trusts: whoever
        /// could change them would own the service (an administrator key admits policies, a CA
        /// certificate admits tokens, the launcher settings name the TEE, the code ids and the
        /// arguments). They are measured, so they live in the image, not in a volume.
        /// </summary>
        private IEnumerable<string> MeasuredConfiguration()
        {
            if (!Gramine)
            {
                yield break;
            }

            if (service.AdminKeysSecret is not null)
            {
                yield return AdminKeysPath;
            }

            if (service.AttestationCaConfigMap is not null)
            {
                yield return AttestationCaPath;
            }

            if (service.Kind == ServiceKind.Ledger)
            {
                yield return LedgerLauncherPath;
            }
        }

        /// <summary>Measured files this generator writes, to copy into the Gramine image at their paths.</summary>
        public IReadOnlyList<ImageFile> GramineGeneratedFiles() =>
            service.Kind == ServiceKind.Ledger ? [new ImageFile($"{LedgerLauncherPath}/launcher.json", LauncherSettings().ToJson())] : [];

        /// <summary>Measured folders whose files the operator provides (the Secret or ConfigMap the values name, which Gramine does not mount).</summary>
        public IReadOnlyList<OperatorFolder> GramineOperatorFolders()
        {
            var folders = new List<OperatorFolder>();
            if (service.AdminKeysSecret is { } secret)
            {
                folders.Add(new OperatorFolder(AdminKeysPath, $"Secret {secret}", ["admin.pem"]));
            }

            if (service.AttestationCaConfigMap is { } configMap)
            {
                folders.Add(new OperatorFolder(AttestationCaPath, $"ConfigMap {configMap}", ["tls.pem"]));
            }

            return folders;
        }

        private string Tee => Simulation ? "simulation" : values.Tee;

        public List<IKubernetesObject> Build()
        {
            var objects = new List<IKubernetesObject>
            {
                new V1ServiceAccount
                {
                    ApiVersion = "v1",
                    Kind = "ServiceAccount",
                    Metadata = Metadata(_name),
                    // None of the services talks to the Kubernetes API.
                    AutomountServiceAccountToken = false,
                },
                IdentityConfigMap(),
            };
            if (service.Kind == ServiceKind.Ledger)
            {
                if (!Gramine)
                {
                    objects.Add(LauncherConfigMap());
                }
                objects.Add(HeadlessService());
                objects.Add(ClientService());
                objects.Add(StatefulSet());
            }
            else
            {
                if (service.Storage is { } storage)
                {
                    objects.Add(Claim($"{_name}-data", storage, withMetadataNamespace: true));
                }

                objects.Add(ClientService());
                objects.Add(Deployment());
            }

            objects.Add(DisruptionBudget());
            objects.Add(NetworkPolicy());
            return objects;
        }

        private V1ObjectMeta Metadata(string name, IDictionary<string, string>? annotations = null) => new()
        {
            Name = name,
            NamespaceProperty = values.Namespace,
            Labels = Labels(),
            Annotations = annotations,
        };

        private Dictionary<string, string> SelectorLabels() => new(StringComparer.Ordinal)
        {
            ["app.kubernetes.io/name"] = Component,
            ["app.kubernetes.io/instance"] = values.NamePrefix,
        };

        private Dictionary<string, string> Labels()
        {
            Dictionary<string, string> labels = SelectorLabels();
            labels["app.kubernetes.io/component"] = Component;
            labels["app.kubernetes.io/part-of"] = "confide";
            labels["app.kubernetes.io/managed-by"] = "confide-deploy";
            labels[ConfidentialLabel] = Simulation ? "false" : "true";
            labels[TeeLabel] = Tee;
            // Label values are limited to 63 characters: the first 128 bits here, all of it in the annotations.
            if (service.Enclave?.MrEnclave is { } mrenclave)
            {
                labels[MrEnclaveLabel] = mrenclave[..32];
            }

            if (service.Enclave?.MrSigner is { } mrsigner)
            {
                labels[MrSignerLabel] = mrsigner[..32];
            }

            return labels;
        }

        private Dictionary<string, string> PodAnnotations()
        {
            var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
            if (service.Enclave?.MrEnclave is { } mrenclave)
            {
                annotations[MrEnclaveAnnotation] = mrenclave;
            }

            if (service.Enclave?.MrSigner is { } mrsigner)
            {
                annotations[MrSignerAnnotation] = mrsigner;
            }

            if (Gramine)
            {
                annotations[GramineManifestAnnotation] = $"gramine/{Component}.manifest.template";
            }

            if (Simulation)
            {
                annotations[WarningAnnotation] = "simulation TEE: not confidential; sealing and attestation protect nothing (development only)";
            }

            if (_endpoints.Metrics is { } metrics)
            {
                annotations["prometheus.io/scrape"] = "true";
                annotations["prometheus.io/port"] = metrics.Port.ToString(CultureInfo.InvariantCulture);
                annotations["prometheus.io/path"] = "/metrics";
                annotations["prometheus.io/scheme"] = "http";
            }

            return annotations;
        }

        /// <summary>What a relying party checks this component against: its expected identity, TEE and endpoints.</summary>
        private V1ConfigMap IdentityConfigMap()
        {
            var data = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["component"] = Component,
                ["tee"] = Tee,
                ["confidential"] = Simulation ? "false" : "true",
                ["url"] = $"{(_endpoints.Ports[0].Scheme == "HTTPS" ? "https" : "http")}://{_name}.{values.Namespace}.svc:{_endpoints.Ports[0].Port}",
            };
            if (service.Enclave?.MrEnclave is { } mrenclave)
            {
                data["mrenclave"] = mrenclave;
            }

            if (service.Enclave?.MrSigner is { } mrsigner)
            {
                data["mrsigner"] = mrsigner;
            }

            return new V1ConfigMap
            {
                ApiVersion = "v1",
                Kind = "ConfigMap",
                Metadata = Metadata($"{_name}-identity"),
                Data = data,
            };
        }

        private V1ConfigMap LauncherConfigMap() => new()
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = Metadata($"{_name}-launcher"),
            Data = new Dictionary<string, string> { ["launcher.json"] = LauncherSettings().ToJson() },
        };

        private LedgerLauncherSettings LauncherSettings() => new()
        {
                StatefulSet = _name,
                HeadlessService = $"{_name}-nodes",
                Namespace = values.Namespace,
                Replicas = service.Replicas,
                RpcPort = ServiceEndpoints.LedgerRpcPort,
                NodePort = ServiceEndpoints.LedgerNodePort,
                DataDirectory = DataPath,
                Tee = Tee,
                AllowSimulation = Simulation,
                Collateral = service.Collateral,
                MemberCertificateDirectory = service.MembersConfigMap is null ? null : LedgerMembersPath,
                ServiceCertificate = $"{LedgerServiceCertPath}/service_cert.pem",
                CodeIds = [.. service.CodeIds],
                ExtraArgs = [.. service.ExtraArgs],
        };

        private V1PersistentVolumeClaim Claim(string name, StorageValues storage, bool withMetadataNamespace) => new()
        {
            ApiVersion = withMetadataNamespace ? "v1" : null,
            Kind = withMetadataNamespace ? "PersistentVolumeClaim" : null,
            Metadata = withMetadataNamespace ? Metadata(name) : new V1ObjectMeta { Name = name, Labels = Labels() },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                StorageClassName = storage.StorageClass,
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new ResourceQuantity(storage.Size) } },
            },
        };

        private V1Service ClientService()
        {
            // Clients only: consensus traffic goes pod to pod through the headless Service, and
            // Prometheus scrapes the pods (annotations), so an exposed Service never publishes metrics.
            IEnumerable<ServicePort> ports = _endpoints.Ports.Where(p => p.Name is not ("node" or "metrics"));
            return new V1Service
            {
                ApiVersion = "v1",
                Kind = "Service",
                Metadata = Metadata(_name),
                Spec = new V1ServiceSpec
                {
                    Type = service.Expose ? "LoadBalancer" : "ClusterIP",
                    Selector = SelectorLabels(),
                    Ports = [.. ports.Select(p => new V1ServicePort
                    {
                        Name = p.Name,
                        Port = p.Port,
                        TargetPort = p.Name,
                        Protocol = "TCP",
                        AppProtocol = p.Scheme == "HTTPS" ? "https" : p.Name == "grpc" ? "kubernetes.io/h2c" : p.Scheme == "HTTP" ? "http" : null,
                    })],
                },
            };
        }

        /// <summary>Stable DNS names for the ledger nodes (pod-N.{name}-nodes), published before they are ready: a node needs its peers to become ready.</summary>
        private V1Service HeadlessService() => new()
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = Metadata($"{_name}-nodes"),
            Spec = new V1ServiceSpec
            {
                ClusterIP = "None",
                PublishNotReadyAddresses = true,
                Selector = SelectorLabels(),
                Ports = [.. _endpoints.Ports.Select(p => new V1ServicePort { Name = p.Name, Port = p.Port, TargetPort = p.Name, Protocol = "TCP" })],
            },
        };

        private V1Deployment Deployment() => new()
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = Metadata(_name, AnnotationsOrNull()),
            Spec = new V1DeploymentSpec
            {
                Replicas = service.Replicas,
                Selector = new V1LabelSelector { MatchLabels = SelectorLabels() },
                // A ReadWriteOnce data volume cannot be attached to the old and the new pod at once.
                Strategy = service.Storage is not null
                    ? new V1DeploymentStrategy { Type = "Recreate" }
                    : new V1DeploymentStrategy { Type = "RollingUpdate", RollingUpdate = new V1RollingUpdateDeployment { MaxUnavailable = 0, MaxSurge = 1 } },
                Template = PodTemplate(),
            },
        };

        private V1StatefulSet StatefulSet() => new()
        {
            ApiVersion = "apps/v1",
            Kind = "StatefulSet",
            Metadata = Metadata(_name, AnnotationsOrNull()),
            Spec = new V1StatefulSetSpec
            {
                Replicas = service.Replicas,
                ServiceName = $"{_name}-nodes",
                // Node 0 needs a majority before it is ready: ordered start-up would wait for it forever.
                PodManagementPolicy = "Parallel",
                Selector = new V1LabelSelector { MatchLabels = SelectorLabels() },
                UpdateStrategy = new V1StatefulSetUpdateStrategy { Type = "RollingUpdate" },
                Template = PodTemplate(),
                VolumeClaimTemplates = service.Storage is { } storage ? [Claim("data", storage, withMetadataNamespace: false)] : null,
                PersistentVolumeClaimRetentionPolicy = new V1StatefulSetPersistentVolumeClaimRetentionPolicy { WhenDeleted = "Retain", WhenScaled = "Retain" },
            },
        };

        private Dictionary<string, string>? AnnotationsOrNull()
        {
            Dictionary<string, string> annotations = PodAnnotations();
            annotations.Remove("prometheus.io/scrape");
            annotations.Remove("prometheus.io/port");
            annotations.Remove("prometheus.io/path");
            annotations.Remove("prometheus.io/scheme");
            return annotations.Count == 0 ? null : annotations;
        }

        private V1PodTemplateSpec PodTemplate()
        {
            var volumes = new List<V1Volume>
            {
                new() { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity(service.Kind == ServiceKind.Inference ? "4Gi" : "1Gi") } },
            };
            var mounts = new List<V1VolumeMount> { new() { Name = "tmp", MountPath = TmpPath } };
            if (service.Kind != ServiceKind.Ledger)
            {
                volumes.Add(service.Storage is null
                    ? new V1Volume { Name = "data", EmptyDir = new V1EmptyDirVolumeSource() }
                    : new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = $"{_name}-data" } });
            }
            else if (service.Storage is null)
            {
                volumes.Add(new V1Volume { Name = "data", EmptyDir = new V1EmptyDirVolumeSource() });
            }

            mounts.Add(new V1VolumeMount { Name = "data", MountPath = DataPath });

            var env = new List<V1EnvVar>
            {
                new() { Name = "HOME", Value = TmpPath },
                new() { Name = "DOTNET_CLI_TELEMETRY_OPTOUT", Value = "1" },
                new() { Name = "CONFIDE_SIMULATION_DIR", Value = SimulationPath },
            };
            volumes.Add(new V1Volume { Name = "simulation", EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory", SizeLimit = new ResourceQuantity("16Mi") } });
            mounts.Add(new V1VolumeMount { Name = "simulation", MountPath = SimulationPath });

            if (!Simulation && values.Sgx.Aesmd)
            {
                // Out-of-process quoting through the node's AESM (the confcom quote helper or Intel's aesmd).
                // Type Directory: on a node without AESM the pod stays Pending with a clear event
                // instead of running against an empty folder created for it.
                env.Add(new V1EnvVar { Name = "SGX_AESM_ADDR", Value = "1" });
                volumes.Add(new V1Volume { Name = "aesmd", HostPath = new V1HostPathVolumeSource { Path = AesmdPath, Type = "Directory" } });
                mounts.Add(new V1VolumeMount { Name = "aesmd", MountPath = AesmdPath });
            }

            // Under Gramine, the configuration that decides whom the service trusts is in the image, measured (MeasuredConfiguration).
            if (service.AdminKeysSecret is { } adminSecret && !Gramine)
            {
                volumes.Add(new V1Volume { Name = "admin-keys", Secret = new V1SecretVolumeSource { SecretName = adminSecret, DefaultMode = 0x124 /* 0444 */ } });
                mounts.Add(new V1VolumeMount { Name = "admin-keys", MountPath = AdminKeysPath, ReadOnlyProperty = true });
            }

            if (service.AttestationCaConfigMap is { } caConfigMap && !Gramine)
            {
                volumes.Add(new V1Volume { Name = "attestation-ca", ConfigMap = new V1ConfigMapVolumeSource { Name = caConfigMap } });
                mounts.Add(new V1VolumeMount { Name = "attestation-ca", MountPath = AttestationCaPath, ReadOnlyProperty = true });
            }

            if (service.ModelsClaim is { } models)
            {
                volumes.Add(new V1Volume { Name = "models", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = models, ReadOnlyProperty = true } });
                mounts.Add(new V1VolumeMount { Name = "models", MountPath = ModelsPath, ReadOnlyProperty = true });
            }

            if (service.Kind == ServiceKind.Ledger)
            {
                env.Add(new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } });
                if (!Gramine)
                {
                    volumes.Add(new V1Volume { Name = "launcher", ConfigMap = new V1ConfigMapVolumeSource { Name = $"{_name}-launcher" } });
                    mounts.Add(new V1VolumeMount { Name = "launcher", MountPath = LedgerLauncherPath, ReadOnlyProperty = true });
                }

                // Passed through even under Gramine, as CCF's join configuration: the host names the
                // service to join and the genesis members; members check the service's attestation
                // and its recorded members before they trust it.
                // Created by the operator once node 0 runs (docs/deploy-aks.md); joiners wait for it.
                volumes.Add(new V1Volume { Name = "service-cert", ConfigMap = new V1ConfigMapVolumeSource { Name = service.ServiceCertConfigMap ?? $"{_name}-service-cert", Optional = true } });
                mounts.Add(new V1VolumeMount { Name = "service-cert", MountPath = LedgerServiceCertPath, ReadOnlyProperty = true });
                if (service.MembersConfigMap is { } members)
                {
                    volumes.Add(new V1Volume { Name = "members", ConfigMap = new V1ConfigMapVolumeSource { Name = members } });
                    mounts.Add(new V1VolumeMount { Name = "members", MountPath = LedgerMembersPath, ReadOnlyProperty = true });
                }
            }

            var initContainers = new List<V1Container>();
            if (values.SimulationPlatformSecret is { } platformSecret)
            {
                // One simulated platform for every pod, so that evidence made in one pod verifies in another.
                volumes.Add(new V1Volume { Name = "simulation-platform", Secret = new V1SecretVolumeSource { SecretName = platformSecret, DefaultMode = 0x120 /* 0440: readable by the pod's fsGroup */ } });
                initContainers.Add(new V1Container
                {
                    Name = "install-simulated-platform",
                    Image = service.Image,
                    ImagePullPolicy = values.ImagePullPolicy,
                    Command = [.. CliCommand],
                    Args = ["deploy", "install-file", "--from", "/etc/confide/simulation-platform/platform.json", "--to", $"{SimulationPath}/platform.json"],
                    Env = [new V1EnvVar { Name = "HOME", Value = TmpPath }],
                    Resources = new V1ResourceRequirements
                    {
                        Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("50m"), ["memory"] = new("64Mi") },
                        Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("500m"), ["memory"] = new("256Mi") },
                    },
                    SecurityContext = ContainerSecurity(),
                    VolumeMounts =
                    [
                        new V1VolumeMount { Name = "simulation-platform", MountPath = "/etc/confide/simulation-platform", ReadOnlyProperty = true },
                        new V1VolumeMount { Name = "simulation", MountPath = SimulationPath },
                        new V1VolumeMount { Name = "tmp", MountPath = TmpPath },
                    ],
                });
            }

            var container = new V1Container
            {
                Name = Component,
                Image = service.Image,
                ImagePullPolicy = values.ImagePullPolicy,
                Command = Gramine ? [.. GramineCommand] : [.. CliCommand],
                // Under Gramine the arguments are fixed in the signed manifest: none may come from here.
                Args = Gramine ? null : [.. Arguments()],
                WorkingDir = Gramine ? GramineDirectory : null,
                Ports = [.. _endpoints.Ports.Select(p => new V1ContainerPort { Name = p.Name, ContainerPort = p.Port, Protocol = "TCP" })],
                Env = env,
                Resources = Resources(),
                SecurityContext = ContainerSecurity(),
                VolumeMounts = mounts,
                StartupProbe = Probe(_endpoints.Liveness, periodSeconds: 5, failureThreshold: 60),
                LivenessProbe = Probe(_endpoints.Liveness, periodSeconds: 10, failureThreshold: 3),
                ReadinessProbe = Probe(_endpoints.Readiness, periodSeconds: 5, failureThreshold: 3),
            };

            return new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = Labels(), Annotations = PodAnnotations() is { Count: > 0 } a ? a : null },
                Spec = new V1PodSpec
                {
                    ServiceAccountName = _name,
                    AutomountServiceAccountToken = false,
                    EnableServiceLinks = false,
                    SecurityContext = new V1PodSecurityContext
                    {
                        RunAsNonRoot = true,
                        RunAsUser = RunAsUser,
                        RunAsGroup = RunAsUser,
                        FsGroup = RunAsUser,
                        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                    },
                    NodeSelector = NodeSelector(),
                    Tolerations = Tolerations(),
                    ImagePullSecrets = values.ImagePullSecrets.Count == 0 ? null : [.. values.ImagePullSecrets.Select(s => new V1LocalObjectReference { Name = s })],
                    InitContainers = initContainers.Count == 0 ? null : initContainers,
                    Containers = [container],
                    Volumes = volumes,
                    TerminationGracePeriodSeconds = 30,
                },
            };
        }

        private static V1SecurityContext ContainerSecurity() => new()
        {
            RunAsNonRoot = true,
            AllowPrivilegeEscalation = false,
            Privileged = false,
            ReadOnlyRootFilesystem = true,
            Capabilities = new V1Capabilities { Drop = ["ALL"] },
        };

        private V1ResourceRequirements Resources()
        {
            var requests = service.Resources.Requests.ToDictionary(p => p.Key, p => new ResourceQuantity(p.Value), StringComparer.Ordinal);
            var limits = service.Resources.Limits.ToDictionary(p => p.Key, p => new ResourceQuantity(p.Value), StringComparer.Ordinal);
            if (!Simulation)
            {
                foreach ((string name, string quantity) in SgxResources(values.Sgx, service.EpcMiB))
                {
                    // Extended resources cannot be overcommitted: request and limit are equal.
                    requests[name] = new ResourceQuantity(quantity);
                    limits[name] = new ResourceQuantity(quantity);
                }
            }

            return new V1ResourceRequirements { Requests = requests, Limits = limits };
        }

        private Dictionary<string, string>? NodeSelector()
        {
            var selector = new Dictionary<string, string>(StringComparer.Ordinal) { ["kubernetes.io/os"] = "linux" };
            if (!Simulation)
            {
                if (values.Sgx.Provider == SgxProvider.Intel)
                {
                    selector["sgx.intel.com/capable"] = "true";
                }
                else if (values.Sgx.NodePool is { } pool)
                {
                    selector["agentpool"] = pool;
                }

                foreach ((string key, string value) in values.Sgx.NodeSelector)
                {
                    selector[key] = value;
                }
            }

            return selector;
        }

        private List<V1Toleration>? Tolerations()
        {
            if (Simulation)
            {
                return null;
            }

            var tolerations = new List<V1Toleration>();
            if (values.Sgx.Provider == SgxProvider.Azure)
            {
                tolerations.Add(new V1Toleration { Key = AzureEpcResource, OperatorProperty = "Exists", Effect = "NoSchedule" });
            }

            tolerations.AddRange(values.Sgx.Tolerations.Select(t => new V1Toleration { Key = t.Key, OperatorProperty = t.Operator, Value = t.Value, Effect = t.Effect }));
            return tolerations.Count == 0 ? null : tolerations;
        }

        private V1Probe Probe(ProbeTarget target, int periodSeconds, int failureThreshold)
        {
            var probe = new V1Probe { PeriodSeconds = periodSeconds, TimeoutSeconds = 3, FailureThreshold = failureThreshold };
            if (target.Path is null)
            {
                probe.TcpSocket = new V1TCPSocketAction { Port = target.PortName };
            }
            else
            {
                probe.HttpGet = new V1HTTPGetAction { Path = target.Path, Port = target.PortName, Scheme = target.Scheme };
            }

            return probe;
        }

        private IEnumerable<string> Arguments()
        {
            List<string> args = service.Kind switch
            {
                ServiceKind.Attestation => AttestationArguments(),
                ServiceKind.KeyBroker => KeyBrokerArguments(),
                ServiceKind.Inference => InferenceArguments(),
                ServiceKind.Ledger => ["deploy", "ledger-node", "--config", $"{LedgerLauncherPath}/launcher.json"],
                _ => throw new InvalidOperationException(),
            };
            if (service.Kind != ServiceKind.Ledger)
            {
                args.AddRange(service.ExtraArgs);
            }

            return args;
        }

        private List<string> AttestationArguments()
        {
            // Tokens name the service as clients reach it (the cluster URL), not the pod's listen address.
            var args = new List<string>
            {
                "attestation", "serve", "--urls", $"https://0.0.0.0:{ServiceEndpoints.AttestationPort}",
                "--public-url", ClusterUrl(values, ServiceKind.Attestation, ServiceEndpoints.AttestationPort), "--data-dir", DataPath, "--tee", Tee,
            };
            if (Simulation)
            {
                args.Add("--allow-simulation");
            }

            if (service.Collateral is { } collateral)
            {
                args.AddRange(["--collateral", collateral]);
            }

            AddAdmin(args);
            return args;
        }

        private List<string> KeyBrokerArguments()
        {
            var args = new List<string> { "keys", "serve", "--urls", $"https://0.0.0.0:{ServiceEndpoints.KeyBrokerPort}", "--data-dir", DataPath, "--tee", Tee };
            if (Simulation)
            {
                args.Add("--allow-simulation");
            }

            if (values.Service(ServiceKind.Attestation) is not null)
            {
                args.AddRange(["--trusted-authority", ClusterUrl(values, ServiceKind.Attestation, ServiceEndpoints.AttestationPort)]);
                if (service.AttestationCaConfigMap is not null)
                {
                    args.AddRange(["--authority-ca", $"{AttestationCaPath}/tls.pem"]);
                }
            }

            args.AddRange(["--tls", service.Tls ?? (values.Service(ServiceKind.Attestation) is not null ? "attested-token" : "self-signed")]);
            AddAdmin(args);
            return args;
        }

        private List<string> InferenceArguments()
        {
            string scheme = service.AttestedTls ? "https" : "http";
            var serve = new List<string>
            {
                "--models", ModelsPath,
                "--urls", $"{scheme}://0.0.0.0:{ServiceEndpoints.InferenceRestPort}",
                "--grpc-urls", $"http://0.0.0.0:{ServiceEndpoints.InferenceGrpcPort}",
                "--metrics-urls", $"http://0.0.0.0:{ServiceEndpoints.InferenceMetricsPort}",
                "--data-dir", DataPath,
            };
            if (Simulation)
            {
                serve.Add("--allow-simulation");
            }

            if (service.AttestedTls)
            {
                serve.Add("--attested-tls");
            }

            if (service.EndToEnd)
            {
                serve.Add("--e2e");
            }

            if (service.UseKeyBroker)
            {
                ServiceValues broker = values.Service(ServiceKind.KeyBroker)!;
                serve.AddRange(["--key-broker", ClusterUrl(values, ServiceKind.KeyBroker, ServiceEndpoints.KeyBrokerPort)]);
                serve.AddRange(["--key-broker-enclave", broker.Enclave!.MrEnclave!]);
                serve.AddRange(["--attestation-url", ClusterUrl(values, ServiceKind.Attestation, ServiceEndpoints.AttestationPort)]);
                if (service.AttestationCaConfigMap is not null)
                {
                    serve.AddRange(["--attestation-ca", $"{AttestationCaPath}/tls.pem"]);
                }
            }

            // As an enclave package the host picks the TEE (confide run --tee) and the serve options follow '--'.
            return service.Package is { } package
                ? ["run", package, "--tee", Tee, "--", .. serve]
                : ["inference", "serve", "--tee", Tee, .. serve];
        }

        private void AddAdmin(List<string> args)
        {
            if (service.AdminIssuer is { } issuer)
            {
                args.AddRange(["--admin-issuer", issuer, "--admin-key", $"{AdminKeysPath}/admin.pem"]);
            }
        }

        private V1PodDisruptionBudget DisruptionBudget() => new()
        {
            ApiVersion = "policy/v1",
            Kind = "PodDisruptionBudget",
            Metadata = Metadata(_name),
            Spec = service.Kind == ServiceKind.Ledger
                // Keep a Raft majority through voluntary disruptions (drains, upgrades).
                ? new V1PodDisruptionBudgetSpec { MinAvailable = (service.Replicas / 2) + 1, Selector = new V1LabelSelector { MatchLabels = SelectorLabels() } }
                : new V1PodDisruptionBudgetSpec { MaxUnavailable = 1, Selector = new V1LabelSelector { MatchLabels = SelectorLabels() } },
        };

        private V1NetworkPolicy NetworkPolicy()
        {
            var release = new V1NetworkPolicyPeer
            {
                PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app.kubernetes.io/part-of"] = "confide", ["app.kubernetes.io/instance"] = values.NamePrefix } },
            };
            var rules = new List<V1NetworkPolicyIngressRule>();
            foreach (ServicePort port in _endpoints.Ports)
            {
                var policyPort = new V1NetworkPolicyPort { Port = port.Port, Protocol = "TCP" };
                if (port.Name == "node")
                {
                    // Consensus traffic: the other ledger nodes only.
                    rules.Add(new V1NetworkPolicyIngressRule { FromProperty = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = SelectorLabels() } }], Ports = [policyPort] });
                }
                else if (port.Name == "metrics")
                {
                    var from = new List<V1NetworkPolicyPeer> { release };
                    if (values.MonitoringNamespace is { } monitoring)
                    {
                        from.Add(new V1NetworkPolicyPeer { NamespaceSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = monitoring } } });
                    }

                    rules.Add(new V1NetworkPolicyIngressRule { FromProperty = from, Ports = [policyPort] });
                }
                else if (service.Expose)
                {
                    // Exposed: from anywhere (no 'from' = all sources).
                    rules.Add(new V1NetworkPolicyIngressRule { Ports = [policyPort] });
                }
                else
                {
                    rules.Add(new V1NetworkPolicyIngressRule { FromProperty = [release], Ports = [policyPort] });
                }
            }

            return new V1NetworkPolicy
            {
                ApiVersion = "networking.k8s.io/v1",
                Kind = "NetworkPolicy",
                Metadata = Metadata(_name),
                Spec = new V1NetworkPolicySpec
                {
                    PodSelector = new V1LabelSelector { MatchLabels = SelectorLabels() },
                    PolicyTypes = ["Ingress"],
                    Ingress = rules,
                },
            };
        }
    }

    /// <summary>The SGX extended resources for <paramref name="epcMiB"/> of EPC under <paramref name="sgx"/>'s device plugin.</summary>
    public static IReadOnlyDictionary<string, string> SgxResources(SgxValues sgx, int epcMiB)
    {
        ArgumentNullException.ThrowIfNull(sgx);
        string mib = epcMiB.ToString(CultureInfo.InvariantCulture);
        if (sgx.Provider == SgxProvider.Azure)
        {
            return new Dictionary<string, string>(StringComparer.Ordinal) { [AzureEpcResource] = mib };
        }

        var resources = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [IntelEpcResource] = mib + "Mi",
            [IntelEnclaveResource] = "1",
        };
        if (!sgx.Aesmd)
        {
            // In-process quoting opens /dev/sgx_provision itself; with AESM, the quoting enclaves run in aesmd.
            resources[IntelProvisionResource] = "1";
        }

        return resources;
    }
}

/// <summary>What a service's Gramine image needs (see <see cref="ManifestGenerator.GramineTemplates"/>).</summary>
/// <param name="Component">The service's component name (attestation, keys, inference, ledger).</param>
/// <param name="Manifest">Its Gramine manifest template.</param>
/// <param name="Files">Measured files the generator writes, to copy into the image before it is signed.</param>
/// <param name="OperatorFolders">Measured folders whose files the operator copies into the image before it is signed.</param>
public sealed record GramineImage(string Component, Gramine.GramineManifest Manifest, IReadOnlyList<ImageFile> Files, IReadOnlyList<OperatorFolder> OperatorFolders);

/// <summary>A file at <paramref name="Path"/> in an image.</summary>
public sealed record ImageFile(string Path, string Content);

/// <summary>A folder of the image that must hold <paramref name="Files"/>, taken from <paramref name="Source"/>.</summary>
public sealed record OperatorFolder(string Path, string Source, IReadOnlyList<string> Files);
