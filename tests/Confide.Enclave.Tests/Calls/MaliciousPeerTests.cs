using System.Buffers.Binary;
using Confide.Enclave.Calls;
using Confide.Enclave.Calls.Protocol;

namespace Confide.Enclave.Tests.Calls;

/// <summary>
/// The enclave side of the channel with a malicious host on the other end: every bad frame gets a
/// typed error (or closes the channel when framing itself is lost), and the enclave neither
/// crashes nor hangs.
/// </summary>
public sealed class MaliciousPeerTests
{
    private static readonly ushort Add = ChannelHarness.Ordinal("AddAsync");

    [Fact]
    public async Task An_undeclared_call_is_refused_and_the_enclave_keeps_serving()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();

        await harness.SendRawAsync(FrameKind.Call, 999, 5, []);
        await AssertErrorAsync(harness, 5, EnclaveCallError.UnknownCall);
        await AssertStillServesAsync(harness, 6);
    }

    [Theory]
    [InlineData(new byte[] { })]                              // no arguments at all
    [InlineData(new byte[] { 4, 0, 0, 0, 1, 0, 0, 0 })]       // one argument instead of two
    [InlineData(new byte[] { 9, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0 })] // length beyond payload
    [InlineData(new byte[] { 2, 0, 0, 0, 1, 0, 4, 0, 0, 0, 1, 0, 0, 0 })]        // int of 2 bytes
    [InlineData(new byte[] { 255, 255, 255, 255, 4, 0, 0, 0, 1, 0, 0, 0 })]      // null for an int
    [InlineData(new byte[] { 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 7 })] // trailing byte
    public async Task Badly_encoded_arguments_are_refused_and_the_enclave_keeps_serving(byte[] payload)
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();

        await harness.SendRawAsync(FrameKind.Call, Add, 1, payload);
        await AssertErrorAsync(harness, 1, EnclaveCallError.MalformedMessage);
        await AssertStillServesAsync(harness, 2);
    }

    [Fact]
    public async Task Undecodable_json_arguments_are_refused()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        byte[] badJson = "{\"X\": \"not a number\"}"u8.ToArray();
        byte[] args = ChannelHarness.Arguments(badJson, ChannelHarness.Int(1), [1], new byte[8], new byte[16]);

        await harness.SendRawAsync(FrameKind.Call, ChannelHarness.Ordinal("MoveAsync"), 1, args);
        await AssertErrorAsync(harness, 1, EnclaveCallError.MalformedMessage);
        await AssertStillServesAsync(harness, 2);
    }

    [Fact]
    public async Task An_oversized_frame_is_drained_refused_and_the_enclave_keeps_serving()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync(new EnclaveCallOptions { MaxMessageSize = 4096 });

        await harness.SendRawAsync(FrameKind.Call, Add, 1, new byte[10_000]);
        await AssertErrorAsync(harness, 1, EnclaveCallError.MessageTooLarge);
        await AssertStillServesAsync(harness, 2);
    }

    [Fact]
    public async Task A_frame_claiming_gigabytes_does_not_make_the_enclave_allocate_them()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        long before = GC.GetTotalAllocatedBytes(precise: true);

        await harness.SendRawAsync(FrameKind.Call, Add, 1, [], declaredLength: uint.MaxValue);
        await harness.HostStream.DisposeAsync(); // the host hangs up mid-frame
        await harness.Enclave.Completion.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        // Honouring the header would mean a 4 GiB buffer; the bound is loose because other test
        // classes allocate in parallel in this process.
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 1024L * 1024 * 1024);
        Assert.True(harness.Enclave.IsClosed);
    }

    [Fact]
    public async Task A_duplicate_call_id_is_refused()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        byte[] waitArgs = ChannelHarness.Arguments(ChannelHarness.Int(600_000));

        await harness.SendRawAsync(FrameKind.Call, ChannelHarness.Ordinal("WaitAsync"), 7, waitArgs);
        await Task.Delay(100, TestContext.Current.CancellationToken);
        await harness.SendRawAsync(FrameKind.Call, ChannelHarness.Ordinal("WaitAsync"), 7, waitArgs);
        await AssertErrorAsync(harness, 7, EnclaveCallError.MalformedMessage);
    }

    [Fact]
    public async Task More_concurrent_calls_than_allowed_are_refused()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync(new EnclaveCallOptions { MaxConcurrentIncomingCalls = 2 });
        byte[] waitArgs = ChannelHarness.Arguments(ChannelHarness.Int(600_000));

        await harness.SendRawAsync(FrameKind.Call, ChannelHarness.Ordinal("WaitAsync"), 1, waitArgs);
        await harness.SendRawAsync(FrameKind.Call, ChannelHarness.Ordinal("WaitAsync"), 2, waitArgs);
        await harness.SendRawAsync(FrameKind.Call, ChannelHarness.Ordinal("WaitAsync"), 3, waitArgs);
        await AssertErrorAsync(harness, 3, EnclaveCallError.TooManyConcurrentCalls);

        await harness.SendRawAsync(FrameKind.Cancel, 0, 1, []);
        await AssertErrorAsync(harness, 1, EnclaveCallError.Cancelled);
    }

    [Fact]
    public async Task Running_calls_may_not_hold_more_argument_bytes_than_the_budget()
    {
        var options = new EnclaveCallOptions { MaxMessageSize = 4096, MaxIncomingBytesInFlight = 8192 };
        await using ChannelHarness harness = await ChannelHarness.CreateAsync(options);
        // A call that returns gives its bytes back; calls that keep running hold theirs.
        await harness.SendRawAsync(FrameKind.Call, ChannelHarness.Ordinal("EchoAsync"), 1, ChannelHarness.Arguments(new byte[4000]));
        var (kind, _, _) = await harness.ReadRawAsync();
        Assert.Equal(FrameKind.Result, kind);

        for (ulong id = 10; id < 13; id++)
        {
            await harness.SendRawAsync(FrameKind.Call, ChannelHarness.Ordinal("HoldAsync"), id, ChannelHarness.Arguments(new byte[3000]));
        }

        await AssertErrorAsync(harness, 12, EnclaveCallError.TooManyConcurrentCalls);
    }

    [Fact]
    public async Task A_type_whose_constructor_throws_on_hostile_input_is_a_malformed_message()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        byte[] args = ChannelHarness.Arguments("{\"Value\": -1}"u8.ToArray());

        await harness.SendRawAsync(FrameKind.Call, ChannelHarness.Ordinal("CheckAsync"), 1, args);
        await AssertErrorAsync(harness, 1, EnclaveCallError.MalformedMessage);
        await AssertStillServesAsync(harness, 2);
    }

    [Theory]
    [InlineData(0)]     // kind 0
    [InlineData(200)]   // kind out of range
    public async Task A_frame_of_unknown_kind_closes_the_channel(byte kind)
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        byte[] header = new byte[FrameHeader.Size];
        header[4] = kind;

        await harness.HostStream.WriteAsync(header, TestContext.Current.CancellationToken);
        await harness.Enclave.Completion.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Contains("malformed frame", harness.Enclave.CloseReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unsolicited_results_errors_and_handshake_frames_are_ignored_or_refused()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();

        await harness.SendRawAsync(FrameKind.Result, 0, 42, [1, 2, 3]);
        await harness.SendRawAsync(FrameKind.Error, 0, 43, [9]);
        await harness.SendRawAsync(FrameKind.Cancel, 0, 44, []);
        await harness.SendRawAsync(FrameKind.Hello, 0, 45, new byte[36]);
        await AssertStillServesAsync(harness, 46);
    }

    /// <summary>
    /// Property: whatever bytes a host sends, the enclave side ends (when the host hangs up)
    /// without an unhandled exception and without hanging. Seeded, so failures reproduce.
    /// </summary>
    [Fact]
    public async Task Random_byte_streams_never_crash_or_hang_the_enclave_side()
    {
        var random = new Random(20261128);
        for (int round = 0; round < 150; round++)
        {
            await using ChannelHarness harness = await ChannelHarness.CreateAsync(new EnclaveCallOptions { MaxMessageSize = 64 * 1024 });
            Task drain = DrainAsync(harness);
            byte[] garbage = new byte[random.Next(0, 4096)];
            random.NextBytes(garbage);
            if (garbage.Length >= FrameHeader.Size && random.Next(2) == 0)
            {
                // Half the rounds start with a plausible header so the fuzz reaches the decoders.
                garbage[4] = (byte)random.Next(1, 7);
                garbage[5] = 0;
                BinaryPrimitives.WriteUInt32LittleEndian(garbage, (uint)random.Next(0, garbage.Length));
            }

            await harness.HostStream.WriteAsync(garbage, TestContext.Current.CancellationToken);
            harness.HostStream.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            await harness.Enclave.Completion.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            Assert.True(harness.Enclave.IsClosed);
            await harness.Enclave.DisposeAsync(); // lets the drain see the end of the stream
            await drain.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        }
    }

    /// <summary>
    /// Property: well-framed frames with random content each get an answer (result or error)
    /// and never stop the enclave from serving the next valid call.
    /// </summary>
    [Fact]
    public async Task Well_framed_random_calls_always_get_an_answer_and_serving_continues()
    {
        var random = new Random(42);
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        int methods = ChannelHarness.Ordinal("ThrowAsync") + 3;
        for (ulong id = 1; id <= 400; id++)
        {
            byte[] payload = new byte[random.Next(0, 64)];
            random.NextBytes(payload);
            ushort method = (ushort)random.Next(0, methods);
            if (method == ChannelHarness.Ordinal("WaitAsync") || method == ChannelHarness.Ordinal("HoldAsync"))
            {
                continue; // a valid call to these legitimately waits
            }

            await harness.SendRawAsync(FrameKind.Call, method, id, payload);
            var (kind, answeredId, _) = await harness.ReadRawAsync();
            Assert.Equal(id, answeredId);
            Assert.True(kind is FrameKind.Result or FrameKind.Error);
        }

        await AssertStillServesAsync(harness, 10_000);
    }

    private static async Task DrainAsync(ChannelHarness harness)
    {
        byte[] buffer = new byte[4096];
        try
        {
            while (await harness.HostStream.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
        }
    }

    private static async Task AssertErrorAsync(ChannelHarness harness, ulong callId, EnclaveCallError expected)
    {
        var (kind, id, payload) = await harness.ReadRawAsync();
        Assert.Equal(FrameKind.Error, kind);
        Assert.Equal(callId, id);
        Assert.Equal(expected, MessageCodec.ReadError(payload, "enclave").Error);
    }

    private static async Task AssertStillServesAsync(ChannelHarness harness, ulong callId)
    {
        await harness.SendRawAsync(FrameKind.Call, Add, callId, ChannelHarness.Arguments(ChannelHarness.Int(20), ChannelHarness.Int(22)));
        var (kind, id, payload) = await harness.ReadRawAsync();
        Assert.Equal(FrameKind.Result, kind);
        Assert.Equal(callId, id);
        Assert.Equal(ChannelHarness.Arguments(ChannelHarness.Int(42)), payload);
    }
}
