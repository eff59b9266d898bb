using System.Text.Json.Nodes;
using Confide.Tee.Simulation;
using Confide.Tee.Tests.Support;

namespace Confide.Tee.Tests;

/// <summary>
/// The simulated machine's persistent state: created on first use, private to its owner,
/// stable across reopening, refused when exposed or damaged, and created once under contention.
/// </summary>
public sealed class SimulatedPlatformTests : IDisposable
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly TempDirectory _temp = new();

    /// <summary>Not created yet: the platform must create it.</summary>
    private string StateDirectory => _temp.Combine("state");

    private string StateFile => Path.Combine(StateDirectory, "platform.json");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void FirstUse_CreatesTheStateDirectory_OwnerOnly_WithAnOwnerOnlyPlatformFile()
    {
        Assert.False(Directory.Exists(StateDirectory));

        using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate(StateDirectory);

        Assert.Equal(Path.GetFullPath(StateDirectory), platform.StateDirectory);
        Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(StateDirectory));
        Assert.True(File.Exists(StateFile));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(StateFile));
        AssertOnlyStateFiles(StateDirectory);
    }

    [Fact]
    public void FirstUse_CreatesMissingParentDirectoriesToo()
    {
        string nested = _temp.Combine("a", "b", "state");

        using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate(nested);

        Assert.True(File.Exists(Path.Combine(nested, "platform.json")));
        Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(nested));
    }

    [Fact]
    public void Reopening_GivesTheSamePlatform_CertificatesKeysTcbAndSealSecret()
    {
        using SimulatedPlatform first = SimulatedPlatform.OpenOrCreate(StateDirectory);
        using SimulatedPlatform second = SimulatedPlatform.OpenOrCreate(StateDirectory);

        Assert.Equal(first.RootCertificate.RawData, second.RootCertificate.RawData);
        Assert.Equal(first.PckCaCertificate.RawData, second.PckCaCertificate.RawData);
        Assert.Equal(first.PckCertificate.RawData, second.PckCertificate.RawData);
        Assert.Equal(first.TcbSigningCertificate.RawData, second.TcbSigningCertificate.RawData);
        Assert.Equal(first.AttestationKey.ExportSubjectPublicKeyInfo(), second.AttestationKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(first.PckKey.ExportSubjectPublicKeyInfo(), second.PckKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(first.Fmspc, second.Fmspc);
        Assert.Equal(first.TcbComponents, second.TcbComponents);
        Assert.Equal(first.PceSvn, second.PceSvn);
        Assert.Equal(first.QeSvn, second.QeSvn);
        Assert.Equal(first.QeId, second.QeId);
        Assert.Equal(first.SealSecret.ToArray(), second.SealSecret.ToArray());
    }

    [Fact]
    public void AnotherStateDirectory_IsAnotherPlatform()
    {
        using SimulatedPlatform first = SimulatedPlatform.OpenOrCreate(StateDirectory);
        using SimulatedPlatform other = SimulatedPlatform.OpenOrCreate(_temp.Combine("other"));

        Assert.NotEqual(first.RootCertificate.RawData, other.RootCertificate.RawData);
        Assert.NotEqual(first.SealSecret.ToArray(), other.SealSecret.ToArray());
    }

    [Fact]
    public void PckKey_BelongsToThePckCertificate_AndRootIsSelfSigned()
    {
        using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate(StateDirectory);

        Assert.Equal(platform.PckCertificate.PublicKey.ExportSubjectPublicKeyInfo(), platform.PckKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(platform.RootCertificate.SubjectName.RawData, platform.RootCertificate.IssuerName.RawData);
        Assert.Contains("Simulated", platform.RootCertificate.Subject, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead | UnixFileMode.GroupExecute)]
    [InlineData(UnixFileMode.GroupWrite)]
    [InlineData(UnixFileMode.OtherRead | UnixFileMode.OtherExecute)]
    [InlineData(UnixFileMode.OtherExecute)]
    public void StateDirectory_AccessibleToOthers_IsRefused(UnixFileMode extra)
    {
        using (SimulatedPlatform.OpenOrCreate(StateDirectory))
        {
        }

        File.SetUnixFileMode(StateDirectory, OwnerOnlyDirectory | extra);

        TeeException error = Assert.Throws<TeeException>(() => SimulatedPlatform.OpenOrCreate(StateDirectory));
        Assert.Equal(TeeError.PlatformState, error.Error);
    }

    [Fact]
    public void ExistingEmptyStateDirectory_AccessibleToOthers_IsRefusedBeforeAnyKeyIsWritten()
    {
        Directory.CreateDirectory(StateDirectory);
        File.SetUnixFileMode(StateDirectory, OwnerOnlyDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

        TeeException error = Assert.Throws<TeeException>(() => SimulatedPlatform.OpenOrCreate(StateDirectory));

        Assert.Equal(TeeError.PlatformState, error.Error);
        Assert.Empty(Directory.GetFileSystemEntries(StateDirectory));
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.OtherWrite)]
    public void PlatformFile_ReadableOrWritableByOthers_IsRefused(UnixFileMode extra)
    {
        using (SimulatedPlatform.OpenOrCreate(StateDirectory))
        {
        }

        File.SetUnixFileMode(StateFile, OwnerOnlyFile | extra);

        TeeException error = Assert.Throws<TeeException>(() => SimulatedPlatform.OpenOrCreate(StateDirectory));
        Assert.Equal(TeeError.PlatformState, error.Error);
    }

    public static TheoryData<string, string> Corruptions => new()
    {
        { "garbage bytes", "\u0001\u0002 not json at all" },
        { "empty file", "" },
        { "JSON null", "null" },
        { "a JSON array", "[1, 2, 3]" },
        { "truncated JSON", "HALF" },
        { "a required field missing", "DROP:rootKey" },
        { "a field of the wrong type", "SET:pceSvn=\"thirteen\"" },
        { "another state version", "SET:version=99" },
        { "a certificate that is not DER", "SET:rootCertificate=\"AAECAwQ=\"" },
        { "a key that is not PKCS#8", "SET:attestationKey=\"AAECAwQ=\"" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void CorruptedPlatformFile_IsRefusedAsPlatformState(string what, string corruption)
    {
        using (SimulatedPlatform.OpenOrCreate(StateDirectory))
        {
        }

        File.WriteAllText(StateFile, Corrupt(File.ReadAllText(StateFile), corruption));

        TeeException error = Assert.Throws<TeeException>(() => SimulatedPlatform.OpenOrCreate(StateDirectory));
        Assert.True(error.Error == TeeError.PlatformState, $"{what}: got {error.Error}: {error.Message}");
    }

    [Fact]
    public void ManyThreadsCreatingAtOnce_EndWithOnePlatform_ThatEveryoneUses()
    {
        // The window this guards is narrow (File.Move is lstat-then-rename on Unix: two creators
        // that both see no file both rename, and the last one silently replaces the first's).
        // 40 rounds of 8 threads caught that every time in trials; they take about 2 s.
        const int Threads = 8;
        for (int round = 0; round < 40; round++)
        {
            string directory = _temp.Combine($"race-{round}");
            using var start = new Barrier(Threads);
            var platforms = new SimulatedPlatform[Threads];
            var errors = new Exception?[Threads];
            Thread[] threads = Enumerable.Range(0, Threads).Select(i => new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    platforms[i] = SimulatedPlatform.OpenOrCreate(directory);
                }
                catch (Exception ex)
                {
                    errors[i] = ex;
                }
            })).ToArray();

            foreach (Thread thread in threads)
            {
                thread.Start();
            }

            foreach (Thread thread in threads)
            {
                thread.Join();
            }

            Assert.All(errors, Assert.Null);
            try
            {
                using SimulatedPlatform reopened = SimulatedPlatform.OpenOrCreate(directory);
                Assert.All(platforms, p => Assert.Equal(reopened.RootCertificate.RawData, p.RootCertificate.RawData));
                Assert.All(platforms, p => Assert.Equal(reopened.SealSecret.ToArray(), p.SealSecret.ToArray()));
                Assert.All(platforms, p => Assert.Equal(reopened.AttestationKey.ExportSubjectPublicKeyInfo(), p.AttestationKey.ExportSubjectPublicKeyInfo()));

                // No creator's temporary file is left behind.
                AssertOnlyStateFiles(directory);
            }
            finally
            {
                foreach (SimulatedPlatform platform in platforms)
                {
                    platform.Dispose();
                }
            }
        }
    }

    [Fact]
    public void DefaultStateDirectory_FollowsConfideSimulationDir()
    {
        string? saved = Environment.GetEnvironmentVariable(SimulatedPlatform.StateDirectoryVariable);
        try
        {
            Environment.SetEnvironmentVariable(SimulatedPlatform.StateDirectoryVariable, StateDirectory);
            Assert.Equal(StateDirectory, SimulatedPlatform.DefaultStateDirectory);
        }
        finally
        {
            Environment.SetEnvironmentVariable(SimulatedPlatform.StateDirectoryVariable, saved);
        }
    }

    /// <summary>platform.json, and the (owner-only) lock that serializes its creation; no temporary files.</summary>
    private static void AssertOnlyStateFiles(string directory)
    {
        string[] names = Directory.GetFileSystemEntries(directory).Select(p => Path.GetFileName(p)!).ToArray();
        Assert.Contains("platform.json", names);
        Assert.Subset(new HashSet<string> { "platform.json", "platform.lock" }, names.ToHashSet());
        foreach (string name in names)
        {
            Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(Path.Combine(directory, name)));
        }
    }

    /// <summary>Applies one corruption recipe from <see cref="Corruptions"/> to the state JSON.</summary>
    private static string Corrupt(string json, string recipe)
    {
        if (recipe == "HALF")
        {
            return json[..(json.Length / 2)];
        }

        if (recipe.StartsWith("DROP:", StringComparison.Ordinal))
        {
            JsonObject state = JsonNode.Parse(json)!.AsObject();
            Assert.True(state.Remove(recipe["DROP:".Length..]));
            return state.ToJsonString();
        }

        if (recipe.StartsWith("SET:", StringComparison.Ordinal))
        {
            JsonObject state = JsonNode.Parse(json)!.AsObject();
            string[] assignment = recipe["SET:".Length..].Split('=', 2);
            Assert.True(state.ContainsKey(assignment[0]));
            state[assignment[0]] = JsonNode.Parse(assignment[1]);
            return state.ToJsonString();
        }

        return recipe;
    }
}
