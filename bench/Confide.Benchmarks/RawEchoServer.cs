using System.Buffers.Binary;
using System.Net.Sockets;

namespace Confide.Benchmarks;

/// <summary>
/// The baseline's server: a length-prefixed echo over a Unix socket in its own process, with the
/// same async socket I/O the channel uses, and nothing else.
/// </summary>
internal static class RawEchoServer
{
    public static async Task RunAsync(string socketPath)
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(1);
        using Socket connection = await listener.AcceptAsync();
        await using var stream = new NetworkStream(connection, ownsSocket: false);
        byte[] header = new byte[4];
        byte[] buffer = new byte[2 * 1024 * 1024];
        while (true)
        {
            try
            {
                await stream.ReadExactlyAsync(header);
            }
            catch (EndOfStreamException)
            {
                return;
            }

            int length = BinaryPrimitives.ReadInt32LittleEndian(header);
            await stream.ReadExactlyAsync(buffer.AsMemory(0, length));
            await stream.WriteAsync(header);
            await stream.WriteAsync(buffer.AsMemory(0, length));
        }
    }
}
