namespace Confide.Tee;

/// <summary>
/// The identity a TEE reports for the code it runs. For SGX: MRENCLAVE, MRSIGNER, ISVPRODID,
/// ISVSVN and the DEBUG attribute. For TDX: MRTD as the unique id (no signer). For SEV-SNP: the
/// launch measurement and the ID key digest.
/// </summary>
public sealed record TeeIdentity(TeeKind Kind, byte[] UniqueId, byte[] SignerId, ushort ProductId, ushort SecurityVersion, bool Debug)
{
    public string UniqueIdHex => Convert.ToHexStringLower(UniqueId);

    public string SignerIdHex => Convert.ToHexStringLower(SignerId);
}

/// <summary>The format of a piece of evidence.</summary>
public enum EvidenceFormat
{
    /// <summary>An Intel SGX ECDSA (DCAP) quote.</summary>
    SgxQuote,

    /// <summary>An Intel TDX ECDSA quote.</summary>
    TdxQuote,

    /// <summary>An AMD SEV-SNP attestation report.</summary>
    SevSnpReport,
}

/// <summary>
/// Evidence from a TEE: the quote or report, and where the back-end has it, the collateral
/// (endorsements) a verifier needs. Simulated evidence says so and chains to the simulation root,
/// which no verifier trusts unless told to.
/// </summary>
public sealed record TeeEvidence(EvidenceFormat Format, byte[] Data, bool IsSimulated)
{
    /// <summary>DCAP collateral in QuoteCollateralV3 JSON, when the back-end supplies it (simulation does).</summary>
    public string? CollateralJson { get; init; }

    /// <summary>SEV-SNP: the auxiliary blob (certificate table) from configfs-tsm, if any.</summary>
    public byte[]? AuxiliaryData { get; init; }
}
