using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Confide.Deploy.Values;

/// <summary>
/// Reads and validates a values file. Every field is checked against the schema (unknown keys are
/// refused, not ignored: a typo must not silently drop a setting) and every error names the field
/// by its dotted path and line; all errors are collected before one <see cref="DeployValuesException"/>.
/// </summary>
public static partial class ValuesReader
{
    /// <summary>The keys of <c>services:</c>, in the order manifests are written.</summary>
    public static readonly IReadOnlyDictionary<string, ServiceKind> ServiceKeys = new Dictionary<string, ServiceKind>(StringComparer.Ordinal)
    {
        ["attestation"] = ServiceKind.Attestation,
        ["keyBroker"] = ServiceKind.KeyBroker,
        ["inference"] = ServiceKind.Inference,
        ["ledger"] = ServiceKind.Ledger,
    };

    private static readonly string[] TopKeys = ["namespace", "namePrefix", "image", "imagePullPolicy", "imagePullSecrets", "simulation", "simulationPlatformSecret", "tee", "sgx", "monitoringNamespace", "services"];
    private static readonly string[] SgxKeys = ["provider", "aesmd", "nodePool", "nodeSelector", "tolerations", "launcher"];
    private static readonly string[] CommonServiceKeys = ["enabled", "image", "replicas", "epc", "resources", "enclave", "expose", "extraArgs"];

    private static readonly Dictionary<ServiceKind, string[]> ServiceSpecificKeys = new()
    {
        [ServiceKind.Attestation] = ["storage", "adminIssuer", "adminKeysSecret", "collateral"],
        [ServiceKind.KeyBroker] = ["storage", "adminIssuer", "adminKeysSecret", "tls", "attestationCaConfigMap"],
        [ServiceKind.Inference] = ["package", "models", "keyBroker", "attestedTls", "e2e", "attestationCaConfigMap"],
        [ServiceKind.Ledger] = ["storage", "membersConfigMap", "serviceCertConfigMap", "codeIds", "collateral"],
    };

    public static DeployValues Load(string path) => Parse(File.ReadAllText(path));

    public static DeployValues Parse(string yaml)
    {
        var errors = new List<ValuesError>();
        YamlMappingNode root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode mapping)
            {
                throw new DeployValuesException([new ValuesError("(document)", "the values file must be one YAML mapping (namespace:, services:, ...)")]);
            }

