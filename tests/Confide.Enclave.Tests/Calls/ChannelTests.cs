using System.Text;
using Confide.Enclave.Calls;
using Confide.Enclave.Calls.Protocol;

namespace Confide.Enclave.Tests.Calls;

/// <summary>The channel with a well-behaved peer on the other end.</summary>
public sealed class ChannelTests
{
    [Fact]
    public async Task Every_supported_argument_and_return_shape_round_trips()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        ICalculator calculator = harness.Proxy();

        Assert.Equal(7, await calculator.AddAsync(3, 4));
        Assert.Equal(-5, await calculator.NegateAsync(5));
        await calculator.NothingAsync();
        Assert.Null(await calculator.ConcatAsync(null, "x"));
        Assert.Equal("ab€", await calculator.ConcatAsync("a", "b€"));
        Assert.Empty(await calculator.EchoAsync([]));
        Assert.Equal(new Point(20 + 3, -4), await calculator.MoveAsync(new Point(10, 4), DayOfWeek.Wednesday, false, 2.0, Guid.NewGuid()));
        Assert.Null(await calculator.MaybeAsync(null));
        Assert.Equal(2, await calculator.MaybeAsync(1));
    }

    [Fact]
    public async Task Exceptions_cross_as_type_name_and_message_only()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        ICalculator calculator = harness.Proxy();

        var error = await Assert.ThrowsAsync<EnclaveCallException>(() => calculator.ThrowAsync("bad input"));
        Assert.Equal(EnclaveCallError.Faulted, error.Error);
        Assert.Equal(typeof(ArgumentException).FullName, error.RemoteExceptionType);
        Assert.Contains("bad input", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", error.Message, StringComparison.Ordinal); // no remote stack trace
    }

    [Fact]
    public async Task Cancellation_reaches_the_callee()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        ICalculator calculator = harness.Proxy();
        using var cancellation = new CancellationTokenSource();

        Task call = calculator.WaitAsync(600_000, cancellation.Token);
        await Task.Delay(100, TestContext.Current.CancellationToken);
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        for (int i = 0; i < 3000 && Volatile.Read(ref harness.Target.Cancelled) == 0; i++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        Assert.Equal(1, harness.Target.Cancelled);
        Assert.Equal(0, harness.Host!.PendingCallCount);
    }

    [Fact]
    public async Task Arguments_over_the_callers_limit_are_refused_before_sending()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        ICalculator calculator = harness.Proxy(new EnclaveCallOptions { MaxMessageSize = 4096 });

        var error = await Assert.ThrowsAsync<EnclaveCallException>(() => calculator.EchoAsync(new byte[5000]));
        Assert.Equal(EnclaveCallError.MessageTooLarge, error.Error);
        Assert.Equal(3, await calculator.AddAsync(1, 2));
    }

    [Fact]
    public async Task A_result_over_the_callees_limit_is_an_error_not_a_truncation()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync(new EnclaveCallOptions { MaxMessageSize = 4096 });
        ICalculator calculator = harness.Proxy(new EnclaveCallOptions { MaxMessageSize = 8192 });

        // 4090 bytes of arguments fit, but the result frame adds its own length prefix: still fits.
        Assert.Equal(4000, (await calculator.EchoAsync(new byte[4000])).Length);
        var error = await Assert.ThrowsAsync<EnclaveCallException>(() => calculator.EchoAsync(new byte[4100]));
        Assert.Equal(EnclaveCallError.MessageTooLarge, error.Error);
    }

    [Fact]
    public async Task Closing_the_channel_fails_calls_in_flight_with_channel_closed()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        ICalculator calculator = harness.Proxy();

        Task pending = calculator.WaitAsync(600_000, CancellationToken.None);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        await harness.Enclave.DisposeAsync();

        var error = await Assert.ThrowsAsync<EnclaveCallException>(() => pending);
        Assert.Equal(EnclaveCallError.ChannelClosed, error.Error);
        var later = await Assert.ThrowsAsync<EnclaveCallException>(() => calculator.AddAsync(1, 1));
        Assert.Equal(EnclaveCallError.ChannelClosed, later.Error);
    }

    [Fact]
    public async Task Many_concurrent_calls_are_matched_to_their_results()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        ICalculator calculator = harness.Proxy();

        int[] results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => calculator.AddAsync(i, i)));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => 2 * i), results);
    }

    [Fact]
    public async Task Strings_that_are_not_utf8_are_malformed()
    {
        await using ChannelHarness harness = await ChannelHarness.CreateAsync();
        byte[] args = ChannelHarness.Arguments([0xC3, 0x28], Encoding.UTF8.GetBytes("x"));
        await harness.SendRawAsync(FrameKind.Call, ChannelHarness.Ordinal("ConcatAsync"), 1, args);

        var (kind, id, payload) = await harness.ReadRawAsync();
        Assert.Equal(FrameKind.Error, kind);
        Assert.Equal(1UL, id);
        Assert.Equal(EnclaveCallError.MalformedMessage, MessageCodec.ReadError(payload, "enclave").Error);
    }
}
