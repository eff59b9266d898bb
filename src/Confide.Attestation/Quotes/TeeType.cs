namespace Confide.Attestation.Quotes;

/// <summary>The TEE that produced a quote (header bytes 4..8).</summary>
public enum TeeType : uint
{
    Sgx = 0x00000000,
    Tdx = 0x00000081,
}
