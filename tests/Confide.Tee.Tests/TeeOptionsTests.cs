using Confide.Tee.Gramine;
using Confide.Tee.Simulation;
using Confide.Tee.Tests.Support;
using Confide.Tee.Tsm;

namespace Confide.Tee.Tests;

/// <summary>Back-end names and auto-detection. Every root points into a temp directory.</summary>
public sealed class TeeOptionsTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("simulation", TeeBackend.Simulation)]
    [InlineData("sim", TeeBackend.Simulation)]
    [InlineData("sgx-gramine", TeeBackend.SgxGramine)]
    [InlineData("gramine", TeeBackend.SgxGramine)]
    [InlineData("tsm", TeeBackend.Tsm)]
    [InlineData("tdx", TeeBackend.Tsm)]
    [InlineData("sev-snp", TeeBackend.Tsm)]
    [InlineData("auto", TeeBackend.Auto)]
    [InlineData("", TeeBackend.Auto)]
    [InlineData(null, TeeBackend.Auto)]
    [InlineData("  Gramine ", TeeBackend.SgxGramine)]
    [InlineData("SIM", TeeBackend.Simulation)]
    [InlineData("   ", TeeBackend.Auto)]
    public void ParseBackend_KnowsTheDocumentedNames(string? name, TeeBackend expected)
    {
        Assert.Equal(expected, TeeOptions.ParseBackend(name));
    }

    [Theory]
    [InlineData("sgx")]
    [InlineData("simulated")]
    [InlineData("sev")]
    [InlineData("gramine-sgx")]
    public void ParseBackend_RefusesUnknownNames(string name)
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => TeeOptions.ParseBackend(name));

        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TeeBackend.Auto)]
    [InlineData(TeeBackend.Simulation)]
    [InlineData(TeeBackend.SgxGramine)]
    [InlineData(TeeBackend.Tsm)]
    public void FormattedBackendNames_ParseBackToTheSameBackend(TeeBackend backend)
    {
        Assert.Equal(backend, TeeOptions.ParseBackend(TeeOptions.FormatBackend(backend)));
    }

    [Fact]
    public void Auto_PicksGramine_WhenItsRootHasAttestationType_EvenIfTsmExists()
    {
        TeeOptions options = Options(gramine: true, tsm: true);

        Assert.Equal(TeeBackend.SgxGramine, options.Resolve());
    }

    [Fact]
    public void Auto_PicksTsm_WhenOnlyItsRootExists()
    {
        Assert.Equal(TeeBackend.Tsm, Options(gramine: false, tsm: true).Resolve());
    }

    [Fact]
    public void Auto_IgnoresAGramineRootWithoutAttestationType()
    {
        TeeOptions options = Options(gramine: false, tsm: false);
        Directory.CreateDirectory(options.GramineRoot);

        Assert.Equal(TeeBackend.Simulation, options.Resolve());
    }

    [Fact]
    public void Auto_FallsBackToSimulation_WhenNeitherIsThere()
    {
        Assert.Equal(TeeBackend.Simulation, Options(gramine: false, tsm: false).Resolve());
    }

    [Theory]
    [InlineData(TeeBackend.Simulation)]
    [InlineData(TeeBackend.SgxGramine)]
    [InlineData(TeeBackend.Tsm)]
    public void AnExplicitBackend_IsTakenAsIs_WhateverIsInstalled(TeeBackend backend)
    {
        TeeOptions options = Options(gramine: true, tsm: true);
        options.Backend = backend;

        Assert.Equal(backend, options.Resolve());
    }

    [Fact]
    public async Task Create_OnAMachineWithoutTees_GivesASimulationInTheConfiguredStateDirectory()
    {
        TeeOptions options = Options(gramine: false, tsm: false);
        TeeIdentity identity = Identities.Simulated();

        using ITee tee = await options.CreateAsync(() => identity, TestContext.Current.CancellationToken);

        SimulationTee simulation = Assert.IsType<SimulationTee>(tee);
        Assert.Same(identity, simulation.Identity);
        Assert.Equal(Path.GetFullPath(options.SimulationStateDirectory!), simulation.Platform.StateDirectory);
    }

    [Fact]
    public async Task Create_WithGramineAvailable_GivesAGramineTee_WithoutAskingForASimulatedIdentity()
    {
        using var device = new GramineDirectory();
        TeeOptions options = Options(gramine: false, tsm: false);
        options.GramineRoot = device.Root;

        using ITee tee = await options.CreateAsync(() => throw new InvalidOperationException("not a simulation"), TestContext.Current.CancellationToken);

        Assert.IsType<GramineTee>(tee);
        Assert.Equal(TeeKind.SgxGramine, tee.Kind);
    }

    [Fact]
    public void Defaults_AreAutoAndTheRealDevicePaths()
    {
        var options = new TeeOptions();

        Assert.Equal(TeeBackend.Auto, options.Backend);
        Assert.Equal("/dev/attestation", options.GramineRoot);
        Assert.Equal("/sys/kernel/config/tsm/report", options.Tsm.Root);
        Assert.Null(options.Tsm.EntryName);
        Assert.Null(options.SimulationStateDirectory);
    }

    private TeeOptions Options(bool gramine, bool tsm)
    {
        string gramineRoot = _temp.Combine("attestation");
        string tsmRoot = _temp.Combine("tsm", "report");
        if (gramine)
        {
            Directory.CreateDirectory(gramineRoot);
            File.WriteAllText(Path.Combine(gramineRoot, "attestation_type"), "dcap");
        }

        if (tsm)
        {
            Directory.CreateDirectory(tsmRoot);
        }

        return new TeeOptions
        {
            GramineRoot = gramineRoot,
            Tsm = new TsmReportOptions { Root = tsmRoot },
            SimulationStateDirectory = _temp.Combine("simulation"),
        };
    }
}
