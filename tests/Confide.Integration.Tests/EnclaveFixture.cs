using System.Reflection;
using System.Security.Cryptography;
using Confide.Enclave;
using Confide.Enclave.Hosting;
using Confide.Enclave.Signing;
using Confide.Tee;

[assembly: AssemblyFixture(typeof(Confide.Integration.Tests.EnclaveFixture))]

namespace Confide.Integration.Tests;

/// <summary>
/// Shared by all integration tests: a signing key, a private simulation state directory, and
/// fresh signed copies of the test enclave's build output.
/// </summary>
public sealed class EnclaveFixture : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("confide-it-");

    public EnclaveFixture()
    {
        SigningKey = EnclaveSigningKey.Generate();
        StateDirectory = Path.Combine(_root.FullName, "simulation");
    }

    public RSA SigningKey { get; }

    public string StateDirectory { get; }

    public static string TestEnclaveBuild => Metadata("TestEnclaveDirectory");

    public static string CliDirectory => Metadata("ConfideCliDirectory");

    /// <summary>A fresh copy of the test enclave, optionally modified before signing, then signed.</summary>
    public string CreatePackage(Action<string>? beforeSigning = null, RSA? key = null)
    {
        string directory = Path.Combine(_root.FullName, "pkg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        foreach (string file in Directory.EnumerateFiles(TestEnclaveBuild))
        {
            if (file.EndsWith(".dll", StringComparison.Ordinal) || file.EndsWith(".json", StringComparison.Ordinal))
            {
                File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
            }
        }

        beforeSigning?.Invoke(directory);
        EnclavePackage.Sign(directory, key ?? SigningKey);
        return directory;
    }

    public EnclaveHostOptions Options(ITestHost? host = null, params string[] arguments)
    {
        var options = new EnclaveHostOptions
        {
            Tee = TeeBackend.Simulation,
            SimulationStateDirectory = StateDirectory,
            StandardOutput = TextWriter.Null,
            StandardError = TextWriter.Null,
            StartTimeout = TimeSpan.FromSeconds(60),
        };
        options.WithOcalls(host ?? new TestHostCalls());
        foreach (string argument in arguments)
        {
            options.Arguments.Add(argument);
        }

        return options;
    }

    public async Task<EnclaveHost<ITestEnclave>> LaunchAsync(string? package = null, EnclaveHostOptions? options = null) =>
        await EnclaveHost.LaunchAsync<ITestEnclave>(package ?? CreatePackage(), options ?? Options(), TestContext.Current.CancellationToken);

    public void Dispose()
    {
        SigningKey.Dispose();
        _root.Delete(recursive: true);
    }

    private static string Metadata(string key) =>
        typeof(EnclaveFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}

/// <summary>The ocalls the tests offer the enclave.</summary>
public sealed class TestHostCalls : ITestHost
{
    public Task<int> MultiplyAsync(int a, int b) => Task.FromResult(a * b);

    public Task<string> FailAsync() => throw new NotSupportedException("the host refuses");
}
