using Confide.Deploy.Manifests;

namespace Confide.Deploy.Gramine;

/// <summary>
/// What <see cref="GramineManifestGenerator"/> writes a Gramine manifest template for: either a
/// signed enclave package in the image <c>confide deploy image</c> builds (<see cref="PackageDirectory"/>),
/// or one Confide service of the CLI image (<see cref="Service"/>). Exactly one of the two is set.
/// Paths are the ones inside the image; only <see cref="PackageDirectory"/> is a local folder.
/// Every refusal names the field by its <c>confide deploy gramine-manifest</c> option.
/// </summary>
public sealed class GramineManifestOptions
{
    /// <summary>
    /// <c>--package</c>: the local folder of the signed package that the image holds at
    /// <c>/enclave</c>. It is opened and verified like a launch (signature, measurement, exact file
    /// set), and its <c>enclave.json</c> gives the SGX product id, SVN, debug flag and heap size.
    /// </summary>
    public string? PackageDirectory { get; init; }

    /// <summary><c>--service</c>: attestation, keys, inference or ledger (the CLI image's services).</summary>
    public string? Service { get; init; }

    /// <summary>
    /// The arguments after <c>--</c>. For a package: the enclave's own arguments (what follows
    /// <c>confide run /enclave --</c>). For a service: the container's args from the generated
    /// Kubernetes manifests (with or without the leading command words, e.g. <c>keys serve</c>).
    /// Gramine fixes them in the measured manifest (<c>loader.argv</c>): the pod cannot change them.
    /// </summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary><c>--dotnet-root</c>: where the base image keeps <c>dotnet</c> (the SDK's aspnet images: /usr/share/dotnet).</summary>
    public string DotnetRoot { get; init; } = "/usr/share/dotnet";

    /// <summary><c>--data-dir</c>: the data folder volume; the only place the enclave may write outside /tmp.</summary>
    public string DataDirectory { get; init; } = ManifestGenerator.DataPath;

    /// <summary>
    /// <c>--data-mount</c>: how Gramine mounts the data folder. Default: <see cref="GramineDataMount.Plain"/>
    /// for the ledger, whose files are made to be kept by an untrusted host and read outside the
    /// enclave (audits, recovery from a copy); <see cref="GramineDataMount.Encrypted"/> for everything else.
    /// </summary>
    public GramineDataMount? DataMount { get; init; }

    /// <summary><c>--enclave-size</c>: a power of two in Gramine's notation (<c>4G</c>, <c>512M</c>); default: computed from the heap.</summary>
    public string? EnclaveSize { get; init; }

    /// <summary><c>--max-threads</c>: SGX thread slots per process (.NET's thread pool, GC, Kestrel, and Gramine's own helpers).</summary>
    public int MaxThreads { get; init; } = 64;

    /// <summary><c>--heap-size</c> (MiB, services only; a package's is its measured heapSizeMiB): the GC's hard limit.</summary>
    public int? HeapSizeMiB { get; init; }

    /// <summary><c>--debug</c> (services only; a package's comes from its enclave.json): a debuggable enclave.</summary>
    public bool? Debug { get; init; }

    /// <summary><c>--product-id</c> (services only): ISVPRODID of the Gramine enclave.</summary>
    public ushort? ProductId { get; init; }

    /// <summary><c>--security-version</c> (services only): ISVSVN of the Gramine enclave.</summary>
    public ushort? SecurityVersion { get; init; }

    /// <summary><c>--edmm</c>: <c>sgx.edmm_enable</c> (SGX2 and Linux 6.0 or later; memory is added on demand).</summary>
    public bool EnableEdmm { get; init; }

    /// <summary>
    /// <c>--trusted</c>: more files or folders the process reads, measured by <c>gramine-sgx-sign</c>
    /// (so they must be in the image when it signs): e.g. an administrator key or a CA certificate
    /// baked into the image instead of mounted from a Secret or ConfigMap.
    /// </summary>
    public IReadOnlyList<string> TrustedPaths { get; init; } = [];

    /// <summary>
    /// <c>--passthrough</c>: files or folders passed through unauthenticated (<c>sgx.allowed_files</c>):
    /// the host can change them at any time. Only for inputs Confide authenticates itself (encrypted models).
    /// </summary>
    public IReadOnlyList<string> PassthroughPaths { get; init; } = [];

    /// <summary>
    /// Address space a .NET process needs besides its GC heap reservation, in MiB: CoreCLR reserves up
    /// to 2 GiB next to libcoreclr for JIT-compiled code when it can, plus about 512 MiB for Gramine,
    /// the native libraries, mapped assemblies, thread stacks and the loader heaps.
    /// </summary>
    public int RuntimeReserveMiB { get; init; } = 2048 + 512;
}

/// <summary>How the Gramine manifest mounts the data folder.</summary>
public enum GramineDataMount
{
    /// <summary>
    /// Gramine's encrypted files, keyed with the SGX seal key of the enclave's signer
    /// (<c>_sgx_mrsigner</c>): the host can neither read nor alter what the service writes in the
    /// clear (certificates, stored policies). That key is the CPU's: derived with this machine's
    /// CPU, its microcode security version, and the enclave's product id and security version, so
    /// an enclave of the same signer and product, at the same versions, on the same machine reads
    /// it (a rebuilt image, too), and nothing else does: not a pod moved to another node, not after
    /// a security-version or microcode update. Not protected: deletion, and rollback to an older
    /// copy of a file.
    /// </summary>
    Encrypted,

    /// <summary>Passed through (<c>sgx.allowed_files</c>): the host reads and can replace every file.</summary>
    Plain,
}
