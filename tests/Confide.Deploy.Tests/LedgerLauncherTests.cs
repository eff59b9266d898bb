using System.Net;
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
    };

    private static readonly IPAddress[] Addresses = [IPAddress.Parse("10.1.0.5"), IPAddress.Parse("10.1.1.7"), IPAddress.Parse("10.1.2.9")];

    [Fact]
    public void NodeZeroStartsTheServiceWithItsPeers()
    {
        IReadOnlyList<string> args = LedgerLauncher.Arguments(Settings, 0, Addresses, ["/etc/confide/ledger-members/alice.pem"]);
        Assert.Equal(
        [
            "ledger", "start", "--data-dir", "/var/lib/confide/data",
            "--node-address", "10.1.0.5:7100", "--rpc-address", "https://10.1.0.5:8080", "--tee", "sgx-gramine",
            "--peer", "10.1.1.7:7100=https://10.1.1.7:8080", "--peer", "10.1.2.9:7100=https://10.1.2.9:8080",
            "--member-cert", "/etc/confide/ledger-members/alice.pem", "--code-id", Settings.CodeIds[0],
        ], args);
    }

    [Fact]
    public void OtherNodesJoinThroughNodeZeroPinningTheServiceCertificate()
    {
        IReadOnlyList<string> args = LedgerLauncher.Arguments(Settings, 2, Addresses, ["/ignored.pem"]);
        Assert.Equal(
        [
            "ledger", "join", "--data-dir", "/var/lib/confide/data",
            "--node-address", "10.1.2.9:7100", "--rpc-address", "https://10.1.2.9:8080", "--tee", "sgx-gramine",
            "--peer", "10.1.0.5:7100=https://10.1.0.5:8080", "--peer", "10.1.1.7:7100=https://10.1.1.7:8080",
            "--target", "https://10.1.0.5:8080", "--service-cert", "/etc/confide/ledger-service/service_cert.pem",
        ], args);
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
    public async Task AddressesAreAwaitedUntilEveryNodeResolves()
    {
        int calls = 0;
        Task<IPAddress?> Resolve(string host, CancellationToken _)
        {
            calls++;
            // Node 2 appears on the second round only.
            IPAddress? address = host.StartsWith("confide-ledger-2.", StringComparison.Ordinal) && calls < 3 ? null : Addresses[int.Parse(host["confide-ledger-".Length..host.IndexOf('.', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture)];
            return Task.FromResult(address);
        }

        var log = new StringWriter();
        IReadOnlyList<IPAddress> resolved = await LedgerLauncher.ResolveAsync(Settings, 1, Addresses[1], Resolve, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(10), log, TestContext.Current.CancellationToken);
        Assert.Equal(Addresses, resolved);
        Assert.Contains("waiting for the addresses of ledger nodes 2", log.ToString(), StringComparison.Ordinal);

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => LedgerLauncher.ResolveAsync(Settings, 0, Addresses[0], (_, _) => Task.FromResult<IPAddress?>(null), TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50), TextWriter.Null, TestContext.Current.CancellationToken));
        Assert.Contains("confide-ledger-1.confide-ledger-nodes", timeout.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SettingsRoundTripAndRefuseUnknownFields()
    {
        LedgerLauncherSettings back = LedgerLauncherSettings.FromJson(Settings.ToJson());
        Assert.Equal(Settings.ToJson(), back.ToJson());
        Assert.Throws<System.Text.Json.JsonException>(() => LedgerLauncherSettings.FromJson(Settings.ToJson().Replace("\"replicas\"", "\"replica\"", StringComparison.Ordinal)));
    }
}
