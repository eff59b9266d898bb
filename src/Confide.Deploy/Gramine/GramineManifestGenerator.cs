using System.Globalization;
using System.Text;
using Confide.Deploy.Images;
using Confide.Deploy.Manifests;
using Confide.Enclave;
using Confide.Enclave.Manifest;

namespace Confide.Deploy.Gramine;

/// <summary>A generated Gramine manifest template and the facts it was computed from.</summary>
/// <param name="Template">The Jinja template for <c>gramine-manifest</c> (TOML once rendered).</param>
/// <param name="EnclaveSize"><c>sgx.enclave_size</c> in Gramine's notation (<c>4G</c>).</param>
/// <param name="Processes">Gramine processes, each its own SGX enclave of that size: 2 for a package (<c>confide run</c> and the enclave it starts), 1 for a service.</param>
/// <param name="Argv">The fixed, measured command line (<c>loader.argv</c>).</param>
/// <param name="Package">The package's own identity (not the Gramine enclave's); null for a service.</param>
public sealed record GramineManifest(
    string Template,
    string EnclaveSize,
    long EnclaveSizeBytes,
    int Processes,
    int HeapSizeMiB,
    IReadOnlyList<string> Argv,
    EnclavePackageIdentity? Package);

/// <summary>
/// Writes the Gramine manifest template that runs a Confide image on real SGX: the
/// <c>sgx-gramine</c> TEE back-end reads Gramine's <c>/dev/attestation</c>, so the process must run
/// inside Gramine. The template trusts (measures) the .NET runtime, the CLI and, for a package, each
/// of its measured files; it lets the process write only the data folder and /tmp; it fixes the
/// command line and the environment; and it sizes the enclave for the GC heap.
/// </summary>
public static class GramineManifestGenerator
{
    /// <summary>Where the CLI image keeps the published Confide CLI (the .NET SDK's container default).</summary>
    public const string CliDirectory = "/app";

    public const string CertificatesDirectory = "/etc/ssl/certs";

    /// <summary>
    /// With one hard limit set, the .NET GC reserves five times that much address space for its
    /// regions (docs: runtime-config/garbage-collector, "Region range"); inside an SGX enclave every
    /// reservation comes out of <c>sgx.enclave_size</c>.
    /// </summary>
    public const int GcReservationFactor = 5;

    /// <summary>The services of the CLI image and the command words that start each one (as the generated pods do).</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> ServiceCommands = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
    {
        ["attestation"] = ["attestation", "serve"],
        ["keys"] = ["keys", "serve"],
        ["inference"] = ["inference", "serve"],
        ["ledger"] = ["deploy", "ledger-node"],
    };

    private const int DefaultServiceHeapSizeMiB = 512;
    private const int MinimumThreads = 4;
    private const string GramineTee = "sgx-gramine";
    private static readonly string[] AcceptedTees = ["sgx-gramine", "gramine", "auto"];
    private static readonly string[] JinjaDelimiters = ["{{", "{%", "{#"];

    public static GramineManifest Generate(GramineManifestOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.RuntimeReserveMiB < 0)
        {
            throw new GramineManifestException(nameof(GramineManifestOptions.RuntimeReserveMiB), $"must not be negative, got {options.RuntimeReserveMiB}.");
        }

        Locations locations = CheckLocations(options);
        CheckThreads(options.MaxThreads);
        long? requestedSize = ParseEnclaveSize(options.EnclaveSize);

        Target target = (options.PackageDirectory, options.Service) switch
        {
            ({ }, { }) => throw new GramineManifestException("--package", "give either --package or --service, not both."),
            ({ } package, null) => PackageTarget(package, options, locations),
            (null, { } service) => ServiceTarget(service, options, locations),
            _ => throw new GramineManifestException("--service", $"give --package <signed package folder> or --service {string.Join('|', ServiceCommands.Keys)}."),
        };
        CheckArguments(target.Argv, locations.Readable(target.IsPackage));

