namespace Confide.Deploy.Values;

/// <summary>Which SGX device plugin the cluster runs, and so which resource names a pod asks for.</summary>
public enum SgxProvider
{
    /// <summary>AKS confcom add-on: <c>kubernetes.azure.com/sgx_epc_mem_in_MiB</c> (an integer of MiB).</summary>
    Azure,

    /// <summary>Intel's SGX device plugin: <c>sgx.intel.com/epc</c> (a quantity) and <c>sgx.intel.com/enclave</c>/<c>provision</c>.</summary>
    Intel,
}

/// <summary>The services <c>confide deploy manifests</c> knows, by their key under <c>services:</c>.</summary>
public enum ServiceKind
{
    /// <summary><c>attestation</c>: <c>confide attestation serve</c>.</summary>
    Attestation,

    /// <summary><c>keyBroker</c>: <c>confide keys serve</c>.</summary>
    KeyBroker,

    /// <summary><c>inference</c>: <c>confide inference serve</c>, or the signed inference enclave package under <c>confide run</c>.</summary>
    Inference,

    /// <summary><c>ledger</c>: <c>confide ledger start|join</c> through <c>confide deploy ledger-node</c>.</summary>
    Ledger,
}

/// <summary>The values file of <c>confide deploy manifests</c> (docs/deploy-aks.md has the schema).</summary>
public sealed class DeployValues
{
    public required string Namespace { get; init; }

    /// <summary>Prefix of every object's name (<c>{prefix}-attestation</c>, ...), also the instance label.</summary>
    public string NamePrefix { get; init; } = "confide";

    /// <summary>Default image of every service (one Confide CLI image hosts them all).</summary>
    public string? Image { get; init; }

    public string ImagePullPolicy { get; init; } = "IfNotPresent";

    /// <summary>Names of existing Secrets of type kubernetes.io/dockerconfigjson (references only).</summary>
    public IReadOnlyList<string> ImagePullSecrets { get; init; } = [];

    /// <summary>True: no SGX at all, services run with <c>--tee simulation --allow-simulation</c> and are labelled not confidential.</summary>
    public bool Simulation { get; init; }

    /// <summary>Existing Secret holding <c>platform.json</c> of one simulated platform shared by every pod (simulation only).</summary>
    public string? SimulationPlatformSecret { get; init; }

    /// <summary>The TEE back-end the services use when not simulating: <c>sgx-gramine</c> (default), <c>tsm</c> or <c>auto</c>.</summary>
    public string Tee { get; init; } = "sgx-gramine";

    public SgxValues Sgx { get; init; } = new();

    /// <summary>Namespace allowed to scrape metrics ports (NetworkPolicy); null: any pod of the release's namespace only.</summary>
    public string? MonitoringNamespace { get; init; }

    public required IReadOnlyDictionary<ServiceKind, ServiceValues> Services { get; init; }

    public ServiceValues? Service(ServiceKind kind) => Services.TryGetValue(kind, out ServiceValues? service) && service.Enabled ? service : null;
}

public sealed class SgxValues
{
    public SgxProvider Provider { get; init; } = SgxProvider.Azure;

    /// <summary>Out-of-process quoting: <c>SGX_AESM_ADDR=1</c> and the host's <c>/var/run/aesmd</c> socket directory.</summary>
    public bool Aesmd { get; init; } = true;

    /// <summary>AKS: the confidential node pool's name (node selector <c>agentpool</c>); null: the EPC limit alone places the pod.</summary>
    public string? NodePool { get; init; }

    /// <summary>Extra node selector labels, merged over the provider's.</summary>
    public IReadOnlyDictionary<string, string> NodeSelector { get; init; } = new Dictionary<string, string>();

    /// <summary>Extra tolerations (key, operator Exists or Equal with value, effect).</summary>
    public IReadOnlyList<TolerationValues> Tolerations { get; init; } = [];

