using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Confide.Ledger.Consensus;

/// <summary>
/// A node's public consensus address: an IP endpoint, or a DNS name and port. A name survives a
/// node that comes back with another IP address (a rescheduled Kubernetes pod), which matters
/// because the membership is static.
/// </summary>
/// <remarks>
/// The engine, the members list and the leader lookups compare endpoints by value, and
/// <see cref="DnsEndPoint"/> equality is ordinal on the host and includes the address family. So a
/// name is always kept in one form: its host in lower case and <see cref="AddressFamily.Unspecified"/>,
/// as <see cref="TryParse"/> builds it and <see cref="IsCanonical"/> checks it.
/// </remarks>
public static class NodeAddress
{
    private const int MaxNameLength = 253;
    private const int MaxLabelLength = 63;

    /// <summary>Parses <c>host:port</c>: an IPv4 address, a bracketed IPv6 address or a DNS name, and a port 1–65535.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out EndPoint? endPoint)
    {
        endPoint = null;
        int colon = value?.LastIndexOf(':') ?? -1;
        if (value is null || colon <= 0 || !TryParsePort(value.AsSpan(colon + 1), out int port))
        {
            return false;
        }

        string host = value[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            if (IPAddress.TryParse(host.AsSpan(1, host.Length - 2), out IPAddress? v6) && v6.AddressFamily == AddressFamily.InterNetworkV6)
            {
                endPoint = new IPEndPoint(v6, port);
            }
        }
        else if (LooksNumeric(host))
        {
            // Only a full dotted quad: IPAddress would also read "10.1" as 10.0.0.1.
            if (IsDottedQuad(host))
            {
                endPoint = new IPEndPoint(IPAddress.Parse(host), port);
            }
        }
        else if (IsDnsName(host))
        {
            endPoint = new DnsEndPoint(host.ToLowerInvariant(), port);
        }

        return endPoint is not null;
    }

    /// <summary>Parses <c>IP:port</c> (no names): where a server listens.</summary>
    public static bool TryParseIP([NotNullWhen(true)] string? value, [NotNullWhen(true)] out IPEndPoint? endPoint)
    {
        endPoint = TryParse(value, out EndPoint? parsed) ? parsed as IPEndPoint : null;
        return endPoint is not null;
    }

    /// <summary>A DNS host name (RFC 1123 labels of letters, digits and hyphens), not an address.</summary>
    public static bool IsDnsName(string? host)
    {
        if (string.IsNullOrEmpty(host) || host.Length > MaxNameLength || LooksNumeric(host))
        {
            return false;
        }

        foreach (string label in host.Split('.'))
        {
            if (label.Length is 0 or > MaxLabelLength || label[0] == '-' || label[^1] == '-' || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// True for the forms this ledger compares: an <see cref="IPEndPoint"/> with a port, or a
    /// <see cref="DnsEndPoint"/> with a lower-case DNS name and an unspecified address family.
    /// </summary>
    public static bool IsCanonical(EndPoint endPoint) => endPoint switch
    {
        null => throw new ArgumentNullException(nameof(endPoint)),
        IPEndPoint ip => ip.Port != 0,
        DnsEndPoint dns => dns.Port != 0 && dns.AddressFamily == AddressFamily.Unspecified && IsDnsName(dns.Host) && !dns.Host.Any(char.IsAsciiLetterUpper),
        _ => false,
    };

    /// <summary><c>host:port</c>, as <see cref="TryParse"/> reads it (<see cref="DnsEndPoint.ToString"/> adds the family).</summary>
    public static string Format(EndPoint endPoint) => endPoint switch
    {
        null => throw new ArgumentNullException(nameof(endPoint)),
        DnsEndPoint dns => $"{dns.Host}:{dns.Port.ToString(CultureInfo.InvariantCulture)}",
        _ => endPoint.ToString() ?? string.Empty,
    };

    /// <summary>The host alone: the IP address (without brackets) or the name.</summary>
    public static string Host(EndPoint endPoint) => endPoint switch
    {
        null => throw new ArgumentNullException(nameof(endPoint)),
        IPEndPoint ip => ip.Address.ToString(),
        DnsEndPoint dns => dns.Host,
        _ => throw new ArgumentException($"'{endPoint}' is neither an IP endpoint nor a DNS name.", nameof(endPoint)),
    };

    private static bool TryParsePort(ReadOnlySpan<char> text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= IPEndPoint.MaxPort;

    private static bool LooksNumeric(string host) => host.All(c => char.IsAsciiDigit(c) || c == '.');

    private static bool IsDottedQuad(string host)
    {
        string[] parts = host.Split('.');
        // No leading zeros: IPAddress reads "010" as octal.
        return parts.Length == 4 && parts.All(p => p.Length is > 0 and <= 3 && (p.Length == 1 || p[0] != '0')
            && int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int octet) && octet <= 255);
    }
}
