using Confide.Tee.Gramine;
using Confide.Tee.Simulation;
using Confide.Tee.Tsm;

namespace Confide.Tee;

/// <summary>Which TEE back-end to use, and where each one's interface lives.</summary>
public sealed class TeeOptions
{
    /// <summary>Environment variable that selects the back-end: simulation | sgx-gramine | tsm | auto.</summary>
    public const string BackendVariable = "CONFIDE_TEE";

    /// <summary>The back-end; <see cref="TeeBackend.Auto"/> (the default) detects Gramine, then configfs-tsm, else simulation.</summary>
    public TeeBackend Backend { get; set; } = TeeBackend.Auto;

    public string GramineRoot { get; set; } = GramineTee.DefaultRoot;

    public TsmReportOptions Tsm { get; set; } = new();

    /// <summary>State directory of the simulated platform (default: <see cref="SimulatedPlatform.DefaultStateDirectory"/>).</summary>
    public string? SimulationStateDirectory { get; set; }

    /// <summary>Parses the names accepted in <see cref="BackendVariable"/> and on the command line.</summary>
    public static TeeBackend ParseBackend(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => TeeBackend.Auto,
        "simulation" or "sim" => TeeBackend.Simulation,
        "sgx-gramine" or "gramine" => TeeBackend.SgxGramine,
        "tsm" or "tdx" or "sev-snp" => TeeBackend.Tsm,
        _ => throw new ArgumentException($"Unknown TEE back-end '{value}'; use simulation, sgx-gramine, tsm or auto."),
    };

    /// <summary>The name <see cref="ParseBackend"/> reads back: what a host puts in <see cref="BackendVariable"/>.</summary>
    public static string FormatBackend(TeeBackend backend) => backend switch
    {
        TeeBackend.Auto => "auto",
        TeeBackend.Simulation => "simulation",
        TeeBackend.SgxGramine => "sgx-gramine",
        TeeBackend.Tsm => "tsm",
        _ => throw new ArgumentOutOfRangeException(nameof(backend), backend, "Unknown TEE back-end."),
    };

    /// <summary>The back-end auto-detection picks on this machine.</summary>
    public TeeBackend Resolve() => Backend switch
    {
        TeeBackend.Auto when GramineTee.IsAvailable(GramineRoot) => TeeBackend.SgxGramine,
        TeeBackend.Auto when TsmReportTee.IsAvailable(Tsm.Root) => TeeBackend.Tsm,
        TeeBackend.Auto => TeeBackend.Simulation,
        _ => Backend,
    };

    /// <summary>
    /// Creates the TEE. The simulation needs the enclave's identity from outside (the runtime
    /// measures its package, as a CPU would); real back-ends ask the hardware.
    /// </summary>
    public async Task<ITee> CreateAsync(Func<TeeIdentity> simulatedIdentity, CancellationToken cancellationToken = default) => Resolve() switch
    {
        TeeBackend.SgxGramine => new GramineTee(GramineRoot),
        TeeBackend.Tsm => await TsmReportTee.CreateAsync(Tsm, cancellationToken).ConfigureAwait(false),
        _ => new SimulationTee(SimulatedPlatform.OpenOrCreate(SimulationStateDirectory), simulatedIdentity(), ownsPlatform: true),
    };
}

/// <summary>The TEE back-ends.</summary>
public enum TeeBackend
{
    Auto,
    Simulation,
    SgxGramine,
    Tsm,
}
