using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Confide.Tee.Simulation;

/// <summary>
/// The identity a Confide service has on the simulation TEE, where no CPU measures it: MRENCLAVE
/// is SHA-256 over the service's code (its assemblies' names and bytes, in the order given);
/// MRSIGNER is SHA-256 of the service's fixed signer name, so that a newer build opens what an
/// older one sealed under the product policy, as a newer enclave from the same signer would.
/// </summary>
public static class SimulatedIdentity
{
    public static TeeIdentity Of(string signerName, ushort productId, params Assembly[] code)
    {
        using var measurement = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (Assembly assembly in code)
        {
            measurement.AppendData(Encoding.UTF8.GetBytes(assembly.GetName().Name!));
            if (!string.IsNullOrEmpty(assembly.Location))
            {
                measurement.AppendData(File.ReadAllBytes(assembly.Location));
            }
        }

        return new TeeIdentity(TeeKind.Simulation, measurement.GetHashAndReset(), SHA256.HashData(Encoding.UTF8.GetBytes(signerName)), productId, SecurityVersion: 1, Debug: false);
    }
}
