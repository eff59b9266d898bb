using Confide.Tee.Simulation;

namespace Confide.Tee.Tests.Support;

/// <summary>
/// One simulated platform in a private temp directory, shared by the tests of a class (creating
/// one costs five key pairs). Tests that need a second, different platform make their own.
/// </summary>
public sealed class PlatformFixture : IDisposable
{
    private readonly TempDirectory _temp = new();

    public PlatformFixture()
    {
        Platform = SimulatedPlatform.OpenOrCreate(_temp.Combine("state"));
    }

    public SimulatedPlatform Platform { get; }

    public SimulationTee Tee(TeeIdentity identity) => new(Platform, identity);

    public void Dispose()
    {
        Platform.Dispose();
        _temp.Dispose();
    }
}
