namespace Confide.Attestation.Verification;

/// <summary>The TCB statuses of Intel's TCB info and QE identity (and the TD relaunch statuses).</summary>
public enum TcbStatus
{
    UpToDate,
    SWHardeningNeeded,
    ConfigurationNeeded,
    ConfigurationAndSWHardeningNeeded,
    OutOfDate,
    OutOfDateConfigurationNeeded,
    Revoked,
    TDRelaunchAdvised,
    TDRelaunchAdvisedConfigurationNeeded,
}

internal static class TcbStatuses
{
    public static TcbStatus Parse(string? text) => text switch
    {
        "UpToDate" => TcbStatus.UpToDate,
        "SWHardeningNeeded" => TcbStatus.SWHardeningNeeded,
        "ConfigurationNeeded" => TcbStatus.ConfigurationNeeded,
        "ConfigurationAndSWHardeningNeeded" => TcbStatus.ConfigurationAndSWHardeningNeeded,
        "OutOfDate" => TcbStatus.OutOfDate,
        "OutOfDateConfigurationNeeded" => TcbStatus.OutOfDateConfigurationNeeded,
        "Revoked" => TcbStatus.Revoked,
        "TDRelaunchAdvised" => TcbStatus.TDRelaunchAdvised,
        "TDRelaunchAdvisedConfigurationNeeded" => TcbStatus.TDRelaunchAdvisedConfigurationNeeded,
        _ => throw new QuoteVerificationException(VerificationError.MalformedCollateral, $"Unknown TCB status '{text}'."),
    };

    /// <summary>
    /// Intel's convergeTcbStatusWithQeTcbStatus: an out-of-date QE makes the platform out of date,
    /// a revoked QE revokes it; otherwise the platform status stands.
    /// </summary>
    public static TcbStatus ConvergeWithQe(TcbStatus platform, TcbStatus qe) => qe switch
    {
        TcbStatus.Revoked => TcbStatus.Revoked,
        TcbStatus.OutOfDate => platform switch
        {
            TcbStatus.UpToDate or TcbStatus.SWHardeningNeeded => TcbStatus.OutOfDate,
            TcbStatus.ConfigurationNeeded or TcbStatus.ConfigurationAndSWHardeningNeeded => TcbStatus.OutOfDateConfigurationNeeded,
            _ => platform,
        },
        _ => platform,
    };

    /// <summary>Intel's TDX module convergence: same rules with the module's status in the QE's place.</summary>
    public static TcbStatus ConvergeWithTdxModule(TcbStatus platform, TcbStatus module) => ConvergeWithQe(platform, module);
}
