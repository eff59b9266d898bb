using System.Net;
using Confide.Ledger.Node.Hosting;

namespace Confide.Ledger.Node.Tests;

/// <summary>The addresses of <c>confide ledger start|join|recover</c>: IPs or DNS names where nodes are reached, IPs where servers listen, garbage refused naming the option.</summary>
public sealed class LedgerNodeCommandsTests
{
    [Fact]
    public void Node_addresses_take_an_ip_or_a_dns_name()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.1.0.5"), 7100), LedgerNodeCommands.ParseNodeAddress("10.1.0.5:7100", "--node-address"));
        Assert.Equal(new DnsEndPoint("confide-ledger-0.confide-ledger-nodes.confide.svc.cluster.local", 7100), LedgerNodeCommands.ParseNodeAddress("confide-ledger-0.confide-ledger-nodes.confide.svc.cluster.local:7100", "--node-address"));
        Assert.Equal(new DnsEndPoint("node-0", 7100), LedgerNodeCommands.ParseNodeAddress("Node-0:7100", "--node-address"));
        Assert.Equal(new Uri("https://node-0.ledger:8080"), LedgerNodeCommands.ParseUrl("https://node-0.ledger:8080", "--rpc-address"));
        Assert.Equal(new Uri("https://10.1.0.5:8080"), LedgerNodeCommands.ParseUrl("https://10.1.0.5:8080", "--target"));
        Assert.Equal(new IPEndPoint(IPAddress.Any, 7100), LedgerNodeCommands.ParseListen("0.0.0.0:7100", "--node-listen"));
    }

    [Fact]
    public void Peers_map_names_or_ips_to_their_urls_each_node_once()
    {
        Dictionary<EndPoint, Uri> peers = LedgerNodeCommands.ParsePeers(["node-1.ledger:7000=https://node-1.ledger:8000", "10.1.2.9:7000=https://10.1.2.9:8000"]);
        Assert.Equal(new Uri("https://node-1.ledger:8000"), peers[new DnsEndPoint("node-1.ledger", 7000)]);
        Assert.Equal(new Uri("https://10.1.2.9:8000"), peers[new IPEndPoint(IPAddress.Parse("10.1.2.9"), 7000)]);

        ArgumentException twice = Assert.Throws<ArgumentException>(() => LedgerNodeCommands.ParsePeers(["node-1:7000=https://node-1:8000", "NODE-1:7000=https://node-1:8001"]));
        Assert.Contains("node-1:7000 is given twice", twice.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--node-address", "node_1:7000")]
    [InlineData("--node-address", "node-1")]
    [InlineData("--node-address", "node-1:0")]
    [InlineData("--node-address", "10.1:7000")]
    [InlineData("--node-address", "https://node-1:7000")]
    public void A_bad_node_address_is_refused_naming_the_option(string option, string value)
    {
        ArgumentException refused = Assert.Throws<ArgumentException>(() => LedgerNodeCommands.ParseNodeAddress(value, option));
        Assert.StartsWith($"{option} '{value}' is not host:port", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--node-listen", "node-1:7000")]
    [InlineData("--rpc-listen", "localhost:8000")]
    [InlineData("--rpc-listen", "0.0.0.0")]
    [InlineData("--node-listen", "0.0.0.0:70000")]
    public void A_listening_address_must_be_an_ip_and_is_refused_naming_the_option(string option, string value)
    {
        ArgumentException refused = Assert.Throws<ArgumentException>(() => LedgerNodeCommands.ParseListen(value, option));
        Assert.StartsWith($"{option} '{value}' is not IP:port", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--rpc-address", "http://node-1:8000")]
    [InlineData("--rpc-address", "node-1:8000")]
    [InlineData("--target", "https://node_1:8000")]
    [InlineData("--target", "https://-node:8000")]
    [InlineData("--rpc-address", "not a url")]
    public void A_bad_url_is_refused_naming_the_option(string option, string value)
    {
        ArgumentException refused = Assert.Throws<ArgumentException>(() => LedgerNodeCommands.ParseUrl(value, option));
        Assert.StartsWith($"{option} '{value}' is not an https URL", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--election-timeout-ms", "10")]
    [InlineData("--election-timeout-ms", "-1000")]
    [InlineData("--request-timeout-ms", "0")]
    [InlineData("--request-timeout-ms", "-5")]
    public async Task A_timeout_that_cannot_work_is_refused_before_anything_starts(string option, string value)
    {
        string data = Path.Combine(Path.GetTempPath(), $"confide-timeouts-{Guid.NewGuid():N}");
        int exit = await LedgerNodeCommands.Start().Parse(["--data-dir", data, "--node-address", "127.0.0.1:7000", "--rpc-address", "https://127.0.0.1:8000", "--allow-simulation", option, value])
            .InvokeAsync(cancellationToken: TestContext.Current.CancellationToken)
            .WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken); // accepted, the node would start and serve
        Assert.Equal(1, exit);
        Assert.False(Directory.Exists(data));
    }

    [Theory]
    [InlineData("node-1:7000")]
    [InlineData("node-1:7000=node-1:8000")]
    [InlineData("node_1:7000=https://node-1:8000")]
    public void A_bad_peer_is_refused_naming_the_option(string value) =>
        Assert.StartsWith("--peer ", Assert.Throws<ArgumentException>(() => LedgerNodeCommands.ParsePeers([value])).Message, StringComparison.Ordinal);
}
