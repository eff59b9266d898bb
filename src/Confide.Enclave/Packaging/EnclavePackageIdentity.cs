namespace Confide.Enclave;

/// <summary>The identity an enclave package launches with: what SGX would put in its report.</summary>
public sealed record EnclavePackageIdentity(byte[] MrEnclave, byte[] MrSigner, ushort ProductId, ushort SecurityVersion, bool Debug)
{
    public string MrEnclaveHex => Convert.ToHexStringLower(MrEnclave);

    public string MrSignerHex => Convert.ToHexStringLower(MrSigner);

    /// <summary>Identities are equal when their measurements are, not when they share arrays.</summary>
    public bool Equals(EnclavePackageIdentity? other) =>
        other is not null
        && MrEnclave.AsSpan().SequenceEqual(other.MrEnclave)
        && MrSigner.AsSpan().SequenceEqual(other.MrSigner)
        && ProductId == other.ProductId
        && SecurityVersion == other.SecurityVersion
        && Debug == other.Debug;

    public override int GetHashCode() => HashCode.Combine(MrEnclaveHex, MrSignerHex, ProductId, SecurityVersion, Debug);
}
