namespace Confide.Attestation.Verification;

/// <summary>
/// What a relying party accepts beyond a cryptographically valid quote. The default is strict:
/// only UpToDate and SWHardeningNeeded platforms, no debug enclaves or TDs, no simulated
/// evidence, no TDs bound to a service TD.
/// </summary>
public sealed record VerificationPolicy
{
    public static VerificationPolicy Default { get; } = new();

    /// <summary>The TCB statuses that verify. Default: UpToDate, SWHardeningNeeded.</summary>
    public IReadOnlySet<TcbStatus> AcceptedTcbStatuses { get; init; } = new HashSet<TcbStatus> { TcbStatus.UpToDate, TcbStatus.SWHardeningNeeded };

    public bool AllowDebug { get; init; }

    /// <summary>Accept evidence from Confide's simulated platform (chaining to a configured simulation root).</summary>
    public bool AllowSimulation { get; init; }

    /// <summary>Accept TD 1.5 reports bound to a service TD (non-zero MRSERVICETD).</summary>
    public bool AllowServiceTd { get; init; }

    /// <summary>SGX MRENCLAVE, or TDX MRTD, that the quote must carry.</summary>
    public byte[]? ExpectedMrEnclave { get; init; }

    public byte[]? ExpectedMrSigner { get; init; }

    public ushort? ExpectedProductId { get; init; }

    public ushort? MinimumSecurityVersion { get; init; }

    /// <summary>A policy that accepts every status but Revoked (dcap-qvl's default, and Azure Attestation's before its policy runs).</summary>
    public static VerificationPolicy AnyNonRevokedTcb { get; } = new()
    {
        AcceptedTcbStatuses = Enum.GetValues<TcbStatus>().Where(s => s != TcbStatus.Revoked).ToHashSet(),
    };
}
