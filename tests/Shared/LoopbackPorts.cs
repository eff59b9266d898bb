using System.Net;
using System.Net.Sockets;

namespace Confide.Tests;

/// <summary>
/// Ports for test servers whose port must be known before they start (Raft members, URLs handed to
/// other processes). Asking the OS for port 0 and releasing it hands out a port from the ephemeral
/// range, where any outgoing connection of a parallel test may take it as its source port before the
/// server binds it ("address already in use"). These come from below that range (Linux: 32768+),
/// at random, checked free by binding, and never twice in one process.
/// </summary>
internal static class LoopbackPorts
{
    private const int First = 20_000;
    private const int Last = 32_000;
    private static readonly HashSet<int> Given = [];

    public static int Next()
    {
        lock (Given)
        {
            for (int attempt = 0; attempt < 1_000; attempt++)
            {
                int port = Random.Shared.Next(First, Last);
                if (Given.Contains(port))
                {
                    continue;
                }

                try
                {
                    using var probe = new TcpListener(IPAddress.Loopback, port);
                    probe.Start();
                }
                catch (SocketException)
                {
                    continue;
                }

                Given.Add(port);
                return port;
            }
        }

        throw new InvalidOperationException($"No free loopback port between {First} and {Last}.");
    }

    public static IPEndPoint NextEndPoint() => new(IPAddress.Loopback, Next());
}
