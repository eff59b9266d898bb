using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Confide.Enclave.Calls.Protocol;

/// <summary>
/// The two frames that open a channel, read and written with exact lengths before the call loop
/// starts. Hello proves the connecting process is the one the host launched (it knows the launch
/// token); Ready carries the fingerprints of the contracts the enclave serves and expects.
/// </summary>
internal static class Handshake
{
    public const int TokenSize = 32;
    private const int HelloSize = 4 + TokenSize;
    private const int ReadySize = 64;

    public static Task WriteHelloAsync(Stream stream, ReadOnlySpan<byte> token, CancellationToken cancellationToken)
    {
        byte[] payload = new byte[HelloSize];
        BinaryPrimitives.WriteInt32LittleEndian(payload, FrameHeader.ProtocolVersion);
        token.CopyTo(payload.AsSpan(4));
        return WriteAsync(stream, FrameKind.Hello, payload, cancellationToken);
    }

    /// <summary>Reads Hello and checks the token in constant time.</summary>
    public static async Task ReadHelloAsync(Stream stream, byte[] expectedToken, CancellationToken cancellationToken)
    {
        byte[] payload = await ReadAsync(stream, FrameKind.Hello, HelloSize, cancellationToken).ConfigureAwait(false);
        int version = BinaryPrimitives.ReadInt32LittleEndian(payload);
        if (version != FrameHeader.ProtocolVersion)
        {
            throw new EnclaveCallException(EnclaveCallError.ContractMismatch, $"The enclave speaks channel protocol {version}; this host speaks {FrameHeader.ProtocolVersion}.");
        }

        if (!CryptographicOperations.FixedTimeEquals(payload.AsSpan(4), expectedToken))
        {
            throw new EnclaveCallException(EnclaveCallError.MalformedMessage, "The process that connected does not hold the launch token.");
        }
    }

    public static Task WriteReadyAsync(Stream stream, byte[] servedFingerprint, byte[] expectedFingerprint, CancellationToken cancellationToken) =>
        WriteAsync(stream, FrameKind.Ready, [.. servedFingerprint, .. expectedFingerprint], cancellationToken);

    public static async Task<(byte[] Served, byte[] Expected)> ReadReadyAsync(Stream stream, CancellationToken cancellationToken)
    {
        byte[] payload = await ReadAsync(stream, FrameKind.Ready, ReadySize, cancellationToken).ConfigureAwait(false);
        return (payload[..32], payload[32..]);
    }

    private static async Task WriteAsync(Stream stream, FrameKind kind, byte[] payload, CancellationToken cancellationToken)
    {
        byte[] frame = new byte[FrameHeader.Size + payload.Length];
        new FrameHeader(payload.Length, kind, 0, 0).WriteTo(frame);
        payload.CopyTo(frame, FrameHeader.Size);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<byte[]> ReadAsync(Stream stream, FrameKind kind, int size, CancellationToken cancellationToken)
    {
        byte[] header = new byte[FrameHeader.Size];
        try
        {
            await stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
            if (!FrameHeader.TryRead(header, out FrameHeader parsed, out uint length, out string? error) || parsed.Kind != kind || length != size)
            {
                throw new EnclaveCallException(EnclaveCallError.MalformedMessage, $"Expected a {kind} frame of {size} bytes; got {(error ?? $"{parsed.Kind} of {length} bytes")}.");
            }

            byte[] payload = new byte[size];
            await stream.ReadExactlyAsync(payload, cancellationToken).ConfigureAwait(false);
            return payload;
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or ObjectDisposedException)
        {
            throw new EnclaveCallException(EnclaveCallError.ChannelClosed, $"The channel closed before the {kind} frame: {ex.Message}", inner: ex);
        }
    }
}
