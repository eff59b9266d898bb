using Confide.Deploy.Ledger;

namespace Confide.Deploy.Tests;

public sealed class LedgerLauncherTests
{
    private static readonly LedgerLauncherSettings Settings = new()
    {
        StatefulSet = "confide-ledger",
        HeadlessService = "confide-ledger-nodes",
        Namespace = "confide",
        Replicas = 3,
        RpcPort = 8080,
        NodePort = 7100,
        DataDirectory = "/var/lib/confide/data",
        Tee = "sgx-gramine",
        ServiceCertificate = "/etc/confide/ledger-service/service_cert.pem",
        CodeIds = ["ab".PadRight(64, 'c')],
        Collateral = "https://global.acccache.azure.net/",
    };

    private const string Node0 = "confide-ledger-0.confide-ledger-nodes.confide.svc.cluster.local";
    private const string Node1 = "confide-ledger-1.confide-ledger-nodes.confide.svc.cluster.local";
    private const string Node2 = "confide-ledger-2.confide-ledger-nodes.confide.svc.cluster.local";

    [Fact]
    public void NodeZeroStartsTheServiceWithItsPeersAllNamedByTheirStableDnsNames()
    {
        IReadOnlyList<string> args = LedgerLauncher.Arguments(Settings, 0, ["/etc/confide/ledger-members/alice.pem"]);
        Assert.Equal(
        [
            "ledger", "start", "--data-dir", "/var/lib/confide/data",
            "--node-address", $"{Node0}:7100", "--node-listen", "0.0.0.0:7100",
            "--rpc-address", $"https://{Node0}:8080", "--rpc-listen", "0.0.0.0:8080", "--tee", "sgx-gramine",
            "--peer", $"{Node1}:7100=https://{Node1}:8080", "--peer", $"{Node2}:7100=https://{Node2}:8080",
            "--collateral", "https://global.acccache.azure.net/",
            "--member-cert", "/etc/confide/ledger-members/alice.pem", "--code-id", Settings.CodeIds[0],
        ], args);
    }

    [Fact]
    public void OtherNodesJoinThroughNodeZeroByNamePinningTheServiceCertificate()
    {
        IReadOnlyList<string> args = LedgerLauncher.Arguments(Settings, 2, ["/ignored.pem"]);
        Assert.Equal(
        [
            "ledger", "join", "--data-dir", "/var/lib/confide/data",
            "--node-address", $"{Node2}:7100", "--node-listen", "0.0.0.0:7100",
            "--rpc-address", $"https://{Node2}:8080", "--rpc-listen", "0.0.0.0:8080", "--tee", "sgx-gramine",
            "--peer", $"{Node0}:7100=https://{Node0}:8080", "--peer", $"{Node1}:7100=https://{Node1}:8080",
            "--collateral", "https://global.acccache.azure.net/",
            "--target", $"https://{Node0}:8080", "--service-cert", "/etc/confide/ledger-service/service_cert.pem",
        ], args);
    }

    [Fact]
    public void ANodeOutsideTheReplicasIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LedgerLauncher.Arguments(Settings, 3, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => LedgerLauncher.Arguments(Settings, -1, []));
    }

    [Fact]
    public void OrdinalsComeFromThePodName()
    {
        Assert.Equal(0, LedgerLauncher.Ordinal("confide-ledger-0", "confide-ledger"));
        Assert.Equal(12, LedgerLauncher.Ordinal("confide-ledger-12", "confide-ledger"));
        Assert.Throws<ArgumentException>(() => LedgerLauncher.Ordinal("confide-keys-0", "confide-ledger"));
        Assert.Throws<ArgumentException>(() => LedgerLauncher.Ordinal("confide-ledger-x", "confide-ledger"));
        Assert.Equal("confide-ledger-1.confide-ledger-nodes.confide.svc.cluster.local", LedgerLauncher.PodHost(Settings, 1));
    }

    [Fact]
    public void SettingsRoundTripAndRefuseUnknownFields()
    {
        LedgerLauncherSettings back = LedgerLauncherSettings.FromJson(Settings.ToJson());
        Assert.Equal(Settings.ToJson(), back.ToJson());
        Assert.Throws<System.Text.Json.JsonException>(() => LedgerLauncherSettings.FromJson(Settings.ToJson().Replace("\"replicas\"", "\"replica\"", StringComparison.Ordinal)));
    }
}
