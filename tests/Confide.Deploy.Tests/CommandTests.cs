using System.CommandLine;

namespace Confide.Deploy.Tests;

public sealed class CommandTests
{
    private static Task<int> Invoke(params string[] args)
    {
        var root = new RootCommand("test") { DeployCommand.Create() };
        return root.Parse(args).InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task ManifestsAreWrittenFromAValuesFileAndBadValuesFail()
    {
        string directory = Directory.CreateTempSubdirectory("confide-deploy-cmd-").FullName;
        try
        {
            string values = Path.Combine(directory, "values.yaml");
            await File.WriteAllTextAsync(values, TestValues.Simulation, TestContext.Current.CancellationToken);
            Assert.Equal(0, await Invoke("deploy", "manifests", "--values", values, "--out", Path.Combine(directory, "out")));
            Assert.Equal(4, Directory.GetFiles(Path.Combine(directory, "out"), "*.yaml").Length);

            await File.WriteAllTextAsync(values, "namespace: confide\nimage: r.example/c:1\nservices:\n  ledger: {replicas: -1}\n", TestContext.Current.CancellationToken);
            Assert.Equal(1, await Invoke("deploy", "manifests", "--values", values, "--out", Path.Combine(directory, "bad")));
            Assert.False(Directory.Exists(Path.Combine(directory, "bad")));
            Assert.Equal(1, await Invoke("deploy", "manifests", "--values", Path.Combine(directory, "missing.yaml"), "--out", Path.Combine(directory, "bad")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task InstallFileMakesAnOwnerOnlyCopy()
    {
        string directory = Directory.CreateTempSubdirectory("confide-deploy-cmd-").FullName;
        try
        {
            string source = Path.Combine(directory, "platform.json");
            await File.WriteAllTextAsync(source, "{\"x\":1}", TestContext.Current.CancellationToken);
            string target = Path.Combine(directory, "simulation", "platform.json");
            Assert.Equal(0, await Invoke("deploy", "install-file", "--from", source, "--to", target));
            Assert.Equal("{\"x\":1}", await File.ReadAllTextAsync(target, TestContext.Current.CancellationToken));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(target)!));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task TheLedgerLauncherRunsTheLedgerCommandOfItsOwnCommandTree()
    {
        string directory = Directory.CreateTempSubdirectory("confide-deploy-cmd-").FullName;
        try
        {
            string config = Path.Combine(directory, "launcher.json");
            await File.WriteAllTextAsync(config, new Ledger.LedgerLauncherSettings
            {
                StatefulSet = "confide-ledger", HeadlessService = "confide-ledger-nodes", Namespace = "confide", Replicas = 1,
                RpcPort = 8080, NodePort = 7100, DataDirectory = "/data", Tee = "simulation", AllowSimulation = true, ServiceCertificate = "/none",
            }.ToJson(), TestContext.Current.CancellationToken);

            // A stand-in 'ledger start' records what the launcher passes it.
            string[]? seen = null;
            var ledger = new Command("ledger");
            var start = new Command("start");
            var rest = new Argument<string[]>("rest") { Arity = ArgumentArity.ZeroOrMore };
            start.Arguments.Add(rest);
            start.TreatUnmatchedTokensAsErrors = false;
            start.SetAction(result => { seen = [.. result.Tokens.Select(t => t.Value).Skip(2)]; return 7; });
            ledger.Subcommands.Add(start);
            var root = new RootCommand("test") { DeployCommand.Create(), ledger };
            Environment.SetEnvironmentVariable("POD_NAME", "confide-ledger-0");
            try
            {
                int code = await root.Parse(["deploy", "ledger-node", "--config", config]).InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);
                Assert.Equal(7, code);
            }
            finally
            {
                Environment.SetEnvironmentVariable("POD_NAME", null);
            }

            Assert.NotNull(seen);
            const string Name = "confide-ledger-0.confide-ledger-nodes.confide.svc.cluster.local";
            Assert.Equal(["--data-dir", "/data", "--node-address", $"{Name}:7100", "--node-listen", "0.0.0.0:7100", "--rpc-address", $"https://{Name}:8080", "--rpc-listen", "0.0.0.0:8080", "--tee", "simulation", "--allow-simulation"], seen);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
