using System.Net;
using System.Net.Sockets;

namespace Confide.Ledger.Consensus.Tests;

/// <summary>Node addresses: IPs and DNS names in the one form the members list compares, and nothing else.</summary>
public sealed class NodeAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:7000", "127.0.0.1:7000")]
    [InlineData("[::1]:7000", "[::1]:7000")]
    [InlineData("localhost:7000", "localhost:7000")]
    [InlineData("Confide-Ledger-0.Confide-Ledger-Nodes.confide.svc.cluster.local:7100", "confide-ledger-0.confide-ledger-nodes.confide.svc.cluster.local:7100")]
    [InlineData("node-1:65535", "node-1:65535")]
    public void Addresses_parse_to_the_compared_form_and_format_back(string value, string formatted)
    {
        Assert.True(NodeAddress.TryParse(value, out EndPoint? endPoint));
        Assert.True(NodeAddress.IsCanonical(endPoint));
        Assert.Equal(formatted, NodeAddress.Format(endPoint));
        Assert.True(NodeAddress.TryParse(formatted, out EndPoint? again));
        Assert.Equal(endPoint, again);
    }

    [Fact]
    public void A_name_is_a_dns_endpoint_of_unspecified_family_and_an_ip_is_an_ip_endpoint()
    {
        Assert.True(NodeAddress.TryParse("Node-0.Ledger:7000", out EndPoint? name));
        Assert.Equal(new DnsEndPoint("node-0.ledger", 7000), name);
        Assert.Equal(AddressFamily.Unspecified, name.AddressFamily);
        Assert.Equal("node-0.ledger", NodeAddress.Host(name));

        Assert.True(NodeAddress.TryParse("10.1.2.3:7000", out EndPoint? ip));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.1.2.3"), 7000), ip);
        Assert.Equal("10.1.2.3", NodeAddress.Host(ip));
        Assert.True(NodeAddress.TryParse("[::1]:7000", out EndPoint? v6));
        Assert.Equal("::1", NodeAddress.Host(v6));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("localhost")]
    [InlineData("localhost:")]
    [InlineData(":7000")]
    [InlineData("localhost:0")]
    [InlineData("localhost:65536")]
    [InlineData("localhost:+7000")]
    [InlineData("localhost:7000 ")]
    [InlineData("10.1:7000")]
    [InlineData("010.0.0.1:7000")]
    [InlineData("256.0.0.1:7000")]
    [InlineData("1.2.3.4.5:7000")]
    [InlineData("::1:7000")]
    [InlineData("[localhost]:7000")]
    [InlineData("under_score:7000")]
    [InlineData("-node:7000")]
    [InlineData("node-:7000")]
    [InlineData("node..ledger:7000")]
    [InlineData("node.:7000")]
    [InlineData("https://node:7000")]
    [InlineData("node/7000:7000")]
    public void Garbage_is_not_an_address(string? value) =>
        Assert.False(NodeAddress.TryParse(value, out _), value);

    [Fact]
    public void A_label_of_64_characters_or_a_name_of_254_is_refused()
    {
        Assert.True(NodeAddress.TryParse($"{new string('a', 63)}.ledger:1", out _));
        Assert.False(NodeAddress.TryParse($"{new string('a', 64)}.ledger:1", out _));
        string longest = string.Join('.', Enumerable.Repeat(new string('a', 49), 5)) + ".abc"; // 253 characters
        Assert.True(NodeAddress.TryParse($"{longest}:1", out _));
        Assert.False(NodeAddress.TryParse($"{longest}c:1", out _));
    }

    [Fact]
    public void Listening_addresses_are_ips_only()
    {
        Assert.True(NodeAddress.TryParseIP("0.0.0.0:7000", out IPEndPoint? any));
        Assert.Equal(new IPEndPoint(IPAddress.Any, 7000), any);
        Assert.False(NodeAddress.TryParseIP("localhost:7000", out _));
        Assert.False(NodeAddress.TryParseIP("0.0.0.0", out _));
    }

    [Fact]
    public void Endpoints_outside_the_compared_form_are_not_canonical()
    {
        Assert.False(NodeAddress.IsCanonical(new DnsEndPoint("LocalHost", 7000)));
        Assert.False(NodeAddress.IsCanonical(new DnsEndPoint("localhost", 7000, AddressFamily.InterNetwork)));
        Assert.False(NodeAddress.IsCanonical(new DnsEndPoint("under_score", 7000)));
        Assert.False(NodeAddress.IsCanonical(new IPEndPoint(IPAddress.Loopback, 0)));
        Assert.True(NodeAddress.IsCanonical(new DnsEndPoint("localhost", 7000)));
        Assert.True(NodeAddress.IsCanonical(new IPEndPoint(IPAddress.Loopback, 7000)));
    }
}