            root = mapping;
        }
        catch (YamlException ex)
        {
            throw new DeployValuesException([new ValuesError("(document)", $"not valid YAML: {ex.Message}", checked((int)ex.Start.Line))]);
        }

        var reader = new Reader(errors);
        DeployValues? values = reader.ReadRoot(root);
        if (errors.Count > 0 || values is null)
        {
            throw new DeployValuesException(errors);
        }

        return values;
    }

    private sealed class Reader(List<ValuesError> errors)
    {
        public DeployValues? ReadRoot(YamlMappingNode root)
        {
            Dictionary<string, (YamlNode Node, string Path)> top = Fields(root, "", TopKeys);
            string ns = RequiredString(top, "namespace", "") ?? "";
            if (ns.Length > 0)
            {
                CheckDnsLabel(ns, "namespace", Line(top, "namespace"));
            }

            string prefix = OptionalString(top, "namePrefix") ?? "confide";
            if (!DnsLabel().IsMatch(prefix) || prefix.Length > 30)
            {
                Error("namePrefix", $"must be a DNS label of at most 30 characters (lower-case letters, digits, '-'), got '{prefix}'", Line(top, "namePrefix"));
            }

            string? image = OptionalString(top, "image");
            if (image is not null)
            {
                CheckImage(image, "image", Line(top, "image"));
            }

            string pullPolicy = OptionalString(top, "imagePullPolicy") ?? "IfNotPresent";
            if (pullPolicy is not ("Always" or "IfNotPresent" or "Never"))
            {
                Error("imagePullPolicy", $"must be Always, IfNotPresent or Never, got '{pullPolicy}'", Line(top, "imagePullPolicy"));
            }

            List<string> pullSecrets = StringList(top, "imagePullSecrets");
            for (int i = 0; i < pullSecrets.Count; i++)
            {
                CheckName(pullSecrets[i], $"imagePullSecrets[{i}]", Line(top, "imagePullSecrets"));
            }

            bool simulation = OptionalBool(top, "simulation") ?? false;
            string? platformSecret = OptionalString(top, "simulationPlatformSecret");
            if (platformSecret is not null)
            {
                CheckName(platformSecret, "simulationPlatformSecret", Line(top, "simulationPlatformSecret"));
                if (!simulation)
                {
                    Error("simulationPlatformSecret", "only with simulation: true (a real TEE has no simulated platform to share)", Line(top, "simulationPlatformSecret"));
                }
            }

            string tee = OptionalString(top, "tee") ?? "sgx-gramine";
            if (tee is "simulation" or "sim")
            {
                Error("tee", "set simulation: true instead (it also drops the SGX resources and labels the pods not confidential)", Line(top, "tee"));
            }
            else if (tee is not ("sgx-gramine" or "tsm" or "auto"))
            {
                Error("tee", $"must be sgx-gramine, tsm or auto, got '{tee}'", Line(top, "tee"));
            }

            SgxValues sgx = top.TryGetValue("sgx", out var sgxNode) ? ReadSgx(sgxNode.Node) : new SgxValues();
            string? monitoring = OptionalString(top, "monitoringNamespace");
            if (monitoring is not null)
            {
                CheckDnsLabel(monitoring, "monitoringNamespace", Line(top, "monitoringNamespace"));
            }

            var services = new Dictionary<ServiceKind, ServiceValues>();
            if (!top.TryGetValue("services", out var servicesNode))
            {
                Error("services", "required: at least one of attestation, keyBroker, inference, ledger", null);
            }
            else if (servicesNode.Node is not YamlMappingNode servicesMap)
            {
                Error("services", "must be a mapping of service name to its settings", LineOf(servicesNode.Node));
            }
            else
            {
                foreach ((YamlNode keyNode, YamlNode valueNode) in servicesMap.Children)
                {
                    string key = ((YamlScalarNode)keyNode).Value ?? "";
                    if (!ServiceKeys.TryGetValue(key, out ServiceKind kind))
                    {
                        Error($"services.{key}", $"unknown service '{key}'; known: {string.Join(", ", ServiceKeys.Keys)}", LineOf(keyNode));
                        continue;
                    }

                    if (ReadService(kind, key, valueNode, image) is { } service)
                    {
                        services[kind] = service;
                    }
                }

                if (services.Count == 0 && errors.Count == 0)
                {
                    Error("services", "no service given: add at least one of attestation, keyBroker, inference, ledger", LineOf(servicesMap));
                }
            }

            if (!simulation && services.TryGetValue(ServiceKind.Attestation, out ServiceValues? attestationService) && attestationService.Enabled && attestationService.Collateral is null)
            {
                Error("services.attestation.collateral", "required unless simulation: true: a PCS/PCCS base URL the service fetches collateral from (AKS: the Azure PCCS cache, see docs/deploy-aks.md)", null);
            }

            if (sgx.Launcher == SgxLauncher.Gramine)
            {
                if (simulation || tee != "sgx-gramine")
                {
                    Error("sgx.launcher", $"gramine runs the sgx-gramine TEE on SGX nodes: it needs simulation: false and tee: sgx-gramine (got {(simulation ? "simulation: true" : $"tee: {tee}")})", null);
                }

                if (services.TryGetValue(ServiceKind.Inference, out ServiceValues? inference) && inference.Enabled && inference.Package is not null)
                {
                    Error("services.inference.package", "with sgx.launcher: gramine, the package's own Gramine manifest comes from 'confide deploy gramine-manifest --package'; run the inference service of the CLI image here, or deploy the package image separately", null);
                }
            }

            // Gramine hands out bare quotes: a ledger node attaches its quotes' collateral to its join
            // request and node-to-node certificate, and fetches it from here.
            if (!simulation && services.TryGetValue(ServiceKind.Ledger, out ServiceValues? ledgerService) && ledgerService.Enabled && ledgerService.Collateral is null)
            {
                Error("services.ledger.collateral", "required unless simulation: true: a PCS/PCCS base URL the nodes fetch their quotes' collateral from (AKS: the Azure PCCS cache, see docs/deploy-aks.md)", null);
            }

            CrossCheck(services);
            if (errors.Count > 0)
            {
                return null;
            }

            return new DeployValues
            {
                Namespace = ns,
                NamePrefix = prefix,
                Image = image,
                ImagePullPolicy = pullPolicy,
                ImagePullSecrets = pullSecrets,
                Simulation = simulation,
                SimulationPlatformSecret = platformSecret,
                Tee = tee,
                Sgx = sgx,
                MonitoringNamespace = monitoring,
                Services = services,
            };
        }

        private void CrossCheck(Dictionary<ServiceKind, ServiceValues> services)
        {
            if (services.TryGetValue(ServiceKind.Inference, out ServiceValues? inference) && inference.Enabled && inference.UseKeyBroker)
            {
                if (!services.TryGetValue(ServiceKind.KeyBroker, out ServiceValues? broker) || !broker.Enabled)
                {
                    Error("services.inference.keyBroker", "needs services.keyBroker (the model keys' broker) in the same values", null);
                }
                else if (broker.Enclave?.MrEnclave is null)
                {
                    Error("services.keyBroker.enclave.mrenclave", "required when services.inference.keyBroker is true: the inference server verifies the broker's enclave by it", null);
                }

                if (!services.TryGetValue(ServiceKind.Attestation, out ServiceValues? attestation) || !attestation.Enabled)
                {
                    Error("services.inference.keyBroker", "needs services.attestation (the inference enclave attests to it for the key release)", null);
                }
            }
        }

        private SgxValues ReadSgx(YamlNode node)
        {
            if (node is not YamlMappingNode map)
            {
                Error("sgx", "must be a mapping (provider, aesmd, nodePool, nodeSelector, tolerations)", LineOf(node));
                return new SgxValues();
            }

            Dictionary<string, (YamlNode Node, string Path)> fields = Fields(map, "sgx", SgxKeys);
            string provider = OptionalString(fields, "provider") ?? "azure";
            SgxProvider parsed = SgxProvider.Azure;
            if (provider == "intel")
            {
                parsed = SgxProvider.Intel;
            }
            else if (provider != "azure")
            {
                Error("sgx.provider", $"must be azure (kubernetes.azure.com/sgx_epc_mem_in_MiB) or intel (sgx.intel.com/epc), got '{provider}'", Line(fields, "provider"));
            }

            string? pool = OptionalString(fields, "nodePool");
            if (pool is not null && !NodePool().IsMatch(pool))
            {
                Error("sgx.nodePool", $"must be an AKS node pool name (lower-case letters and digits, starting with a letter, at most 12), got '{pool}'", Line(fields, "nodePool"));
            }

            var selector = new Dictionary<string, string>(StringComparer.Ordinal);
            if (fields.TryGetValue("nodeSelector", out var selectorNode))
            {
                if (selectorNode.Node is not YamlMappingNode selectorMap)
                {
                    Error("sgx.nodeSelector", "must be a mapping of label to value", LineOf(selectorNode.Node));
                }
                else
                {
                    foreach ((YamlNode k, YamlNode v) in selectorMap.Children)
                    {
                        string label = ((YamlScalarNode)k).Value ?? "";
                        string? value = (v as YamlScalarNode)?.Value;
                        if (!LabelKey().IsMatch(label) || value is null || !LabelValue().IsMatch(value))
                        {
                            Error($"sgx.nodeSelector.{label}", "must be a Kubernetes label key with a label value (at most 63 characters of letters, digits, '-', '_', '.')", LineOf(k));
                        }
                        else
                        {
                            selector[label] = value;
                        }
                    }
                }
            }

            var tolerations = new List<TolerationValues>();
            if (fields.TryGetValue("tolerations", out var tolerationsNode))
            {
                if (tolerationsNode.Node is not YamlSequenceNode sequence)
                {
                    Error("sgx.tolerations", "must be a list of {key, operator, value, effect}", LineOf(tolerationsNode.Node));
                }
                else
                {
                    for (int i = 0; i < sequence.Children.Count; i++)
                    {
                        string path = $"sgx.tolerations[{i}]";
                        if (sequence.Children[i] is not YamlMappingNode t)
                        {
                            Error(path, "must be a mapping {key, operator, value, effect}", LineOf(sequence.Children[i]));
                            continue;
                        }

                        Dictionary<string, (YamlNode Node, string Path)> tf = Fields(t, path, ["key", "operator", "value", "effect"]);
                        string? key = RequiredString(tf, "key", path);
                        string op = OptionalString(tf, "operator") ?? "Exists";
                        string? value = OptionalString(tf, "value");
                        string? effect = OptionalString(tf, "effect");
                        if (op is not ("Exists" or "Equal"))
                        {
                            Error($"{path}.operator", $"must be Exists or Equal, got '{op}'", Line(tf, "operator"));
                        }
                        else if (op == "Exists" && value is not null)
                        {
                            Error($"{path}.value", "must be empty with operator Exists", Line(tf, "value"));
                        }

                        if (effect is not (null or "NoSchedule" or "PreferNoSchedule" or "NoExecute"))
                        {
                            Error($"{path}.effect", $"must be NoSchedule, PreferNoSchedule or NoExecute, got '{effect}'", Line(tf, "effect"));
                        }

                        if (key is not null)
                        {
                            tolerations.Add(new TolerationValues(key, op, value, effect));
                        }
                    }
                }
            }

            string launcher = OptionalString(fields, "launcher") ?? "dotnet";
            if (launcher is not ("dotnet" or "gramine"))
            {
                Error("sgx.launcher", $"must be dotnet or gramine, got '{launcher}'", Line(fields, "launcher"));
            }

            return new SgxValues
            {
                Launcher = launcher == "gramine" ? SgxLauncher.Gramine : SgxLauncher.Dotnet,
                Provider = parsed,
                Aesmd = OptionalBool(fields, "aesmd") ?? true,
                NodePool = pool,
                NodeSelector = selector,
                Tolerations = tolerations,
            };
        }

        private ServiceValues? ReadService(ServiceKind kind, string key, YamlNode node, string? defaultImage)
        {
            string at = $"services.{key}";
            if (node is not YamlMappingNode map)
            {
                Error(at, "must be a mapping of the service's settings (image, replicas, epc, resources, ...)", LineOf(node));
                return null;
            }

            Dictionary<string, (YamlNode Node, string Path)> f = Fields(map, at, [.. CommonServiceKeys, .. ServiceSpecificKeys[kind]]);
            ServiceDefaults defaults = ServiceDefaults.For(kind);
            bool enabled = OptionalBool(f, "enabled") ?? true;
            string? image = OptionalString(f, "image") ?? defaultImage;
            if (image is null)
            {
                if (enabled)
                {
                    Error($"{at}.image", "missing: set the top-level image (the Confide CLI image) or this service's own", LineOf(map));
                }
            }
            else if (f.ContainsKey("image"))
            {
                CheckImage(image, $"{at}.image", Line(f, "image"));
            }

            int replicas = OptionalInt(f, "replicas") ?? defaults.Replicas;
            if (replicas < 0)
            {
                Error($"{at}.replicas", $"must be 0 or more, got {replicas}", Line(f, "replicas"));
            }

            StorageValues? storage = defaults.Storage;
            if (f.TryGetValue("storage", out var storageNode))
            {
                storage = ReadStorage(storageNode.Node, $"{at}.storage");
            }

            if (kind is ServiceKind.Attestation or ServiceKind.KeyBroker && replicas > 1)
            {
                Error($"{at}.replicas", $"at most 1: the {(kind == ServiceKind.Attestation ? "attestation service keeps its sealed signing keys and policies" : "key broker keeps its sealed keys and audit log")} in one data directory, which replicas cannot share, got {replicas}", Line(f, "replicas"));
            }

            if (kind == ServiceKind.Ledger && replicas > 0 && replicas % 2 == 0)
            {
                Error($"{at}.replicas", $"must be odd (1, 3, 5, ...): a Raft majority of an even count tolerates no more failures than one node fewer, got {replicas}", Line(f, "replicas"));
            }

            int epc = defaults.EpcMiB;
            if (f.TryGetValue("epc", out var epcNode))
            {
                epc = ReadEpc(epcNode.Node, $"{at}.epc") ?? epc;
            }

            ResourceValues resources = defaults.Resources;
            if (f.TryGetValue("resources", out var resourcesNode))
            {
                resources = ReadResources(resourcesNode.Node, $"{at}.resources") ?? resources;
            }

            EnclaveIdentityValues? enclave = null;
            if (f.TryGetValue("enclave", out var enclaveNode))
            {
                enclave = ReadIdentity(enclaveNode.Node, $"{at}.enclave");
            }

            List<string> extraArgs = StringList(f, "extraArgs");
            string? adminKeys = OptionalString(f, "adminKeysSecret");
            if (adminKeys is not null)
            {
                CheckName(adminKeys, $"{at}.adminKeysSecret", Line(f, "adminKeysSecret"));
            }

            string? adminIssuer = OptionalString(f, "adminIssuer");
            if (adminIssuer is not null && !Uri.TryCreate(adminIssuer, UriKind.Absolute, out _))
            {
                Error($"{at}.adminIssuer", $"must be an absolute URL (the tokens' iss), got '{adminIssuer}'", Line(f, "adminIssuer"));
            }

            if ((adminIssuer is null) != (adminKeys is null))
            {
                Error($"{at}.{(adminIssuer is null ? "adminIssuer" : "adminKeysSecret")}", "adminIssuer and adminKeysSecret go together (the issuer of administrators' tokens and the keys that sign them)", LineOf(map));
            }

            string? collateral = OptionalString(f, "collateral");
            if (collateral is not null && (!Uri.TryCreate(collateral, UriKind.Absolute, out Uri? collateralUrl) || collateralUrl.Scheme != Uri.UriSchemeHttps))
            {
                Error($"{at}.collateral", $"must be an https URL of a PCS or PCCS, got '{collateral}'", Line(f, "collateral"));
            }

            string? tls = OptionalString(f, "tls");
            if (tls is not (null or "self-signed" or "attested" or "attested-token"))
            {
                Error($"{at}.tls", $"must be self-signed, attested or attested-token, got '{tls}'", Line(f, "tls"));
            }

            string? caConfigMap = OptionalString(f, "attestationCaConfigMap");
            if (caConfigMap is not null)
            {
                CheckName(caConfigMap, $"{at}.attestationCaConfigMap", Line(f, "attestationCaConfigMap"));
            }

            string? package = OptionalString(f, "package");
            if (package is not null && (!package.StartsWith('/') || package.Contains("..", StringComparison.Ordinal) || package.Any(char.IsWhiteSpace)))
            {
                Error($"{at}.package", $"must be an absolute path in the image without '..' or spaces (e.g. /enclave), got '{package}'", Line(f, "package"));
            }

            string? modelsClaim = null;
            if (f.TryGetValue("models", out var modelsNode))
            {
                if (modelsNode.Node is not YamlMappingNode modelsMap)
                {
                    Error($"{at}.models", "must be a mapping {claimName}", LineOf(modelsNode.Node));
                }
                else
                {
                    Dictionary<string, (YamlNode Node, string Path)> mf = Fields(modelsMap, $"{at}.models", ["claimName"]);
                    modelsClaim = RequiredString(mf, "claimName", $"{at}.models");
                    if (modelsClaim is not null)
                    {
                        CheckName(modelsClaim, $"{at}.models.claimName", Line(mf, "claimName"));
                    }
                }
            }
            else if (kind == ServiceKind.Inference && enabled)
            {
                Error($"{at}.models.claimName", "required: the PersistentVolumeClaim holding the model repository (<name>/<version>/model.confide)", LineOf(map));
            }

            string? members = OptionalString(f, "membersConfigMap");
            if (members is not null)
            {
                CheckName(members, $"{at}.membersConfigMap", Line(f, "membersConfigMap"));
            }

            string? serviceCert = OptionalString(f, "serviceCertConfigMap");
            if (serviceCert is not null)
            {
                CheckName(serviceCert, $"{at}.serviceCertConfigMap", Line(f, "serviceCertConfigMap"));
            }

            List<string> codeIds = StringList(f, "codeIds");
            for (int i = 0; i < codeIds.Count; i++)
            {
                if (!Hex32().IsMatch(codeIds[i]))
                {
                    Error($"{at}.codeIds[{i}]", $"must be an MRENCLAVE: 64 hex digits, got '{codeIds[i]}'", Line(f, "codeIds"));
                }
            }

            return new ServiceValues
            {
                Kind = kind,
                Enabled = enabled,
                Image = image ?? "",
                Replicas = replicas,
                EpcMiB = epc,
                Resources = resources,
                Enclave = enclave,
                Storage = storage,
                Expose = OptionalBool(f, "expose") ?? false,
                ExtraArgs = extraArgs,
                Collateral = collateral,
                AdminIssuer = adminIssuer,
                AdminKeysSecret = adminKeys,
                Tls = tls,
                AttestationCaConfigMap = caConfigMap,
                Package = package,
                ModelsClaim = modelsClaim,
                UseKeyBroker = OptionalBool(f, "keyBroker") ?? false,
                AttestedTls = OptionalBool(f, "attestedTls") ?? false,
                EndToEnd = OptionalBool(f, "e2e") ?? false,
                MembersConfigMap = members,
                ServiceCertConfigMap = serviceCert,
                CodeIds = [.. codeIds.Select(c => c.ToLowerInvariant())],
            };
        }

        private StorageValues? ReadStorage(YamlNode node, string at)
        {
            if (node is YamlScalarNode { Value: "none" or "emptyDir" })
            {
                return null;
            }

            if (node is not YamlMappingNode map)
            {
                Error(at, "must be a mapping {size, storageClass} or 'emptyDir'", LineOf(node));
                return null;
            }

            Dictionary<string, (YamlNode Node, string Path)> f = Fields(map, at, ["size", "storageClass"]);
            string? size = RequiredString(f, "size", at);
            if (size is not null && !IsPositiveQuantity(size))
            {
                Error($"{at}.size", $"must be a positive quantity such as 1Gi, got '{size}'", Line(f, "size"));
            }

            string? storageClass = OptionalString(f, "storageClass");
            if (storageClass is not null)
            {
                CheckName(storageClass, $"{at}.storageClass", Line(f, "storageClass"));
            }

            return size is null ? null : new StorageValues(size, storageClass);
        }

        private int? ReadEpc(YamlNode node, string at)
        {
            string? text = (node as YamlScalarNode)?.Value;
            Match match = text is null ? Match.Empty : Epc().Match(text);
            if (!match.Success)
            {
                Error(at, $"must be an EPC size in MiB: an integer, or a quantity in Mi or Gi such as 64Mi, got '{text}'", LineOf(node));
                return null;
            }

            if (!long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long amount))
            {
                Error(at, $"'{text}' is too large", LineOf(node));
                return null;
            }

            long mib = match.Groups[2].Value == "Gi" ? amount * 1024 : amount;
            if (mib is < 1 or > 1024 * 1024)
            {
                Error(at, $"must be between 1Mi and 1024Gi, got '{text}'", LineOf(node));
                return null;
            }

            return (int)mib;
        }

        private ResourceValues? ReadResources(YamlNode node, string at)
        {
            if (node is not YamlMappingNode map)
            {
                Error(at, "must be a mapping {requests, limits}", LineOf(node));
                return null;
            }

            Dictionary<string, (YamlNode Node, string Path)> f = Fields(map, at, ["requests", "limits"]);
            Dictionary<string, string>? requests = f.TryGetValue("requests", out var r) ? ReadQuantities(r.Node, $"{at}.requests") : null;
            Dictionary<string, string>? limits = f.TryGetValue("limits", out var l) ? ReadQuantities(l.Node, $"{at}.limits") : null;
            if (requests is null || requests.Count == 0)
            {
                Error($"{at}.requests", "required: cpu and memory requests (every container states what it needs)", LineOf(map));
            }
            else if (!requests.ContainsKey("cpu") || !requests.ContainsKey("memory"))
            {
                Error($"{at}.requests", "must give both cpu and memory", LineOf(f["requests"].Node));
            }

            if (limits is null || !limits.ContainsKey("memory"))
            {
                Error($"{at}.limits.memory", "required: a memory limit (an enclave's heap is fixed; an unbounded container hides leaks)", LineOf(map));
            }

            return requests is null || limits is null ? null : new ResourceValues(requests, limits);
        }

        private Dictionary<string, string>? ReadQuantities(YamlNode node, string at)
        {
            if (node is not YamlMappingNode map)
            {
                Error(at, "must be a mapping of resource name to quantity", LineOf(node));
                return null;
            }

            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach ((YamlNode k, YamlNode v) in map.Children)
            {
                string name = ((YamlScalarNode)k).Value ?? "";
                string? value = (v as YamlScalarNode)?.Value;
                if (name.StartsWith("sgx.intel.com/", StringComparison.Ordinal) || name.StartsWith("kubernetes.azure.com/sgx", StringComparison.Ordinal))
                {
                    Error($"{at}.{name}", "SGX resources come from the service's epc and sgx.provider; set epc instead", LineOf(k));
                }
                else if (name is not ("cpu" or "memory" or "ephemeral-storage"))
                {
                    Error($"{at}.{name}", $"unknown resource '{name}'; use cpu, memory or ephemeral-storage", LineOf(k));
                }
                else if (value is null || !IsPositiveQuantity(value))
                {
                    Error($"{at}.{name}", $"must be a positive quantity such as 500m or 512Mi, got '{value}'", LineOf(v));
                }
                else
                {
                    result[name] = value;
                }
            }

            return result;
        }

        private EnclaveIdentityValues? ReadIdentity(YamlNode node, string at)
        {
            if (node is not YamlMappingNode map)
            {
                Error(at, "must be a mapping {mrenclave, mrsigner}", LineOf(node));
                return null;
            }

            Dictionary<string, (YamlNode Node, string Path)> f = Fields(map, at, ["mrenclave", "mrsigner"]);
            string? mrenclave = OptionalString(f, "mrenclave");
            string? mrsigner = OptionalString(f, "mrsigner");
            foreach ((string name, string? value) in new[] { ("mrenclave", mrenclave), ("mrsigner", mrsigner) })
            {
                if (value is not null && !Hex32().IsMatch(value))
                {
                    Error($"{at}.{name}", $"must be 64 hex digits (as 'confide sign' prints it), got '{value}'", Line(f, name));
                }
            }

            return new EnclaveIdentityValues(mrenclave?.ToLowerInvariant(), mrsigner?.ToLowerInvariant());
        }

        private Dictionary<string, (YamlNode Node, string Path)> Fields(YamlMappingNode map, string at, IReadOnlyCollection<string> known)
        {
            var fields = new Dictionary<string, (YamlNode, string)>(StringComparer.Ordinal);
            foreach ((YamlNode keyNode, YamlNode value) in map.Children)
            {
                string key = (keyNode as YamlScalarNode)?.Value ?? "";
                string path = at.Length == 0 ? key : $"{at}.{key}";
                if (!known.Contains(key))
                {
                    Error(path, $"unknown field; {(at.Length == 0 ? "top-level fields" : $"fields of {at}")}: {string.Join(", ", known)}", LineOf(keyNode));
                    continue;
                }

                fields[key] = (value, path);
            }

            return fields;
        }

        private string? RequiredString(Dictionary<string, (YamlNode Node, string Path)> fields, string key, string at)
        {
            if (!fields.TryGetValue(key, out var entry))
            {
                Error(at.Length == 0 ? key : $"{at}.{key}", "required", null);
                return null;
            }

            string? value = OptionalString(fields, key);
            if (value is { Length: 0 })
            {
                Error(entry.Path, "must not be empty", LineOf(entry.Node));
                return null;
            }

            return value;
        }

        private string? OptionalString(Dictionary<string, (YamlNode Node, string Path)> fields, string key)
        {
            if (!fields.TryGetValue(key, out var entry))
            {
                return null;
            }

            if (entry.Node is not YamlScalarNode scalar)
            {
                Error(entry.Path, "must be a single value, not a list or mapping", LineOf(entry.Node));
                return null;
            }

            return scalar.Value is null || (scalar.Style == ScalarStyle.Plain && scalar.Value is "~" or "null") ? null : scalar.Value;
        }

        private bool? OptionalBool(Dictionary<string, (YamlNode Node, string Path)> fields, string key)
        {
            string? text = OptionalString(fields, key);
            return text switch
            {
                null => null,
                "true" => true,
                "false" => false,
                _ => Invalid(),
            };

            bool? Invalid()
            {
                Error(fields[key].Path, $"must be true or false, got '{text}'", Line(fields, key));
                return null;
            }
        }

        private int? OptionalInt(Dictionary<string, (YamlNode Node, string Path)> fields, string key)
        {
            string? text = OptionalString(fields, key);
            if (text is null)
            {
                return null;
            }

            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
            {
                Error(fields[key].Path, $"must be an integer, got '{text}'", Line(fields, key));
                return null;
            }

            return value;
        }

        private List<string> StringList(Dictionary<string, (YamlNode Node, string Path)> fields, string key)
        {
            var list = new List<string>();
            if (!fields.TryGetValue(key, out var entry))
            {
                return list;
            }

            if (entry.Node is not YamlSequenceNode sequence)
            {
                Error(entry.Path, "must be a list", LineOf(entry.Node));
                return list;
            }

            for (int i = 0; i < sequence.Children.Count; i++)
            {
                if (sequence.Children[i] is YamlScalarNode { Value: { } value })
                {
                    list.Add(value);
                }
                else
                {
                    Error($"{entry.Path}[{i}]", "must be a string", LineOf(sequence.Children[i]));
                }
            }

            return list;
        }

        private void CheckImage(string image, string path, int? line)
        {
            if (!ImageReference().IsMatch(image))
            {
                Error(path, $"'{image}' is not an image reference (registry/repository:tag or @sha256:digest, lower-case repository)", line);
            }
        }

        private void CheckName(string name, string path, int? line)
        {
            if (!DnsSubdomain().IsMatch(name) || name.Length > 253)
            {
                Error(path, $"'{name}' is not a Kubernetes object name (lower-case letters, digits, '-' and '.')", line);
            }
        }

        private void CheckDnsLabel(string name, string path, int? line)
        {
            if (!DnsLabel().IsMatch(name) || name.Length > 63)
            {
                Error(path, $"'{name}' is not a DNS label (at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit)", line);
            }
        }

        private void Error(string field, string message, int? line) => errors.Add(new ValuesError(field, message, line));

        private static int? Line(Dictionary<string, (YamlNode Node, string Path)> fields, string key) =>
            fields.TryGetValue(key, out var entry) ? LineOf(entry.Node) : null;

        private static int? LineOf(YamlNode node) => node.Start.Line > 0 ? checked((int)node.Start.Line) : null;
    }

    internal static bool IsPositiveQuantity(string value)
    {
        Match match = Quantity().Match(value);
        return match.Success && double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) && number > 0;
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    internal static partial Regex DnsLabel();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex("^[a-z][a-z0-9]{0,11}$")]
    private static partial Regex NodePool();

    [GeneratedRegex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex LabelKey();

    [GeneratedRegex("^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]
    internal static partial Regex LabelValue();

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Hex32();

    [GeneratedRegex("^([0-9]{1,9})(Mi|Gi)?$")]
    private static partial Regex Epc();

    [GeneratedRegex("^((?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?)(?:Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")]
    private static partial Regex Quantity();

    // registry[:port]/path[:tag][@sha256:hex]; the path lower-case as the distribution spec requires.
    [GeneratedRegex("^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")]
    private static partial Regex ImageReference();
}

/// <summary>What a service gets when the values leave a setting out.</summary>
internal sealed record ServiceDefaults(int Replicas, int EpcMiB, ResourceValues Resources, StorageValues? Storage)
{
    public static ServiceDefaults For(ServiceKind kind) => kind switch
    {
        ServiceKind.Attestation => new(1, 64, Defaults("250m", "256Mi", "1", "1Gi"), new StorageValues("1Gi", null)),
        ServiceKind.KeyBroker => new(1, 64, Defaults("250m", "256Mi", "1", "1Gi"), new StorageValues("1Gi", null)),
        ServiceKind.Inference => new(1, 512, Defaults("1", "2Gi", "2", "4Gi"), null),
        ServiceKind.Ledger => new(3, 128, Defaults("250m", "512Mi", "1", "1Gi"), new StorageValues("10Gi", null)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static ResourceValues Defaults(string cpuRequest, string memoryRequest, string cpuLimit, string memoryLimit) => new(
        new Dictionary<string, string> { ["cpu"] = cpuRequest, ["memory"] = memoryRequest },
        new Dictionary<string, string> { ["cpu"] = cpuLimit, ["memory"] = memoryLimit });
}
