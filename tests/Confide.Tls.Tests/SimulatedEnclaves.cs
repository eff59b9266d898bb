using System.Security.Cryptography;
using System.Text;
using Confide.Attestation.Verification;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls.Verification;

namespace Confide.Tls.Tests;

/// <summary>A private simulated platform and helpers for enclave identities, TEEs and policies on it.</summary>
internal sealed class SimulatedEnclaves : IDisposable
{
    private readonly DirectoryInfo _state = System.IO.Directory.CreateTempSubdirectory("confide-tls-tests-");

    public SimulatedEnclaves() => Platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_state.FullName, "sim"));

    public SimulatedPlatform Platform { get; }

    public string Directory => _state.FullName;

    public static TeeIdentity Identity(string name, ushort productId = 1, ushort securityVersion = 2, bool debug = false, string signer = "signer") =>
        new(TeeKind.Simulation, SHA256.HashData(Encoding.UTF8.GetBytes(name)), SHA256.HashData(Encoding.UTF8.GetBytes(signer)), productId, securityVersion, debug);

    public SimulationTee Tee(TeeIdentity identity) => new(Platform, identity);

    /// <summary>A policy admitting exactly <paramref name="identity"/> by its unique id, simulation allowed.</summary>
    public AttestedTlsPolicy PolicyFor(TeeIdentity identity, Action<AttestedTlsPolicy>? configure = null)
    {
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(Platform.RootCertificate);
        var policy = new AttestedTlsPolicy
        {
            UniqueId = identity.UniqueId,
            AllowSimulation = true,
            Collateral = new SimulatedCollateralProvider(Platform),
            Verifier = verifier,
        };
        configure?.Invoke(policy);
        return policy;
    }

    public void Dispose()
    {
        Platform.Dispose();
        _state.Delete(recursive: true);
    }
}
