using System.Buffers.Binary;
using System.Net.Sockets;
using Confide.Enclave.Calls;
using Confide.Enclave.Calls.Contracts;
using Confide.Enclave.Calls.Protocol;

namespace Confide.Enclave.Tests.Calls;

public interface ICalculator
{
    Task<int> AddAsync(int a, int b);

    Task<byte[]> EchoAsync(byte[] data);

    Task<string?> ConcatAsync(string? a, string? b);

    Task WaitAsync(int milliseconds, CancellationToken cancellationToken);

    ValueTask<long> NegateAsync(long value);

    ValueTask NothingAsync();

    Task<Point> MoveAsync(Point point, DayOfWeek day, bool flag, double scale, Guid id);

    Task ThrowAsync(string message);

    Task<int?> MaybeAsync(int? value);

    /// <summary>Holds its argument bytes until the channel closes.</summary>
    Task HoldAsync(byte[] data, CancellationToken cancellationToken);

    Task<int> CheckAsync(Positive value);
}

public sealed record Point(int X, int Y);

/// <summary>A type that validates in its constructor, with an exception type no decoder expects.</summary>
public sealed class Positive
{
    public Positive(int value) => Value = value >= 0 ? value : throw new OverflowException("negative");

    public int Value { get; }
}

public sealed class Calculator : ICalculator
{
    public int Cancelled;

    public Task<int> AddAsync(int a, int b) => Task.FromResult(a + b);

    public Task<byte[]> EchoAsync(byte[] data) => Task.FromResult(data);

    public Task<string?> ConcatAsync(string? a, string? b) => Task.FromResult(a is null || b is null ? null : a + b);

    public async Task WaitAsync(int milliseconds, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(milliseconds, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref Cancelled);
            throw;
        }
    }

    public ValueTask<long> NegateAsync(long value) => ValueTask.FromResult(-value);

    public ValueTask NothingAsync() => ValueTask.CompletedTask;

    public Task<Point> MoveAsync(Point point, DayOfWeek day, bool flag, double scale, Guid id) =>
        Task.FromResult(new Point((int)(point.X * scale) + (int)day, flag ? point.Y : -point.Y));

    public Task ThrowAsync(string message) => throw new ArgumentException(message);

    public Task<int?> MaybeAsync(int? value) => Task.FromResult(value is null ? (int?)null : value + 1);

    public Task HoldAsync(byte[] data, CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);

    public Task<int> CheckAsync(Positive value) => Task.FromResult(value.Value);
}

/// <summary>
/// A connected pair of Unix sockets in one process: the "enclave" end runs a real
/// <see cref="CallChannel"/> serving <see cref="ICalculator"/>; the "host" end is either another
/// channel with a typed proxy or raw bytes, so tests can send anything a malicious host could.
/// </summary>
internal sealed class ChannelHarness : IAsyncDisposable
{
    private readonly string _directory;

    private ChannelHarness(string directory, NetworkStream enclaveStream, NetworkStream hostStream, CallChannel enclave, Calculator target)
    {
        _directory = directory;
        EnclaveStream = enclaveStream;
        HostStream = hostStream;
        Enclave = enclave;
        Target = target;
    }

    public NetworkStream EnclaveStream { get; }

    public NetworkStream HostStream { get; }

    public CallChannel Enclave { get; }

    public Calculator Target { get; }

    public CallChannel? Host { get; private set; }

    public static async Task<ChannelHarness> CreateAsync(EnclaveCallOptions? enclaveOptions = null)
    {
        string directory = Directory.CreateTempSubdirectory("confide-ch-").FullName;
        string path = Path.Combine(directory, "s");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
        Socket server = await listener.AcceptAsync();
        var enclaveStream = new NetworkStream(server, ownsSocket: true);
        var hostStream = new NetworkStream(client, ownsSocket: true);
        var target = new Calculator();
        var enclave = new CallChannel(enclaveStream, enclaveOptions ?? new EnclaveCallOptions(), CallContract.For(typeof(ICalculator)), target, "host");
        enclave.Start();
        return new ChannelHarness(directory, enclaveStream, hostStream, enclave, target);
    }

    public ICalculator Proxy(EnclaveCallOptions? options = null)
    {
        Host = new CallChannel(HostStream, options ?? new EnclaveCallOptions(), null, null, "enclave");
        Host.Start();
        return CallProxy.Create<ICalculator>(Host);
    }

    public static ushort Ordinal(string name) =>
        CallContract.For(typeof(ICalculator)).Methods.Single(m => m.Name == name).Ordinal;

    public async Task SendRawAsync(FrameKind kind, ushort method, ulong callId, byte[] payload, uint? declaredLength = null)
    {
        byte[] frame = new byte[FrameHeader.Size + payload.Length];
        new FrameHeader(payload.Length, kind, method, callId).WriteTo(frame);
        if (declaredLength is uint length)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(frame, length);
        }

        payload.CopyTo(frame, FrameHeader.Size);
        await HostStream.WriteAsync(frame);
    }

    /// <summary>Reads one frame the enclave sent back.</summary>
    public async Task<(FrameKind Kind, ulong CallId, byte[] Payload)> ReadRawAsync(TimeSpan? timeout = null)
    {
        using var cancellation = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        byte[] header = new byte[FrameHeader.Size];
        await HostStream.ReadExactlyAsync(header, cancellation.Token);
        Assert.True(FrameHeader.TryRead(header, out FrameHeader parsed, out uint length, out _));
        byte[] payload = new byte[length];
        await HostStream.ReadExactlyAsync(payload, cancellation.Token);
        return (parsed.Kind, parsed.CallId, payload);
    }

    public static byte[] Arguments(params byte[][] values)
    {
        var bytes = new List<byte>();
        foreach (byte[] value in values)
        {
            byte[] length = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)value.Length);
            bytes.AddRange(length);
            bytes.AddRange(value);
        }

        return bytes.ToArray();
    }

    public static byte[] Int(int value)
    {
        byte[] bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        return bytes;
    }

    public async ValueTask DisposeAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        await Enclave.DisposeAsync();
        await HostStream.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
