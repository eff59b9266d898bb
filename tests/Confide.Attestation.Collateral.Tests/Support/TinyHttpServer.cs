using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Confide.Attestation.Collateral.Tests.Support;

/// <summary>A request as the server saw it: the request target (path and query).</summary>
internal sealed record TestRequest(string Method, string Target)
{
    public string Path => Target.Split('?')[0];

    public string Query => Target.Contains('?') ? Target[(Target.IndexOf('?') + 1)..] : "";
}

internal sealed record TestResponse(int Status, byte[] Body, IReadOnlyList<KeyValuePair<string, string>> Headers, TimeSpan Delay = default, bool OmitContentLength = false)
{
    public static TestResponse Text(int status, string body) => new(status, Encoding.UTF8.GetBytes(body), []);
}

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 with a port the OS picks (a TcpListener bound to port 0
/// is the server itself, so there is no window for another process to take the port). One request
/// per connection (<c>Connection: close</c>), which HttpClient handles.
/// </summary>
internal sealed class TinyHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<TestRequest, TestResponse> _handler;
    private readonly Task _acceptLoop;
    private readonly ConcurrentBag<Task> _connections = [];

    public TinyHttpServer(Func<TestRequest, TestResponse> handler)
    {
        _handler = handler;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public ConcurrentQueue<TestRequest> Requests { get; } = new();

    public int Hits(string pathPrefix) => Requests.Count(r => r.Target.StartsWith(pathPrefix, StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(_connections);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket = await _listener.AcceptSocketAsync(_stop.Token);
            _connections.Add(ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                TestRequest? request = await ReadRequestAsync(socket);
                if (request is null)
                {
                    return;
                }

                Requests.Enqueue(request);
                TestResponse response = _handler(request);
                if (response.Delay > TimeSpan.Zero)
                {
                    await Task.Delay(response.Delay, _stop.Token);
                }

                var head = new StringBuilder()
                    .Append("HTTP/1.1 ").Append(response.Status).Append(' ').Append(Reason(response.Status)).Append("\r\n")
                    .Append("Connection: close\r\n");
                if (!response.OmitContentLength)
                {
                    head.Append("Content-Length: ").Append(response.Body.Length).Append("\r\n");
                }

                foreach ((string name, string value) in response.Headers)
                {
                    head.Append(name).Append(": ").Append(value).Append("\r\n");
                }

                head.Append("\r\n");
                await socket.SendAsync(Encoding.ASCII.GetBytes(head.ToString()), SocketFlags.None, _stop.Token);
                await socket.SendAsync(response.Body, SocketFlags.None, _stop.Token);
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The client gave up (timeout tests) or the server is stopping.
            }
        }
    }

    private async Task<TestRequest?> ReadRequestAsync(Socket socket)
    {
        byte[] buffer = new byte[16 * 1024];
        int length = 0;
        while (length < buffer.Length)
        {
            int read = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, _stop.Token);
            if (read == 0)
            {
                return null;
            }

            length += read;
            string text = Encoding.ASCII.GetString(buffer, 0, length);
            if (text.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                string[] requestLine = text[..text.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
                return new TestRequest(requestLine[0], requestLine[1]);
            }
        }

        return null;
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
}
