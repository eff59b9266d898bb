using System.Security.Cryptography;
using System.Text;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Attestation.Simulation.Tests;

/// <summary>
/// A simulated platform in its own private temp directory, created at a fixed whole second, and
/// verifiers pinned to that time. Disposing it deletes the directory.
/// </summary>
internal sealed class SimulatedPlatformScope : IDisposable
{
    private readonly string _directory;

    public SimulatedPlatformScope()
    {
        // mkdtemp: mode 0700, as the platform requires for its state directory.
        _directory = Directory.CreateTempSubdirectory("confide-simulation-verifier-tests-").FullName;
        Now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_directory, "state"), new FixedClock(Now));
    }

    public DateTimeOffset Now { get; }

    public SimulatedPlatform Platform { get; }

    public static TeeIdentity Identity(string enclave = "enclave-a", string signer = "signer-a", ushort productId = 7, ushort securityVersion = 3, bool debug = false) =>
        new(TeeKind.Simulation, Measure(enclave), Measure(signer), productId, securityVersion, debug);

    public static byte[] Measure(string name) => SHA256.HashData(Encoding.UTF8.GetBytes(name));

    /// <summary>Evidence from a SimulationTee with <paramref name="identity"/>: the quote and the collateral it carries as JSON.</summary>
    public async Task<(byte[] Quote, QuoteCollateral Collateral)> EvidenceAsync(TeeIdentity identity, byte[]? reportData = null)
    {
        using var tee = new SimulationTee(Platform, identity);
        TeeEvidence evidence = await tee.GetEvidenceAsync(reportData ?? "nonce"u8.ToArray(), TestContext.Current.CancellationToken);
        Assert.True(evidence.IsSimulated);
        Assert.Equal(EvidenceFormat.SgxQuote, evidence.Format);
        Assert.NotNull(evidence.CollateralJson);
        return (evidence.Data, QuoteCollateral.FromJson(evidence.CollateralJson));
    }

    /// <summary>A verifier at <see cref="Now"/> (+ <paramref name="offset"/>), with this platform's root as a simulation root unless told otherwise.</summary>
    public QuoteVerifier Verifier(bool withSimulationRoot = true, TimeSpan offset = default, Action<QuoteVerifierOptions>? configure = null)
    {
        var options = new QuoteVerifierOptions { TimeProvider = new FixedClock(Now + offset) };
        if (withSimulationRoot)
        {
            options.SimulationRoots.Add(Platform.RootCertificate);
        }

        configure?.Invoke(options);
        return new QuoteVerifier(options);
    }

    public void Dispose()
    {
        Platform.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
