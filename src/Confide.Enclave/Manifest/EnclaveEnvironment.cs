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

    private static readonly string[] LoaderPrefixes = ["DOTNET_", "COMPlus_", "CORECLR_", "LD_"];

    /// <summary>Names that a manifest may not allow-list.</summary>
    public static bool IsReserved(string name) =>
        name.StartsWith("CONFIDE_", StringComparison.Ordinal) || IsLoaderVariable(name);

    /// <summary>Variables that influence how the runtime or the dynamic linker load code.</summary>
    public static bool IsLoaderVariable(string name) =>
        LoaderPrefixes.Any(prefix => name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));

    /// <summary>The value of <see cref="HeapLimitVariable"/> for a heap of <paramref name="heapSizeMiB"/>.</summary>
    public static string HeapLimitValue(int heapSizeMiB) =>
        "0x" + ((long)heapSizeMiB * 1024 * 1024).ToString("X", System.Globalization.CultureInfo.InvariantCulture);
}
