using System.Buffers;
using System.Collections.Concurrent;
using System.Reflection;
using Confide.Enclave.Calls.Contracts;

namespace Confide.Enclave.Calls.Protocol;

/// <summary>
/// One side of a host-enclave channel: sends calls to the other side's contract and serves calls to
/// its own. Both directions share one stream; calls are matched to results by id, so any number may
/// be in flight. Everything the other side sends is untrusted: a frame that is malformed, oversized,
/// unknown or out of place is answered with an error frame (or ignored when it answers nothing), and
/// never stops this side. Only the stream ending, or a failure to read it, closes the channel.
/// </summary>
internal sealed class CallChannel : IAsyncDisposable
{
    private const int InitialBufferSize = 64 * 1024;

    private readonly Stream _stream;
    private readonly EnclaveCallOptions _options;
    private readonly CallContract? _localContract;
    private object? _localTarget;
    private readonly string _peer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<ulong, PendingCall> _pending = new();
    private readonly ConcurrentDictionary<ulong, CancellationTokenSource?> _incoming = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextCallId;
    private long _incomingBytes;
    private volatile string? _closeReason;
    private Task? _readLoop;

    /// <param name="peer">"enclave" or "host": how errors name the other side.</param>
    public CallChannel(Stream stream, EnclaveCallOptions options, CallContract? localContract, object? localTarget, string peer)
    {
        options.Validate();
        if (localContract is null && localTarget is not null)
        {
            throw new ArgumentException("An implementation needs a contract.", nameof(localTarget));
        }

        _stream = stream;
        _options = options;
        _localContract = localContract;
        _peer = peer;
        if (localTarget is not null)
        {
            BindLocalTarget(localTarget);
        }
    }

    /// <summary>
    /// Binds the implementation of the local contract. Separate from construction so that an
    /// implementation can be built around this channel's own proxy of the other side.
    /// </summary>
    public void BindLocalTarget(object target)
    {
        if (_localContract is null || !_localContract.Type.IsInstanceOfType(target))
        {
            throw new ArgumentException($"The implementation does not implement {_localContract?.Type.FullName ?? "a contract"}.", nameof(target));
        }

        if (_readLoop is not null)
        {
            throw new InvalidOperationException("The channel is already running.");
        }

        _localTarget = target;
    }

    /// <summary>Completes when the channel has closed; see <see cref="CloseReason"/>.</summary>
    public Task Completion => _completion.Task;

    public string? CloseReason => _closeReason;

    public bool IsClosed => _closeReason is not null;

    /// <summary>Calls in flight from this side (for tests and diagnostics).</summary>
    public int PendingCallCount => _pending.Count;

    public void Start()
    {
        if (_localContract is not null && _localTarget is null)
        {
            throw new InvalidOperationException("Bind the local contract's implementation before starting the channel.");
        }

        _readLoop ??= Task.Run(ReadLoopAsync);
    }

