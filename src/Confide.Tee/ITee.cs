namespace Confide.Tee;

/// <summary>
/// A trusted execution environment as the code inside it sees it: who it is, evidence of that
/// bound to caller-chosen data, and keys only this identity can derive.
/// </summary>
public interface ITee : IDisposable
{
    TeeKind Kind { get; }

    /// <summary>True for the simulation back-end: its evidence proves nothing and production policies refuse it.</summary>
    bool IsSimulated { get; }

    TeeIdentity Identity { get; }

    /// <summary>
    /// Produces evidence (an SGX or TDX quote, an SEV-SNP report) whose report data is
    /// <paramref name="reportData"/> zero-padded to 64 bytes.
    /// </summary>
    /// <exception cref="TeeException">The data is longer than 64 bytes, or the TEE failed.</exception>
    ValueTask<TeeEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken = default);

    /// <summary>
    /// Derives a 256-bit seal key for this identity (the EGETKEY counterpart). A request for a
    /// security version above the enclave's own is refused, so older code cannot read newer data.
    /// </summary>
    /// <exception cref="TeeException">The back-end has no seal keys, or the request is not allowed.</exception>
    byte[] DeriveSealKey(SealKeyRequest request);
}

/// <summary>The kinds of TEE Confide runs on.</summary>
public enum TeeKind
{
    /// <summary>A simulated SGX platform: ordinary process, software keys. Protects nothing.</summary>
    Simulation,

    /// <summary>Intel SGX through Gramine's /dev/attestation interface.</summary>
    SgxGramine,

    /// <summary>An Intel TDX guest through Linux configfs-tsm.</summary>
    Tdx,

    /// <summary>An AMD SEV-SNP guest through Linux configfs-tsm.</summary>
    SevSnp,
}

/// <summary>Which identity a sealed blob is bound to (Open Enclave's OE_SEAL_POLICY_*).</summary>
public enum SealPolicy : byte
{
    /// <summary>Bound to MRENCLAVE: only this exact enclave build can unseal.</summary>
    Unique = 1,

    /// <summary>Bound to MRSIGNER and product id: later versions from the same signer can unseal.</summary>
    Product = 2,
}

/// <summary>A seal key request: policy, the security version to derive for, and a per-blob key id.</summary>
public sealed record SealKeyRequest(SealPolicy Policy, ushort SecurityVersion, ReadOnlyMemory<byte> KeyId)
{
    public const int KeyIdSize = 32;
}
