using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Confide.Tee;

namespace Confide.AttestationService.Hosting;

/// <summary>
/// The identity the attestation service has on the simulation TEE, where no CPU measures it. On a
/// real TEE (Gramine, TDX) the hardware reports the identity and this is not used.
/// </summary>
public static class ServiceIdentity
{
    /// <summary>The product id the service seals its keys under.</summary>
    public const ushort ProductId = 1;

    /// <summary>
    /// MRENCLAVE: SHA-256 over the service's code (its assemblies, in a fixed order); MRSIGNER: a
    /// constant for the Confide attestation service, so that a newer build opens the keys an older
    /// one sealed (product policy), as a newer enclave from the same signer would.
    /// </summary>
    public static TeeIdentity Simulated()
    {
        using var code = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Assembly[] measured =
        [
            typeof(AttestationEngine).Assembly,
            typeof(Confide.Attestation.Verification.QuoteVerifier).Assembly,
            typeof(Confide.Attestation.Policy.AttestationPolicy).Assembly,
            typeof(ITee).Assembly,
        ];
        foreach (Assembly assembly in measured)
        {
            code.AppendData(Encoding.UTF8.GetBytes(assembly.GetName().Name!));
            if (!string.IsNullOrEmpty(assembly.Location))
            {
                code.AppendData(File.ReadAllBytes(assembly.Location));
            }
        }

        byte[] signer = SHA256.HashData("Confide attestation service"u8);
        return new TeeIdentity(TeeKind.Simulation, code.GetHashAndReset(), signer, ProductId, SecurityVersion: 1, Debug: false);
    }
}
