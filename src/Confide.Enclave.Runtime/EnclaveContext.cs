using System.Net.Sockets;
using Confide.Enclave.Calls;
using Confide.Enclave.Calls.Contracts;
using Confide.Enclave.Calls.Protocol;
using Confide.Tee;
using Confide.Tee.Sealing;

namespace Confide.Enclave.Runtime;

/// <summary>
/// What enclave code works with: its identity, its TEE (evidence, seal keys), sealing, and the
/// channel to its host, over which it serves its ecalls and makes its ocalls.
/// </summary>
public sealed class EnclaveContext : IAsyncDisposable
{
    private readonly NetworkStream? _hostStream;
    private readonly EnclaveCallOptions _callOptions;
    private CallChannel? _channel;

    internal EnclaveContext(EnclavePackage package, ITee tee, NetworkStream? hostStream, EnclaveCallOptions callOptions)
    {
        Package = package;
        Tee = tee;
        _hostStream = hostStream;
        _callOptions = callOptions;
        Sealer = new EnclaveSealer(tee);
    }

    /// <summary>The enclave's package, as verified at start.</summary>
    public EnclavePackage Package { get; }

    public ITee Tee { get; }

    /// <summary>The identity the TEE reports for this enclave.</summary>
    public TeeIdentity Identity => Tee.Identity;

    /// <summary>Seals data to this enclave's identity.</summary>
    public EnclaveSealer Sealer { get; }

    /// <summary>True when a host launched this enclave and a channel to it is open.</summary>
    public bool IsHosted => _hostStream is not null;

    /// <summary>Evidence of this enclave, bound to <paramref name="reportData"/> (at most 64 bytes).</summary>
    public ValueTask<TeeEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken = default) =>
        Tee.GetEvidenceAsync(reportData, cancellationToken);

    /// <summary>Serves <typeparamref name="TEcalls"/> until the host hangs up; makes no ocalls.</summary>
    public Task ServeAsync<TEcalls>(TEcalls implementation, CancellationToken cancellationToken = default)
        where TEcalls : class =>
        ServeAsync(CallContract.For(typeof(TEcalls)), null, _ => implementation, cancellationToken);

    /// <summary>
    /// Serves <typeparamref name="TEcalls"/> until the host hangs up. <paramref name="createImplementation"/>
    /// receives the host's ocalls, <typeparamref name="TOcalls"/>: the only calls this enclave can make out.
    /// </summary>
    public Task ServeAsync<TEcalls, TOcalls>(Func<TOcalls, TEcalls> createImplementation, CancellationToken cancellationToken = default)
        where TEcalls : class
        where TOcalls : class =>
        ServeAsync(CallContract.For(typeof(TEcalls)), CallContract.For(typeof(TOcalls)), channel => createImplementation(CallProxy.Create<TOcalls>(channel)), cancellationToken);

    /// <summary>
    /// Runs an application enclave: one its host launched to run rather than to call (what
    /// <c>confide run</c> does), such as a server. The token <paramref name="run"/> receives is
    /// cancelled when the host hangs up or <paramref name="cancellationToken"/> is, so the
    /// application stops with its host, as an SGX enclave does when its host process goes.
    /// </summary>
    public async Task<int> RunApplicationAsync(Func<CancellationToken, Task<int>> run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (_hostStream is null)
        {
            return await run(cancellationToken).ConfigureAwait(false);
        }

        using var hostGone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task serving = ServeAsync(CallContract.For(typeof(IApplicationEnclave)), null, _ => new ApplicationEnclave(), hostGone.Token);
        _ = serving.ContinueWith(_ => hostGone.Cancel(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return await run(hostGone.Token).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is not null)
        {
            await _channel.DisposeAsync().ConfigureAwait(false);
        }
        else if (_hostStream is not null)
        {
            await _hostStream.DisposeAsync().ConfigureAwait(false);
        }

        Tee.Dispose();
    }

    private async Task ServeAsync(CallContract ecalls, CallContract? ocalls, Func<CallChannel, object> createImplementation, CancellationToken cancellationToken)
    {
        if (_hostStream is null)
        {
            throw new InvalidOperationException("This enclave was not launched by an enclave host (no channel); start it with EnclaveHost or 'confide run'.");
        }

        if (_channel is not null)
        {
            throw new InvalidOperationException("The enclave already serves its ecalls.");
        }

        // The channel exists before the implementation so that the implementation can hold the
        // ocall proxy; the implementation is bound before any frame is read.
        _channel = new CallChannel(_hostStream, _callOptions, ecalls, localTarget: null, peer: "host");
        _channel.BindLocalTarget(createImplementation(_channel));

        await Handshake.WriteReadyAsync(_hostStream, ecalls.Fingerprint, ocalls?.Fingerprint ?? CallContract.NoFingerprint, cancellationToken).ConfigureAwait(false);
        _channel.Start();
        await _channel.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The ecalls of an application enclave: none. Serving them keeps the channel that tells the enclave its host is gone.</summary>
public interface IApplicationEnclave;

internal sealed class ApplicationEnclave : IApplicationEnclave;
