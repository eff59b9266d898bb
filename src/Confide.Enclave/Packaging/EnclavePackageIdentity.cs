namespace Confide.Enclave;

/// <summary>The identity an enclave package launches with: what SGX would put in its report.</summary>
public sealed record EnclavePackageIdentity(byte[] MrEnclave, byte[] MrSigner, ushort ProductId, ushort SecurityVersion, bool Debug)
{
    public string MrEnclaveHex => Convert.ToHexStringLower(MrEnclave);

    public string MrSignerHex => Convert.ToHexStringLower(MrSigner);
}