        long enclaveSize = EnclaveSize(requestedSize, target.HeapSizeMiB, options.RuntimeReserveMiB, out string sizeReason);
        GramineDataMount dataMount = options.DataMount ?? (options.Service == "ledger" ? GramineDataMount.Plain : GramineDataMount.Encrypted);
        string template = new TemplateWriter(options, locations, target, dataMount, enclaveSize, sizeReason).Write();
        return new GramineManifest(template, GramineSize.Format(enclaveSize), enclaveSize, target.Processes, target.HeapSizeMiB, target.Argv, target.Identity);
    }

    /// <summary>The minimum <c>sgx.enclave_size</c> for a heap: the GC's reservation plus the runtime's, rounded up to a power of two.</summary>
    public static long RequiredEnclaveSize(int heapSizeMiB, int runtimeReserveMiB) =>
        GramineSize.RoundUpToPowerOfTwo(GramineSize.FromMiB(((long)GcReservationFactor * heapSizeMiB) + runtimeReserveMiB));

    private static Target PackageTarget(string packageDirectory, GramineManifestOptions options, Locations locations)
    {
        // enclave.json decides these, and the package's signature covers them: a second source would disagree.
        RefuseForPackage("--heap-size", options.HeapSizeMiB is not null, ManifestFields.HeapSizeMiB);
        RefuseForPackage("--debug", options.Debug is not null, ManifestFields.Debug);
        RefuseForPackage("--product-id", options.ProductId is not null, ManifestFields.ProductId);
        RefuseForPackage("--security-version", options.SecurityVersion is not null, ManifestFields.SecurityVersion);

        EnclavePackage package;
        try
        {
            package = EnclavePackage.Open(packageDirectory);
        }
        catch (Exception ex) when (ex is EnclavePackageException or EnclaveManifestException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            // Refused exactly as a launch would be: a manifest for a package that will not run is no use.
            throw new GramineManifestException("--package", $"'{Path.GetFullPath(packageDirectory)}' is not a signed, intact enclave package: {ex.Message}", ex);
        }

        // Every file the package's own measurement covers, and the three files that describe it
        // (the host verifies enclave.sig and enclave.files before it starts the enclave).
        var files = package.Files.Select(f => f.Path).Concat(EnclavePackage.MetadataFiles)
            .Select(path => $"{ImageBuilder.PackagePath}/{path}")
            .Order(StringComparer.Ordinal)
            .ToList();
        foreach (string file in files)
        {
            RefuseJinja("--package", file);
        }

        foreach (string name in package.Manifest.Environment)
        {
            RefuseJinja("--package", name);
        }

        // What the image's entrypoint runs, with the TEE named: the host verifies the package and
        // starts the enclave as its own process.
        var argv = new List<string>(ImageBuilder.PackageEntrypoint.Skip(1).Prepend(locations.Dotnet)) { "--tee", GramineTee };
        if (options.Arguments.Count > 0)
        {
            argv.Add("--");
            argv.AddRange(options.Arguments);
        }

        return new Target(
            Description: $"the signed enclave package '{package.Manifest.Name}' at {ImageBuilder.PackagePath} (package MRENCLAVE {package.Identity.MrEnclaveHex})",
            Argv: [.. argv],
            HeapSizeMiB: package.Manifest.HeapSizeMiB,
            Debug: package.Identity.Debug,
            ProductId: package.Identity.ProductId,
            SecurityVersion: package.Identity.SecurityVersion,
            PackageFiles: files,
            PassthroughEnvironment: [.. package.Manifest.Environment],
            Identity: package.Identity,
            Processes: 2);
    }

    private static Target ServiceTarget(string service, GramineManifestOptions options, Locations locations)
    {
        if (!ServiceCommands.TryGetValue(service, out IReadOnlyList<string>? command))
        {
            throw new GramineManifestException("--service", $"unknown service '{service}'; known: {string.Join(", ", ServiceCommands.Keys)}.");
        }

        int heap = options.HeapSizeMiB ?? DefaultServiceHeapSizeMiB;
        if (heap is < 16 or > 1024 * 1024)
        {
            throw new GramineManifestException("--heap-size", $"must be between 16 and {1024 * 1024} MiB, got {heap}.");
        }

        // Accept the pods' args as they are (starting with the command words) or just the options.
        List<string> args = [.. options.Arguments];
        if (args.Count > 0 && !args[0].StartsWith('-'))
        {
            if (!args.Take(command.Count).SequenceEqual(command, StringComparer.Ordinal))
            {
                string hint = args[0] == "run" ? " A pod that runs a package ('run /enclave ...') needs --package with that package instead." : "";
                throw new GramineManifestException("args", $"--service {service} runs 'confide {string.Join(' ', command)}', but the arguments start with '{string.Join(' ', args.Take(command.Count))}'.{hint}");
            }

            args.RemoveRange(0, command.Count);
        }

        // The serve commands take the TEE and the data folder on their command line (the ledger's
        // launcher takes them from its configuration file): name the ones this manifest is for.
        if (service != "ledger")
        {
            if (OptionValue(args, "--tee") is { } tee)
            {
                if (!AcceptedTees.Contains(tee, StringComparer.Ordinal))
                {
                    throw new GramineManifestException("args", $"--tee {tee}: under Gramine the TEE is {GramineTee} (or auto).");
                }
            }
            else
            {
                args.AddRange(["--tee", GramineTee]);
            }

            string? dataDirectory = OptionValue(args, "--data-dir");
            if (dataDirectory is null)
            {
                args.AddRange(["--data-dir", locations.Data]);
            }
            else if (dataDirectory != locations.Data)
            {
                // The data folder is the one writable place: the service must write where the manifest allows it.
                throw new GramineManifestException("args", $"--data-dir {dataDirectory} differs from the manifest's data folder {locations.Data}; give --data-dir {dataDirectory} to gramine-manifest as well.");
            }
        }

        return new Target(
            Description: $"the Confide {service} service of the CLI image ('confide {string.Join(' ', command)}')",
            Argv: [.. ManifestGenerator.CliCommand.Skip(1).Prepend(locations.Dotnet), .. command, .. args],
            HeapSizeMiB: heap,
            Debug: options.Debug ?? false,
            ProductId: options.ProductId ?? 0,
            SecurityVersion: options.SecurityVersion ?? 0,
            PackageFiles: [],
            // The ledger's launcher picks start or join from its pod's name (the StatefulSet ordinal).
            PassthroughEnvironment: service == "ledger" ? ["POD_NAME"] : [],
            Identity: null,
            Processes: 1);
    }

    /// <summary>Paths inside the image: absolute, normalized, and never both measured and writable.</summary>
    private static Locations CheckLocations(GramineManifestOptions options)
    {
        string dotnet = AbsolutePath("--dotnet-root", options.DotnetRoot, allowFolderSlash: false).Path;
        string data = AbsolutePath("--data-dir", options.DataDirectory, allowFolderSlash: false).Path;
        ImagePath[] trusted = [.. options.TrustedPaths.Select(p => AbsolutePath("--trusted", p, allowFolderSlash: true))];
        ImagePath[] passthrough = [.. options.PassthroughPaths.Select(p => AbsolutePath("--passthrough", p, allowFolderSlash: true))];

        // Measured already: the runtime, the CLI, the package, the CA certificates.
        var builtIn = new List<(string Field, string Path)> { ("--dotnet-root", dotnet), ("(the CLI)", CliDirectory), ("(the package)", ImageBuilder.PackagePath), ("(CA certificates)", CertificatesDirectory) };
        foreach (ImagePath extra in trusted)
        {
            if (builtIn.FirstOrDefault(m => Overlaps(extra.Path, m.Path)) is { Path: not null } measured)
            {
                throw new GramineManifestException("--trusted", $"'{extra.Path}' overlaps '{measured.Path}' {measured.Field}, which the manifest measures already.");
            }
        }

        // Not measured: writable or passed through. A path in both would be neither safely.
        var measuredPaths = builtIn.Concat(trusted.Select(t => ("--trusted", t.Path))).ToList();
        var unmeasured = new List<(string Field, string Path)> { ("--data-dir", data), ("(tmp)", ManifestGenerator.TmpPath) };
        unmeasured.AddRange(passthrough.Select(p => ("--passthrough", p.Path)));
        foreach ((string field, string path) in unmeasured)
        {
            foreach ((string measuredField, string measuredPath) in measuredPaths)
            {
                if (Overlaps(path, measuredPath))
                {
                    string culprit = field.StartsWith('(') ? measuredField : field;
                    throw new GramineManifestException(culprit, $"'{path}' ({field}) and '{measuredPath}' ({measuredField}) overlap: a path is either measured (trusted) or writable/passed through, never both.");
                }
            }
        }

        return new Locations(dotnet, data, trusted, passthrough);
    }

    private static void CheckThreads(int maxThreads)
    {
        // Gramine's own IPC, async and TLS-handshake helper threads take slots too (its manifest documentation: at least 4).
        if (maxThreads < MinimumThreads)
        {
            throw new GramineManifestException("--max-threads", $"must be at least {MinimumThreads} (Gramine's helper threads use {MinimumThreads - 1} slots besides the main thread), got {maxThreads}.");
        }
    }

    private static long? ParseEnclaveSize(string? text)
    {
        if (text is null)
        {
            return null;
        }

        if (!GramineSize.TryParse(text, out long bytes) || bytes <= 0)
        {
            throw new GramineManifestException("--enclave-size", $"'{text}' is not a size: a number with K, M or G (e.g. 4G, 512M).");
        }

        if (!GramineSize.IsPowerOfTwo(bytes))
        {
            throw new GramineManifestException("--enclave-size", $"'{text}' is not a power of two, which SGX requires of an enclave (the next one is {GramineSize.Format(GramineSize.RoundUpToPowerOfTwo(bytes))}).");
        }

        return bytes;
    }

    private static long EnclaveSize(long? requested, int heapSizeMiB, int runtimeReserveMiB, out string reason)
    {
        long required = RequiredEnclaveSize(heapSizeMiB, runtimeReserveMiB);
        reason = $"{GcReservationFactor} x the {heapSizeMiB} MiB heap (the GC reserves {GcReservationFactor} times its hard limit) + {runtimeReserveMiB} MiB for the runtime (JIT code, libraries, stacks), rounded up to a power of two: {GramineSize.Format(required)}";
        if (requested is not { } size)
        {
            return required;
        }

        if (size < required)
        {
            throw new GramineManifestException("--enclave-size", $"{GramineSize.Format(size)} is too small: the process needs at least {reason}.");
        }

        reason = $"as given; at least {reason}";
        return size;
    }

    /// <summary>
    /// Arguments that name files must name files the manifest mounts: anything else fails under
    /// Gramine at run time with 'permission denied'. Simulation is refused: it protects nothing.
    /// </summary>
    private static void CheckArguments(IReadOnlyList<string> argv, IReadOnlyList<string> readable)
    {
        foreach (string argument in argv)
        {
            RefuseJinja("args", argument);
            if (argument == "--allow-simulation")
            {
                throw new GramineManifestException("args", "--allow-simulation: this manifest runs on SGX under Gramine; the simulation TEE protects nothing.");
            }

            int equals = argument.IndexOf('=', StringComparison.Ordinal);
            string value = argument.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? argument[(equals + 1)..] : argument;
            if (value.StartsWith('/') && !readable.Any(root => IsUnder(value, root)))
            {
                throw new GramineManifestException("args", $"'{argument}' names {value}, which this manifest does not mount, so Gramine would refuse to open it. Add it with --trusted (measured when the image is signed: bake it into the image) or --passthrough (unauthenticated: the host can change it).");
            }
        }
    }

    /// <summary>
    /// An absolute, normalized path inside the image; with <paramref name="allowFolderSlash"/>, a
    /// trailing slash marks a folder, as in Gramine's own file lists.
    /// </summary>
    private static ImagePath AbsolutePath(string field, string path, bool allowFolderSlash)
    {
        RefuseJinja(field, path);
        if (!path.StartsWith('/'))
        {
            throw new GramineManifestException(field, $"'{path}' is not an absolute path inside the image.");
        }

        bool folder = allowFolderSlash && path.Length > 1 && path.EndsWith('/');
        string trimmed = folder ? path[..^1] : path;
        if (trimmed == "/" || trimmed.Split('/')[1..].Any(s => s is "" or "." or ".."))
        {
            throw new GramineManifestException(field, $"'{path}' is not a normalized path below / (no empty, '.' or '..' parts{(allowFolderSlash ? "" : ", no trailing slash")}).");
        }

        if (trimmed.Any(c => char.IsControl(c) || c is '"' or '\\'))
        {
            throw new GramineManifestException(field, $"'{path}' holds a control character, a quote or a backslash.");
        }

        return new ImagePath(trimmed, folder);
    }

    private static void RefuseJinja(string field, string text)
    {
        if (JinjaDelimiters.FirstOrDefault(d => text.Contains(d, StringComparison.Ordinal)) is { } delimiter)
        {
            throw new GramineManifestException(field, $"'{text}' contains '{delimiter}', which gramine-manifest would take as template syntax.");
        }
    }

    private static void RefuseForPackage(string field, bool given, string manifestField)
    {
        if (given)
        {
            throw new GramineManifestException(field, $"a package's enclave.json decides this ('{manifestField}', covered by its signature); give it there and re-sign.");
        }
    }

    /// <summary>The value of <paramref name="option"/> given as '--x v' or '--x=v', if present.</summary>
    private static string? OptionValue(List<string> args, string option)
    {
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == option)
            {
                return i + 1 < args.Count ? args[i + 1] : string.Empty;
            }

            if (args[i].StartsWith(option + "=", StringComparison.Ordinal))
            {
                return args[i][(option.Length + 1)..];
            }
        }

        return null;
    }

    private static bool IsUnder(string path, string root) =>
        path == root || path.StartsWith(root + "/", StringComparison.Ordinal);

    private static bool Overlaps(string a, string b) => IsUnder(a, b) || IsUnder(b, a);

    /// <summary>A file, or with <see cref="IsFolder"/> a folder, inside the image.</summary>
    private sealed record ImagePath(string Path, bool IsFolder)
    {
        /// <summary>Gramine's URI: a trailing slash names a whole folder.</summary>
        public string Uri => IsFolder ? $"file:{Path}/" : $"file:{Path}";
    }

    /// <summary>The checked paths inside the image.</summary>
    private sealed record Locations(string DotnetRoot, string Data, IReadOnlyList<ImagePath> Trusted, IReadOnlyList<ImagePath> Passthrough)
    {
        /// <summary>The <c>dotnet</c> host.</summary>
        public string Dotnet => $"{DotnetRoot}/dotnet";

        /// <summary>Every path the process can open something under.</summary>
        public IReadOnlyList<string> Readable(bool package) =>
        [
            DotnetRoot, CliDirectory, .. package ? [ImageBuilder.PackagePath] : Array.Empty<string>(), CertificatesDirectory, Data, ManifestGenerator.TmpPath,
            .. Trusted.Select(t => t.Path), .. Passthrough.Select(p => p.Path),
        ];
    }

    /// <summary>What runs in the enclave, resolved from a package or a service.</summary>
    private sealed record Target(
        string Description,
        IReadOnlyList<string> Argv,
        int HeapSizeMiB,
        bool Debug,
        ushort ProductId,
        ushort SecurityVersion,
        IReadOnlyList<string> PackageFiles,
        IReadOnlyList<string> PassthroughEnvironment,
        EnclavePackageIdentity? Identity,
        int Processes)
    {
        public bool IsPackage => Identity is not null;
    }

    /// <summary>Writes the template, section by section, each with the reason for its settings.</summary>
    private sealed class TemplateWriter(GramineManifestOptions options, Locations locations, Target target, GramineDataMount dataMount, long enclaveSize, string sizeReason)
    {
        private readonly StringBuilder _text = new();

        public string Write()
        {
            Header();
            Loader();
            Environment();
            Mounts();
            System();
            Sgx();
            TrustedFiles();
            AllowedFiles();
            return _text.ToString();
        }

        private void Header()
        {
            Comment($"Gramine manifest template for {target.Description}.");
            Comment("Written by 'confide deploy gramine-manifest'. It is a Jinja template for gramine-manifest, not TOML until rendered.");
            Line("#");
            Comment("Render and sign it where every path below exists, i.e. in the image (a build stage FROM the Confide image, with Gramine installed), since gramine-sgx-sign hashes the trusted files:");
            Line("#   gramine-manifest -Darch_libdir=/lib/x86_64-linux-gnu confide.manifest.template confide.manifest");
            Line("#   gramine-sgx-sign --manifest confide.manifest --output confide.manifest.sgx --key enclave-key.pem");
            Line("#   gramine-sgx confide        # the container's command: the arguments are fixed below (loader.argv)");
            Line("#");
            Comment("Identity: gramine-sgx-sign prints the enclave's MRENCLAVE and MRSIGNER (read them again with 'gramine-sgx-sigstruct-view confide.sig'). That Gramine MRENCLAVE is what SGX quotes carry: it goes into the values' 'enclave:' identity and into release and code-id policies"
                + (target.Identity is { } identity ? $" -- not the package's own MRENCLAVE {identity.MrEnclaveHex}, which Confide's host still checks before it starts the enclave." : "."));
            Line("#");
            Comment($"sgx.enclave_size: {sizeReason}. Without EDMM Gramine commits the whole size at start, per process"
                + (target.Processes > 1 ? $"; this one runs {target.Processes} processes ('confide run' and the enclave it starts), each its own SGX enclave: {target.Processes} x {GramineSize.Format(enclaveSize)} of EPC." : "."));
            Line("#");
            Comment("Not verified on SGX hardware or with Gramine (neither was available where this generator was written); see docs/deploy-aks.md for the open points.");
            Line();
        }

        private void Loader()
        {
            Line("loader.entrypoint = \"file:{{ gramine.libos }}\"");
            Line($"libos.entrypoint = {Toml(locations.Dotnet)}");
            Comment("Other levels may copy enclave data into the host's log.");
            Line("loader.log_level = \"error\"");
            Comment("The command line is measured: the pod cannot change what runs or with which options.");
            Line($"loader.argv = [{string.Join(", ", target.Argv.Select(Toml))}]");
            Comment("The pods' non-root user, so that files Confide makes owner-only are its own (Gramine's default is root).");
            Line(FormattableString.Invariant($"loader.uid = {ManifestGenerator.RunAsUser}"));
            Line(FormattableString.Invariant($"loader.gid = {ManifestGenerator.RunAsUser}"));
            Line();
        }

        private void Environment()
        {
            Comment("The environment is this list: Gramine passes nothing else from the host.");
            Line("loader.env.LD_LIBRARY_PATH = \"/lib:{{ arch_libdir }}:/usr{{ arch_libdir }}\"");
            Comment(target.IsPackage
                ? $"The package's measured heapSizeMiB ({target.HeapSizeMiB}) as the GC's hard limit, in the runtime's hexadecimal bytes (the value Confide's host gives the enclave)."
                : $"The GC's hard limit ({target.HeapSizeMiB} MiB), in the runtime's hexadecimal bytes: without one the GC reserves 256 GB, more than any enclave.");
            Line($"loader.env.{EnclaveEnvironment.HeapLimitVariable} = {Toml(EnclaveEnvironment.HeapLimitValue(target.HeapSizeMiB))}");
            Comment("No diagnostic IPC (debugger, tracing, dumps): nothing outside the enclave attaches to the runtime.");
            Line("loader.env.DOTNET_EnableDiagnostics = \"0\"");
            Line($"loader.env.HOME = {Toml(ManifestGenerator.TmpPath)}");
            Comment("The CA certificates of outgoing TLS (e.g. Intel PCS) come from the measured store below.");
            Line($"loader.env.SSL_CERT_FILE = {Toml(CertificatesDirectory + "/ca-certificates.crt")}");
            Line($"loader.env.SSL_CERT_DIR = {Toml(CertificatesDirectory)}");
            if (target.PassthroughEnvironment.Count > 0)
            {
                Comment(target.IsPackage
                    ? "The variables the package's enclave.json allows, from the host: untrusted values, as Confide treats them."
                    : "From the pod (host-controlled, like the host name): the ledger launcher reads its StatefulSet ordinal from it.");
                foreach (string name in target.PassthroughEnvironment)
                {
                    Line($"loader.env.{Key(name)} = {{ passthrough = true }}");
                }
            }

            Line();
        }

        private void Mounts()
        {
            var mounts = new List<string>
            {
                "{ path = \"/lib\", uri = \"file:{{ gramine.runtimedir() }}\" }",
                "{ path = \"{{ arch_libdir }}\", uri = \"file:{{ arch_libdir }}\" }",
                "{ path = \"/usr{{ arch_libdir }}\", uri = \"file:/usr{{ arch_libdir }}\" }",
            };
            IEnumerable<string> paths =
            [
                locations.DotnetRoot, CliDirectory, .. target.IsPackage ? [ImageBuilder.PackagePath] : Array.Empty<string>(), CertificatesDirectory,
                .. dataMount == GramineDataMount.Plain ? [locations.Data] : Array.Empty<string>(),
                .. locations.Trusted.Select(t => t.Path), .. locations.Passthrough.Select(p => p.Path),
            ];
            mounts.AddRange(paths.Select(p => $"{{ path = {Toml(p)}, uri = {Toml("file:" + p)} }}"));
            if (dataMount == GramineDataMount.Encrypted)
            {
                Comment("The data folder: Gramine's encrypted files, keyed with the SGX seal key of this enclave's signer (_sgx_mrsigner), so that the host can neither read nor alter what the service keeps there in the clear (certificates, stored policies). That key is derived with this machine's CPU and microcode version and the enclave's product id and security version: an image rebuilt by the same signer reads the folder on the same node, but not a pod moved to another node, nor after a security-version or microcode update. Gramine makes every file of it (a file put there by the host does not open), and nothing stops the host from deleting a file or putting back an older copy of it. (Confide's own sealing also starts from this key, through HKDF, as Gramine requires of a key used twice.)");
                mounts.Add($"{{ type = \"encrypted\", path = {Toml(locations.Data)}, uri = {Toml("file:" + locations.Data)}, key_name = \"_sgx_mrsigner\" }}");
            }
            if (target.IsPackage)
            {
                Comment("/tmp: 'confide run' copies the package and opens the channel socket in a private folder under /tmp, and the enclave process it starts runs from that copy. Under Gramine that process is another enclave, and a tmpfs is private to one process, so /tmp is an encrypted mount instead: host-backed (the pod's /tmp volume), encrypted and integrity-protected with the SGX sealing key of this MRENCLAVE, which both processes share. (Confide's own sealing also starts from that key, through HKDF, as Gramine requires of a key used twice.)");
                mounts.Add($"{{ type = \"encrypted\", path = {Toml(ManifestGenerator.TmpPath)}, uri = {Toml("file:" + ManifestGenerator.TmpPath)}, key_name = \"_sgx_mrenclave\" }}");
            }
            else
            {
                Comment("/tmp lives in enclave memory only.");
                mounts.Add($"{{ type = \"tmpfs\", path = {Toml(ManifestGenerator.TmpPath)} }}");
            }

            Line("fs.mounts = [");
            foreach (string mount in mounts)
            {
                Line($"  {mount},");
            }

            Line("]");
            Line();
        }

        private void System()
        {
            Comment("The .NET runtime waits on eventfd; Gramine emulates it through the host, which can at worst delay a wake-up.");
            Line("sys.insecure__allow_eventfd = true");
            Comment("/etc/resolv.conf and the host name from the host: the services reach each other by cluster DNS names (ledger nodes by their StatefulSet names).");
            Line("sys.enable_extra_runtime_domain_names_conf = true");
            Comment("The main thread's stack as on Linux (8M): the runtime starts there.");
            Line("sys.stack.size = \"8M\"");
            Line();
        }

        private void Sgx()
        {
            if (target.IsPackage)
            {
                Comment("Product id, SVN and debug: the package's enclave.json (productId, securityVersion, debug).");
            }

            Line($"sgx.debug = {Bool(target.Debug)}");
            Line($"sgx.isvprodid = {target.ProductId.ToString(CultureInfo.InvariantCulture)}");
            Line($"sgx.isvsvn = {target.SecurityVersion.ToString(CultureInfo.InvariantCulture)}");
            Line($"sgx.edmm_enable = {Bool(options.EnableEdmm)}");
            Line($"sgx.enclave_size = {Toml(GramineSize.Format(enclaveSize))}");
            Line($"sgx.max_threads = {options.MaxThreads.ToString(CultureInfo.InvariantCulture)}");
            Comment("DCAP quotes through /dev/attestation/quote, which Confide's sgx-gramine back-end reads.");
            Line("sgx.remote_attestation = \"dcap\"");
            Line();
        }

        private void TrustedFiles()
        {
            Comment("Measured: gramine-sgx-sign hashes these into the manifest (a trailing slash: a whole folder), and Gramine refuses a file whose hash differs.");
            Line("sgx.trusted_files = [");
            Line("  \"file:{{ gramine.libos }}\",");
            Line("  \"file:{{ gramine.runtimedir() }}/\",");
            Line("  \"file:{{ arch_libdir }}/\",");
            Line("  \"file:/usr{{ arch_libdir }}/\",");
            IEnumerable<string> uris = [$"file:{locations.DotnetRoot}/", $"file:{CliDirectory}/", $"file:{CertificatesDirectory}/", .. locations.Trusted.Select(t => t.Uri)];
            foreach (string uri in uris)
            {
                Line($"  {Toml(uri)},");
            }

            if (target.IsPackage)
            {
                Line("  # The package, file by file: exactly the files its own measurement covers, and its metadata.");
                foreach (string file in target.PackageFiles)
                {
                    Line($"  {Toml("file:" + file)},");
                }
            }

            Line("]");
            Line();
        }

        private void AllowedFiles()
        {
            if (dataMount == GramineDataMount.Plain)
            {
                Comment("Not measured, and writable: the data folder (sgx.allowed_files are passed through unauthenticated). Confide seals the secrets it keeps there (ledger node secrets) and the ledger encrypts its private maps, so the host sees only ciphertext of those; the ledger files themselves are made for an untrusted host, as CCF's are: every entry is hashed into the Merkle tree that signed roots cover, and nodes and 'confide ledger audit' check them. The host can still delete files or put back older ones.");
            }
            else
            {
                Comment("Nothing writable is passed through: the data folder is an encrypted mount (above).");
            }

            if (locations.Passthrough.Count > 0)
            {
                Comment("Passed through as asked (--passthrough): unauthenticated, the host can change them at any time.");
            }

            Line("sgx.allowed_files = [");
            IEnumerable<string> uris = [.. dataMount == GramineDataMount.Plain ? [$"file:{locations.Data}/"] : Array.Empty<string>(), .. locations.Passthrough.Select(p => p.Uri)];
            foreach (string uri in uris)
            {
                Line($"  {Toml(uri)},");
            }

            Line("]");
        }

        private void Line(string text = "") => _text.Append(text).Append('\n');

        /// <summary>A comment, wrapped at about 100 columns.</summary>
        private void Comment(string text)
        {
            var line = new StringBuilder("#");
            foreach (string word in text.Split(' '))
            {
                if (line.Length + word.Length + 1 > 100 && line.Length > 1)
                {
                    Line(line.ToString());
                    line.Clear().Append('#');
                }

                line.Append(' ').Append(word);
            }

            Line(line.ToString());
        }

        private static string Bool(bool value) => value ? "true" : "false";

        /// <summary>A bare key where TOML allows one, else a quoted key.</summary>
        private static string Key(string name) =>
            name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? name : Toml(name);

        /// <summary>A TOML basic string.</summary>
        private static string Toml(string value)
        {
            var text = new StringBuilder("\"");
            foreach (char c in value)
            {
                text.Append(c switch
                {
                    '"' => "\\\"",
                    '\\' => "\\\\",
                    '\n' => "\\n",
                    '\t' => "\\t",
                    '\r' => "\\r",
                    _ when char.IsControl(c) => $"\\u{(int)c:X4}",
                    _ => c.ToString(),
                });
            }

            return text.Append('"').ToString();
        }
    }
}
