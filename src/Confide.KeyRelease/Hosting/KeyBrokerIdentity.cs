using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Confide.Tee;

namespace Confide.KeyRelease.Hosting;

/// <summary>
/// The identity the key broker has on the simulation TEE, where no CPU measures it. On a real TEE
/// (Gramine, TDX) the hardware reports the identity and this is not used.
/// </summary>
public static class KeyBrokerIdentity
{
    /// <summary>The product id the broker seals its keys under (the attestation service is 1).</summary>
    public const ushort ProductId = 2;

    /// <summary>
    /// MRENCLAVE: SHA-256 over the broker's code (its assemblies, in a fixed order); MRSIGNER: a
    /// constant for the Confide key broker, so that a newer build opens the keys an older one sealed
    /// (product policy), as a newer enclave from the same signer would.
    /// </summary>
    public static TeeIdentity Simulated()
    {
        using var code = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Assembly[] measured =
        [
            typeof(KeyBrokerServer).Assembly,
            typeof(Confide.AttestationService.AdminAuthenticationOptions).Assembly,
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

        byte[] signer = SHA256.HashData("Confide key broker"u8);
        return new TeeIdentity(TeeKind.Simulation, code.GetHashAndReset(), signer, ProductId, SecurityVersion: 1, Debug: false);
    }
}