    /// <summary>Sends a call and waits for its result.</summary>
    public async Task<object?> InvokeAsync(CallMethod method, object?[]? args, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfClosed();
        ulong id = (ulong)Interlocked.Increment(ref _nextCallId);
        var pending = new PendingCall(method);
        _pending[id] = pending;

        // Registered before sending: a caller stuck behind another large write, or a peer that
        // does not read, is released by its token (a Cancel for a call never sent is ignored).
        CancellationTokenRegistration registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static (state, token) => ((CancelState)state!).Cancel(token), new CancelState(this, id))
            : default;
        try
        {
            using (var frame = new PooledBufferWriter())
            {
                MessageCodec.WriteArguments(frame, method, args);
                if (frame.PayloadLength > _options.MaxMessageSize)
                {
                    throw new EnclaveCallException(EnclaveCallError.MessageTooLarge, $"The arguments of {method.Name} are {frame.PayloadLength} bytes; the limit is {_options.MaxMessageSize}.");
                }

                try
                {
                    await SendAsync(frame, FrameKind.Call, method.Ordinal, id, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Cancelled while waiting for its turn to write: never sent. The registration
                    // has already cancelled the pending result awaited below.
                }
            }

            return await pending.Result.Task.ConfigureAwait(false);
        }
        finally
        {
            await registration.DisposeAsync().ConfigureAwait(false);
            _pending.TryRemove(id, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Close("the channel was disposed");
        await _stream.DisposeAsync().ConfigureAwait(false);
        if (_readLoop is not null)
        {
            await _readLoop.ConfigureAwait(false);
        }

        _shutdown.Dispose();
    }

    private void CancelOutgoing(ulong id, CancellationToken token)
    {
        if (_pending.TryRemove(id, out PendingCall? call))
        {
            call.Result.TrySetCanceled(token);
            _ = SendBestEffortAsync(() => SendEmptyAsync(FrameKind.Cancel, 0, id).AsTask());
        }
    }

    private async Task ReadLoopAsync()
    {
        var reader = new FrameReader(_stream, _options.MaxMessageSize);
        string reason = $"the {_peer} closed the channel";
        try
        {
            while (true)
            {
                FrameReader.Frame frame = await reader.ReadAsync(_shutdown.Token).ConfigureAwait(false);
                switch (frame.Status)
                {
                    case FrameReader.FrameStatus.EndOfStream:
                        return;
                    case FrameReader.FrameStatus.Malformed:
                        // The header itself is bad; nothing after it can be framed. Answer and stop.
                        await TrySendErrorAsync(frame.Header, EnclaveCallError.MalformedMessage, frame.Error!).ConfigureAwait(false);
                        reason = $"the {_peer} sent a malformed frame ({frame.Error})";
                        return;
                    case FrameReader.FrameStatus.TooLarge:
                        await OnOversizedAsync(frame.Header, frame.DeclaredLength).ConfigureAwait(false);
                        continue;
                    default:
                        await OnFrameAsync(frame.Header, frame.Payload).ConfigureAwait(false);
                        continue;
                }
            }
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Whatever ends the loop (I/O failure, exhausted memory) closes the channel; the loop
            // itself never faults, so nothing escapes as an unobserved or rethrown exception.
            reason = $"the channel to the {_peer} failed: {ex.Message}";
        }
        finally
        {
            reader.Dispose();
            Close(reason);
        }
    }

    private async ValueTask OnFrameAsync(FrameHeader header, ReadOnlyMemory<byte> payload)
    {
        switch (header.Kind)
        {
            case FrameKind.Call:
                await OnCallAsync(header, payload).ConfigureAwait(false);
                break;
            case FrameKind.Result:
                if (_pending.TryRemove(header.CallId, out PendingCall? call))
                {
                    try
                    {
                        call.Result.TrySetResult(MessageCodec.ReadResult(payload.Span, call.Method));
                    }
                    catch (EnclaveCallException ex)
                    {
                        call.Result.TrySetException(ex);
                    }
                }

                break;
            case FrameKind.Error:
                if (_pending.TryRemove(header.CallId, out PendingCall? failed))
                {
                    failed.Result.TrySetException(MessageCodec.ReadError(payload.Span, _peer));
                }

                break;
            case FrameKind.Cancel:
                if (_incoming.TryGetValue(header.CallId, out CancellationTokenSource? source) && source is not null)
                {
                    try
                    {
                        await source.CancelAsync().ConfigureAwait(false);
                    }
                    catch (ObjectDisposedException)
                    {
                    }
                }

                break;
            default:
                // Hello and Ready belong to the handshake, before this loop runs.
                await TrySendErrorAsync(header, EnclaveCallError.MalformedMessage, $"unexpected {header.Kind} frame").ConfigureAwait(false);
                break;
        }
    }

    private async ValueTask OnCallAsync(FrameHeader header, ReadOnlyMemory<byte> payload)
    {
        CallMethod? method = null;
        if (_localContract is null || !_localContract.TryGet(header.Method, out method))
        {
            await SendErrorAsync(header.CallId, EnclaveCallError.UnknownCall, null, $"Call {header.Method} is not declared by the {(_localContract?.Type.Name ?? "(empty)")} contract.").ConfigureAwait(false);
            return;
        }

        if (_incoming.Count >= _options.MaxConcurrentIncomingCalls)
        {
            await SendErrorAsync(header.CallId, EnclaveCallError.TooManyConcurrentCalls, null, $"More than {_options.MaxConcurrentIncomingCalls} concurrent calls.").ConfigureAwait(false);
            return;
        }

        if (Interlocked.Add(ref _incomingBytes, payload.Length) > _options.MaxIncomingBytesInFlight)
        {
            Interlocked.Add(ref _incomingBytes, -payload.Length);
            await SendErrorAsync(header.CallId, EnclaveCallError.TooManyConcurrentCalls, null, $"Running calls already hold more than {_options.MaxIncomingBytesInFlight} bytes of arguments.").ConfigureAwait(false);
            return;
        }

        object?[] args;
        try
        {
            args = MessageCodec.ReadArguments(payload.Span, method!);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Interlocked.Add(ref _incomingBytes, -payload.Length);
            EnclaveCallError error = ex is EnclaveCallException typed ? typed.Error : EnclaveCallError.MalformedMessage;
            await SendErrorAsync(header.CallId, error, null, $"Malformed message: {ex.Message}").ConfigureAwait(false);
            return;
        }

        CancellationTokenSource? cancellation = method!.CancellationTokenIndex >= 0 ? CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token) : null;
        if (!_incoming.TryAdd(header.CallId, cancellation))
        {
            Interlocked.Add(ref _incomingBytes, -payload.Length);
            cancellation?.Dispose();
            await SendErrorAsync(header.CallId, EnclaveCallError.MalformedMessage, null, $"Call id {header.CallId} is already in use.").ConfigureAwait(false);
            return;
        }

        if (cancellation is not null)
        {
            args[method.CancellationTokenIndex] = cancellation.Token;
        }

        // User code runs on the thread pool, never on the reader: a handler that blocks must not
        // stop the results it may itself be waiting for.
        var work = new IncomingCall(this, header.CallId, method, args, cancellation, payload.Length);
        ThreadPool.UnsafeQueueUserWorkItem(static call => _ = SendBestEffortAsync(call.RunAsync), work, preferLocal: false);
    }

    private async Task RunIncomingAsync(ulong id, CallMethod method, object?[] args, CancellationTokenSource? cancellation, int argumentBytes)
    {
        // The call's slot and argument bytes are given back as soon as the handler is done, before
        // its answer is written: a peer that has read the answer may rely on the budget being free.
        int released = 0;
        void Release()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                _incoming.TryRemove(id, out _);
                Interlocked.Add(ref _incomingBytes, -argumentBytes);
            }
        }

