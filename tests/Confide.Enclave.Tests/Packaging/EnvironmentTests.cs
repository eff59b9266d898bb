using System.Text;
using Confide.Enclave.Manifest;

namespace Confide.Enclave.Tests.Packaging;

/// <summary>
/// The enclave's rules for the environment it starts with (<see cref="EnclaveEnvironment.Check"/>),
/// outside Gramine and inside it, where the measured Gramine manifest sets what the host cannot.
/// </summary>
public sealed class EnvironmentTests
{
    private static readonly EnclaveManifest Manifest = EnclaveManifest.Parse(Encoding.UTF8.GetBytes("""
        { "name": "app", "entryAssembly": "App.dll", "productId": 1, "securityVersion": 1, "debug": false,
          "heapSizeMiB": 64, "trustedFiles": ["*.dll"], "env": ["MODEL_NAME"] }
        """));

    private static readonly Dictionary<string, string> GramineManifestEnvironment = new(StringComparer.Ordinal)
    {
        ["LD_LIBRARY_PATH"] = "/lib:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu",
        ["SSL_CERT_FILE"] = "/etc/ssl/certs/ca-certificates.crt",
        ["SSL_CERT_DIR"] = "/etc/ssl/certs",
        ["HOME"] = "/tmp",
        ["DOTNET_EnableDiagnostics"] = "0",
    };

    [Fact]
    public void Outside_gramine_the_gramine_manifest_variables_are_the_hosts_loader_ones_refused_the_rest_withheld()
    {
        EnvironmentVerdict verdict = EnclaveEnvironment.Check(Manifest, GramineManifestEnvironment, underGramine: false);

        Assert.Equal(["LD_LIBRARY_PATH", "DOTNET_EnableDiagnostics"], verdict.Refused);
        Assert.Equal(["SSL_CERT_FILE", "SSL_CERT_DIR", "HOME"], verdict.Withheld);
    }

    [Fact]
    public void Inside_gramine_the_gramine_manifest_variables_are_kept_and_nothing_else_is_excepted()
    {
        Assert.Equal(GramineManifestEnvironment.Keys.Order(StringComparer.Ordinal), EnclaveEnvironment.GramineVariables.Order(StringComparer.Ordinal));
        EnvironmentVerdict clean = EnclaveEnvironment.Check(Manifest, GramineManifestEnvironment, underGramine: true);
        Assert.Empty(clean.Refused);
        Assert.Empty(clean.Withheld);

        // Variables that would load other code stay refused even there, as does a heap limit other than the measured one.
        var hostile = new Dictionary<string, string>(GramineManifestEnvironment)
        {
            ["LD_PRELOAD"] = "/tmp/evil.so",
            ["DOTNET_STARTUP_HOOKS"] = "/tmp/Hook.dll",
            ["DOTNET_GCHeapHardLimit"] = "0x10000000",
            ["MODEL_NAME"] = "resnet",
            ["HTTP_PROXY"] = "http://proxy",
        };
        EnvironmentVerdict verdict = EnclaveEnvironment.Check(Manifest, hostile, underGramine: true);
        Assert.Equal(["LD_PRELOAD", "DOTNET_STARTUP_HOOKS", "DOTNET_GCHeapHardLimit=0x10000000 (the measured heapSizeMiB gives 0x4000000)"], verdict.Refused);
        Assert.Equal(["HTTP_PROXY"], verdict.Withheld);
    }

    [Fact]
    public void The_runtime_variables_the_allowed_ones_and_the_measured_heap_limit_pass_anywhere()
    {
        var environment = new Dictionary<string, string>
        {
            ["CONFIDE_CHANNEL"] = "/tmp/x/channel",
            ["CONFIDE_TEE"] = "simulation",
            ["MODEL_NAME"] = "resnet",
            ["DOTNET_GCHeapHardLimit"] = EnclaveEnvironment.HeapLimitValue(64),
            ["DOTNET_NOLOGO"] = "1",
        };
        foreach (bool underGramine in new[] { false, true })
        {
            EnvironmentVerdict verdict = EnclaveEnvironment.Check(Manifest, environment, underGramine);
            Assert.Empty(verdict.Refused);
            Assert.Empty(verdict.Withheld);
        }
    }
}
