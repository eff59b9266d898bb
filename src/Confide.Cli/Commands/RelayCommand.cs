using System.CommandLine;
using System.Net;
using System.Net.Sockets;

namespace Confide.Cli.Commands;

/// <summary>
/// <c>confide relay</c>: what an untrusted host or ingress does with an enclave's traffic — forward
/// TCP bytes both ways — while recording every byte it forwards, so one can check that nothing
/// readable crosses it.
/// </summary>
internal static class RelayCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "Where to listen (IP:port; port 0 picks a free one).", DefaultValueFactory = _ => "127.0.0.1:0" };
        var target = new Option<string>("--target") { Description = "Where to forward (host:port).", Required = true };
        var record = new Option<string?>("--record") { Description = "Append every forwarded byte (both directions) to this file." };
        var command = new Command("relay", "Forward TCP connections to a target, optionally recording every byte (an untrusted host's view).") { listen, target, record };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            IPEndPoint endpoint = IPEndPoint.Parse(result.GetValue(listen)!);
            string[] to = result.GetValue(target)!.Split(':');
            if (to.Length != 2 || !int.TryParse(to[1], out int targetPort))
            {
                throw new ArgumentException("--target is host:port.");
            }

            using var listener = new TcpListener(endpoint);
            listener.Start();
            await using FileStream? recording = result.GetValue(record) is { } path ? new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read) : null;
            var writeLock = new SemaphoreSlim(1, 1);
            Console.WriteLine($"relay: {listener.LocalEndpoint} -> {to[0]}:{targetPort}");
            Console.Out.Flush();
            while (!cancellationToken.IsCancellationRequested)
            {
                TcpClient inbound = await listener.AcceptTcpClientAsync(cancellationToken);
                _ = Task.Run(async () =>
                {
                    using (inbound)
                    using (var outbound = new TcpClient())
                    {
                        try
                        {
                            await outbound.ConnectAsync(to[0], targetPort, cancellationToken);
                            NetworkStream a = inbound.GetStream(), b = outbound.GetStream();
                            await Task.WhenAny(PumpAsync(a, b, recording, writeLock, cancellationToken), PumpAsync(b, a, recording, writeLock, cancellationToken));
                        }
                        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
                        {
                        }
                    }
                }, cancellationToken);
            }

            return 0;
        }));
        return command;
    }

    private static async Task PumpAsync(NetworkStream from, NetworkStream to, FileStream? recording, SemaphoreSlim writeLock, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[64 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (recording is not null)
            {
                await writeLock.WaitAsync(cancellationToken);
                try
                {
                    await recording.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    await recording.FlushAsync(cancellationToken);
                }
                finally
                {
                    writeLock.Release();
                }
            }

            await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
    }
}
