namespace Confide.Enclave.Manifest;

/// <summary>
/// Which environment variables an enclave process may have. The host is untrusted, and some
/// variables change what code runs (DOTNET_STARTUP_HOOKS, LD_PRELOAD, COMPlus_* profilers), so
/// these rules are enforced twice: by the host when it launches, and by the enclave on itself.
/// </summary>
public static class EnclaveEnvironment
{
    /// <summary>Variables through which a host tells the in-enclave runtime how it was launched.</summary>
    public static readonly IReadOnlySet<string> RuntimeVariables = new HashSet<string>(StringComparer.Ordinal)
    {
        "CONFIDE_CHANNEL",
        "CONFIDE_CHANNEL_TOKEN",
        "CONFIDE_TEE",
        "CONFIDE_SIMULATION_DIR",
    };

    /// <summary>The heap limit variable; its value must be the one the measured heapSizeMiB gives.</summary>
    public const string HeapLimitVariable = "DOTNET_GCHeapHardLimit";

    /// <summary>Harmless .NET variables a host may set.</summary>
    public static readonly IReadOnlySet<string> BenignRuntimeVariables = new HashSet<string>(StringComparer.Ordinal)
    {
        "DOTNET_CLI_TELEMETRY_OPTOUT",
        "DOTNET_NOLOGO",
    };

    /// <summary>
    /// What the Gramine manifest that <c>confide deploy gramine-manifest</c> writes sets in its
    /// measured <c>loader.env</c>: Gramine's library path, the CA store, HOME, and no diagnostic IPC.
    /// Under Gramine, <c>confide run</c> has them from that manifest, and the enclave process it
    /// starts (another Gramine process, whose environment its parent gives it inside the enclave)
    /// needs them too, so the host hands them on and the enclave accepts them, there only.
    /// </summary>
    public static readonly IReadOnlySet<string> GramineVariables = new HashSet<string>(StringComparer.Ordinal)
    {
        "LD_LIBRARY_PATH",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HOME",
        "DOTNET_EnableDiagnostics",
    };

    private static readonly string[] LoaderPrefixes = ["DOTNET_", "COMPlus_", "CORECLR_", "LD_"];

    /// <summary>Names that a manifest may not allow-list.</summary>
    public static bool IsReserved(string name) =>
        name.StartsWith("CONFIDE_", StringComparison.Ordinal) || IsLoaderVariable(name);

    /// <summary>Variables that influence how the runtime or the dynamic linker load code.</summary>
    public static bool IsLoaderVariable(string name) =>
        LoaderPrefixes.Any(prefix => name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// What an enclave makes of the environment it was started with: variables that change how code
    /// is loaded, and that neither its manifest nor (under Gramine) the measured Gramine manifest
    /// set, are refused (the enclave will not run); other variables its manifest does not allow are
    /// withheld from enclave code.
    /// </summary>
    /// <param name="underGramine">
    /// True only inside Gramine, whose loader takes the environment from the measured manifest or
    /// from the parent enclave process, never from the host. Outside it, the Gramine variables are
    /// the host's and get no exception.
    /// </param>
    public static EnvironmentVerdict Check(EnclaveManifest manifest, IEnumerable<KeyValuePair<string, string>> environment, bool underGramine)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(environment);
        var allowed = new HashSet<string>(manifest.Environment, StringComparer.Ordinal);
        var refused = new List<string>();
        var withheld = new List<string>();
        foreach ((string name, string value) in environment)
        {
            if (allowed.Contains(name) || RuntimeVariables.Contains(name) || BenignRuntimeVariables.Contains(name) || (underGramine && GramineVariables.Contains(name)))
            {
                continue;
            }

            if (name == HeapLimitVariable)
            {
                if (!string.Equals(value, HeapLimitValue(manifest.HeapSizeMiB), StringComparison.OrdinalIgnoreCase))
                {
                    refused.Add($"{name}={value} (the measured heapSizeMiB gives {HeapLimitValue(manifest.HeapSizeMiB)})");
                }

                continue;
            }

            if (IsLoaderVariable(name))
            {
                refused.Add(name);
                continue;
            }

            withheld.Add(name);
        }

        return new EnvironmentVerdict(refused, withheld);
    }

    /// <summary>The value of <see cref="HeapLimitVariable"/> for a heap of <paramref name="heapSizeMiB"/>.</summary>
    public static string HeapLimitValue(int heapSizeMiB) =>
        "0x" + ((long)heapSizeMiB * 1024 * 1024).ToString("X", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The outcome of <see cref="EnclaveEnvironment.Check"/>.</summary>
/// <param name="Refused">Variables the enclave will not run under (with the reason where there is more than the name).</param>
/// <param name="Withheld">Variables removed from the enclave's environment.</param>
public sealed record EnvironmentVerdict(IReadOnlyList<string> Refused, IReadOnlyList<string> Withheld);
