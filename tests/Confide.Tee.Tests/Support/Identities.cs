using System.Security.Cryptography;
using System.Text;

namespace Confide.Tee.Tests.Support;

/// <summary>Readable simulated enclave identities: measurements are SHA-256 of a name.</summary>
internal static class Identities
{
    public static TeeIdentity Simulated(
        string enclave = "enclave-a",
        string signer = "signer-a",
        ushort productId = 7,
        ushort securityVersion = 3,
        bool debug = false) =>
        new(TeeKind.Simulation, Measure(enclave), Measure(signer), productId, securityVersion, debug);

    public static byte[] Measure(string name) => SHA256.HashData(Encoding.UTF8.GetBytes(name));
}