    /// <summary>How the containers start: plain <c>dotnet</c>, or inside Gramine (<c>gramine-sgx confide</c>, argv fixed in the signed manifest).</summary>
    public SgxLauncher Launcher { get; init; } = SgxLauncher.Dotnet;
}

/// <summary>How a container starts the Confide CLI on an SGX node.</summary>
public enum SgxLauncher
{
    /// <summary><c>dotnet /app/confide.dll &lt;args&gt;</c>: the image's own runtime, outside any enclave.</summary>
    Dotnet,

    /// <summary><c>gramine-sgx confide</c> in <c>/gramine</c>: an image holding the signed Gramine manifest <c>confide deploy manifests</c> writes the template of.</summary>
    Gramine,
}

public sealed record TolerationValues(string Key, string Operator, string? Value, string? Effect);

public sealed record ResourceValues(IReadOnlyDictionary<string, string> Requests, IReadOnlyDictionary<string, string> Limits);

public sealed record StorageValues(string Size, string? StorageClass);

/// <summary>An enclave identity: 32-byte MRENCLAVE and MRSIGNER, lower-case hex (either may be unknown).</summary>
public sealed record EnclaveIdentityValues(string? MrEnclave, string? MrSigner);

public sealed class ServiceValues
{
    public required ServiceKind Kind { get; init; }

    public bool Enabled { get; init; } = true;

    /// <summary>The image; the top-level <c>image</c> when not given here.</summary>
    public required string Image { get; init; }

    public required int Replicas { get; init; }

    /// <summary>EPC per pod in MiB (ignored in simulation).</summary>
    public required int EpcMiB { get; init; }

    public required ResourceValues Resources { get; init; }

    public EnclaveIdentityValues? Enclave { get; init; }

    /// <summary>Persistent volume per pod (attestation, key broker, ledger); null: an emptyDir.</summary>
    public StorageValues? Storage { get; init; }

    /// <summary>Public: a LoadBalancer Service and ingress from anywhere; otherwise ClusterIP, reachable from the release only.</summary>
    public bool Expose { get; init; }

    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>attestation, ledger: where collateral comes from (a PCS/PCCS base URL); required unless simulating.</summary>
    public string? Collateral { get; init; }

    /// <summary>attestation, keyBroker: issuer of administrators' bearer tokens.</summary>
    public string? AdminIssuer { get; init; }

    /// <summary>attestation, keyBroker: existing Secret with <c>admin.pem</c>, the public key or certificate that signs administrators' tokens.</summary>
    public string? AdminKeysSecret { get; init; }

    /// <summary>keyBroker: self-signed, attested or attested-token.</summary>
    public string? Tls { get; init; }

    /// <summary>keyBroker, inference: existing ConfigMap with <c>tls.pem</c>, the attestation service's TLS certificate.</summary>
    public string? AttestationCaConfigMap { get; init; }

    /// <summary>inference: path of the signed inference enclave package in the image; null: <c>confide inference serve</c>.</summary>
    public string? Package { get; init; }

    /// <summary>inference: existing PersistentVolumeClaim holding the model repository (mounted read-only).</summary>
    public string? ModelsClaim { get; init; }

    /// <summary>inference: model keys released by the key broker of this deployment.</summary>
    public bool UseKeyBroker { get; init; }

    public bool AttestedTls { get; init; }

    public bool EndToEnd { get; init; }

    /// <summary>ledger: existing ConfigMap whose keys are PEM certificates of the initial members.</summary>
    public string? MembersConfigMap { get; init; }

    /// <summary>ledger: ConfigMap with <c>service_cert.pem</c> of the running service, created once node 0 is up (joiners wait for it).</summary>
    public string? ServiceCertConfigMap { get; init; }

    /// <summary>ledger: MRENCLAVE of node code allowed to join besides node 0's own.</summary>
    public IReadOnlyList<string> CodeIds { get; init; } = [];
}