        try
        {
            object returned = method.Method.Invoke(_localTarget, BindingFlags.DoNotWrapExceptions, null, args, null)
                ?? throw new InvalidOperationException($"{method.Name} returned a null task.");
            object? result = await method.AwaitResult(returned).ConfigureAwait(false);
            Release();
            using var frame = new PooledBufferWriter();
            if (method.Result is not null)
            {
                MessageCodec.WriteValue(frame, method.Result, result);
            }

            if (frame.PayloadLength > _options.MaxMessageSize)
            {
                await SendErrorAsync(id, EnclaveCallError.MessageTooLarge, null, $"The result of {method.Name} is {frame.PayloadLength} bytes; the limit is {_options.MaxMessageSize}.").ConfigureAwait(false);
                return;
            }

            await SendAsync(frame, FrameKind.Result, method.Ordinal, id).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellation?.IsCancellationRequested == true)
        {
            Release();
            await SendErrorAsync(id, EnclaveCallError.Cancelled, null, $"{method.Name} was cancelled.").ConfigureAwait(false);
        }
        catch (EnclaveCallException ex)
        {
            Release();
            await SendErrorAsync(id, ex.Error, ex.RemoteExceptionType, ex.Message).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Release();
            await SendErrorAsync(id, EnclaveCallError.Faulted, ex.GetType().FullName, ex.Message).ConfigureAwait(false);
        }
        finally
        {
            Release();
            cancellation?.Dispose();
        }
    }

    private async ValueTask OnOversizedAsync(FrameHeader header, uint declaredLength)
    {
        string message = $"A {header.Kind} frame of {declaredLength} bytes exceeds the limit of {_options.MaxMessageSize}.";
        if (header.Kind == FrameKind.Call)
        {
            await SendErrorAsync(header.CallId, EnclaveCallError.MessageTooLarge, null, message).ConfigureAwait(false);
        }
        else if (header.Kind is FrameKind.Result or FrameKind.Error && _pending.TryRemove(header.CallId, out PendingCall? call))
        {
            call.Result.TrySetException(new EnclaveCallException(EnclaveCallError.MessageTooLarge, message));
        }
    }

    private ValueTask TrySendErrorAsync(FrameHeader header, EnclaveCallError error, string message) =>
        header.Kind == FrameKind.Call ? SendErrorAsync(header.CallId, error, null, $"Malformed message: {message}.") : ValueTask.CompletedTask;

    private async ValueTask SendErrorAsync(ulong id, EnclaveCallError error, string? type, string message)
    {
        using var frame = new PooledBufferWriter();
        MessageCodec.WriteError(frame, error, type, message);
        await SendAsync(frame, FrameKind.Error, 0, id).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a send whose only failure mode left is the channel having closed meanwhile; the peer
    /// is gone then and nobody is waiting for the frame, so the failure is dropped on purpose.
    /// </summary>
    private static async Task SendBestEffortAsync(Func<Task> send)
    {
        try
        {
            await send().ConfigureAwait(false);
        }
        catch (EnclaveCallException ex) when (ex.Error == EnclaveCallError.ChannelClosed)
        {
        }
    }

    private async ValueTask SendEmptyAsync(FrameKind kind, ushort method, ulong id)
    {
        using var frame = new PooledBufferWriter();
        await SendAsync(frame, kind, method, id).ConfigureAwait(false);
    }

    /// <summary>Writes one frame. A failed write closes the channel; the caller sees ChannelClosed.</summary>
    private async ValueTask SendAsync(PooledBufferWriter frame, FrameKind kind, ushort method, ulong id, CancellationToken cancellationToken = default)
    {
        new FrameHeader(frame.PayloadLength, kind, method, id).WriteTo(frame.Prefix);
        ReadOnlyMemory<byte> bytes = frame.WrittenMemory;

        // Only waiting for the turn to write can be cancelled: a frame cut off half-way would
        // leave the stream unframeable.
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            await _stream.WriteAsync(bytes, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            Close($"the channel to the {_peer} failed: {ex.Message}");
            throw Closed();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void Close(string reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, reason, null) is not null)
        {
            return;
        }

        try
        {
            _shutdown.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        foreach (ulong id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out PendingCall? call))
            {
                call.Result.TrySetException(Closed());
            }
        }

        _completion.TrySetResult();
    }

    private void ThrowIfClosed()
    {
        if (_closeReason is not null)
        {
            throw Closed();
        }
    }

    private EnclaveCallException Closed() => new(EnclaveCallError.ChannelClosed, $"The call did not complete: {_closeReason}.");

    private sealed class CancelState(CallChannel channel, ulong id)
    {
        public void Cancel(CancellationToken token) => channel.CancelOutgoing(id, token);
    }

    private sealed class PendingCall(CallMethod method)
    {
        public CallMethod Method { get; } = method;

        public TaskCompletionSource<object?> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class IncomingCall(CallChannel channel, ulong id, CallMethod method, object?[] args, CancellationTokenSource? cancellation, int argumentBytes)
    {
        public Task RunAsync() => channel.RunIncomingAsync(id, method, args, cancellation, argumentBytes);
    }
}
