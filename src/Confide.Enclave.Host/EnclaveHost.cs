using System.Net.Sockets;
using System.Security.Cryptography;
using Confide.Enclave.Calls;
using Confide.Enclave.Calls.Contracts;
using Confide.Enclave.Calls.Protocol;

namespace Confide.Enclave.Hosting;

/// <summary>
/// A running enclave, seen from the untrusted host. <see cref="LaunchAsync{TEcalls}"/> verifies the
/// package (signature, measurement, exact file set), starts the enclave process, waits for it to
/// connect with its launch token and to announce the contracts it serves, and hands back a typed
/// proxy of its ecalls. Disposing closes the channel, which ends a serving enclave, and kills the
/// process if it does not exit in time.
/// </summary>
public class EnclaveHost : IAsyncDisposable
{
    private readonly EnclaveProcess _process;
    private readonly string _privateDirectory;
    private readonly TimeSpan _shutdownTimeout;
    private CallChannel? _channel;
    private Task? _serveTask;
    private int _disposed;

    private protected EnclaveHost(EnclavePackage package, EnclaveProcess process, string privateDirectory, TimeSpan shutdownTimeout)
    {
        Package = package;
        _process = process;
        _privateDirectory = privateDirectory;
        _shutdownTimeout = shutdownTimeout;
    }

    /// <summary>The verified package the enclave runs from: a private copy of the measured files.</summary>
    public EnclavePackage Package { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once the enclave has exited.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Why the channel closed, once it has.</summary>
    public string? ChannelCloseReason => _channel?.CloseReason;

    private protected CallChannel Channel => _channel ?? throw new InvalidOperationException("The enclave is not serving calls.");

    /// <summary>
    /// Launches an enclave that serves <typeparamref name="TEcalls"/>. Returns once it is ready for calls.
    /// </summary>
    /// <exception cref="EnclavePackageException">The package failed verification; nothing was launched.</exception>
    /// <exception cref="EnclaveLaunchException">The enclave did not start, connect or agree on the contracts.</exception>
    public static async Task<EnclaveHost<TEcalls>> LaunchAsync<TEcalls>(string packageDirectory, EnclaveHostOptions? options = null, CancellationToken cancellationToken = default)
        where TEcalls : class
    {
        CallContract ecalls = CallContract.For(typeof(TEcalls));
        options ??= new EnclaveHostOptions();
        (EnclavePackage package, EnclaveProcess process, string directory, NetworkStream stream) = await StartAsync(packageDirectory, options, cancellationToken).ConfigureAwait(false);
        var host = new EnclaveHost<TEcalls>(package, process, directory, options.ShutdownTimeout);
        try
        {
            (byte[] served, byte[] expected) = await WithStartupGuard(process, options, ct => Handshake.ReadReadyAsync(stream, ct), cancellationToken).ConfigureAwait(false);
            byte[] ocallFingerprint = options.OcallContract is null ? CallContract.NoFingerprint : CallContract.For(options.OcallContract).Fingerprint;
            if (!served.AsSpan().SequenceEqual(ecalls.Fingerprint))
            {
                throw new EnclaveLaunchException(EnclaveLaunchError.ContractMismatch, $"The enclave does not serve {typeof(TEcalls).FullName} as this host knows it (the contract assemblies differ).");
            }

            if (!expected.AsSpan().SequenceEqual(ocallFingerprint))
            {
                throw new EnclaveLaunchException(EnclaveLaunchError.ContractMismatch,
                    $"The enclave expects other ocalls than this host offers ({options.OcallContract?.FullName ?? "none"}).");
            }

            host.OpenChannel(stream, options);
            host.Calls = CallProxy.Create<TEcalls>(host.Channel);
            return host;
        }
        catch
        {
            // Hanging up first lets the enclave see the refusal and exit instead of being killed.
            await stream.DisposeAsync().ConfigureAwait(false);
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Launches an enclave as an application (what <c>confide run</c> does): the host makes no
    /// ecalls, serves its ocalls if the enclave asks, and waits for it to exit.
    /// </summary>
    public static async Task<EnclaveHost> LaunchAsync(string packageDirectory, EnclaveHostOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new EnclaveHostOptions();
        (EnclavePackage package, EnclaveProcess process, string directory, NetworkStream stream) = await StartAsync(packageDirectory, options, cancellationToken).ConfigureAwait(false);
        var host = new EnclaveHost(package, process, directory, options.ShutdownTimeout);
        host._serveTask = host.ServeWhenReadyAsync(stream, options);
        return host;
    }

    /// <summary>Waits for the enclave process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken = default)
    {
        await _process.ExitedTask.WaitAsync(cancellationToken).ConfigureAwait(false);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_channel is not null)
        {
            await _channel.DisposeAsync().ConfigureAwait(false);
        }

        if (!_process.HasExited)
        {
            try
            {
                await _process.ExitedTask.WaitAsync(_shutdownTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _process.Kill();
                await _process.ExitedTask.ConfigureAwait(false);
            }
        }

        if (_serveTask is not null)
        {
            await _serveTask.ConfigureAwait(false);

            // The enclave may have announced itself while this method was running.
            if (_channel is not null)
            {
                await _channel.DisposeAsync().ConfigureAwait(false);
            }
        }

        _process.Dispose();
        DeleteQuietly(_privateDirectory);
        GC.SuppressFinalize(this);
    }

    private void OpenChannel(NetworkStream stream, EnclaveHostOptions options)
    {
        _channel = new CallChannel(stream, options.Calls, options.OcallContract is null ? null : CallContract.For(options.OcallContract), options.OcallImplementation, peer: "enclave");
        _channel.Start();
    }

    private async Task ServeWhenReadyAsync(NetworkStream stream, EnclaveHostOptions options)
    {
        try
        {
            await Handshake.ReadReadyAsync(stream, CancellationToken.None).ConfigureAwait(false);
            if (Volatile.Read(ref _disposed) != 0)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                return;
            }

            OpenChannel(stream, options);
        }
        catch (Exception ex) when (ex is EnclaveCallException or IOException or ObjectDisposedException)
        {
            // An application enclave that never serves calls ends here when it exits.
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<(EnclavePackage, EnclaveProcess, string, NetworkStream)> StartAsync(string packageDirectory, EnclaveHostOptions options, CancellationToken cancellationToken)
    {
        options.Calls.Validate();

        // Refuse a bad package with its own paths before anything else happens.
        EnclavePackage original = EnclavePackage.Open(packageDirectory);

        // A private (0700) directory holds the socket and the copy of the package the enclave
        // runs from: files verified in place could be swapped before the runtime loads them,
        // the copy cannot be reached by other users. The copy is verified again.
        DirectoryInfo directory = Directory.CreateTempSubdirectory($"{PrivateDirectoryPrefix}{Environment.ProcessId}-");
        RemoveAbandonedDirectories();
        EnclaveProcess? process = null;
        try
        {
            EnclavePackage package = EnclavePackage.Open(CopyMeasuredFiles(original, Path.Combine(directory.FullName, "package")));
            string socketPath = Path.Combine(directory.FullName, "channel.sock");
            byte[] token = RandomNumberGenerator.GetBytes(Handshake.TokenSize);
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.Listen(1);

            process = EnclaveProcess.Start(package, options, socketPath, Convert.ToHexStringLower(token));
            Socket connection = await WithStartupGuard(process, options, ct => listener.AcceptAsync(ct).AsTask(), cancellationToken).ConfigureAwait(false);
            var stream = new NetworkStream(connection, ownsSocket: true);
            try
            {
                await WithStartupGuard(process, options, async ct => { await Handshake.ReadHelloAsync(stream, token, ct).ConfigureAwait(false); return true; }, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            return (package, process, directory.FullName, stream);
        }
        catch (Exception ex)
        {
            if (process is not null)
            {
                process.Kill();
                await process.ExitedTask.ConfigureAwait(false);
                process.Dispose();
            }

            DeleteQuietly(directory.FullName);
            if (ex is SocketException or IOException or ArgumentException or UnauthorizedAccessException)
            {
                throw new EnclaveLaunchException(EnclaveLaunchError.ChannelFailed, $"The channel to the enclave could not be set up in '{directory.FullName}': {ex.Message}", ex);
            }

            throw;
        }
    }

    /// <summary>Copies the package's metadata and measured files, nothing else, to <paramref name="destination"/>.</summary>
    private static string CopyMeasuredFiles(EnclavePackage package, string destination)
    {
        IEnumerable<string> paths = package.Files.Select(f => f.Path).Concat(EnclavePackage.MetadataFiles);
        foreach (string path in paths)
        {
            string target = Path.Combine(destination, path);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(package.Directory, path), target);
        }

        return destination;
    }

    /// <summary>
    /// Private directories are named <c>confide-host-&lt;pid&gt;-&lt;random&gt;</c> after the host
    /// process, so that a later launch can remove those of hosts that were killed before they could
    /// (SIGKILL, an OOM kill): each holds a copy of a package, megabytes.
    /// </summary>
    private const string PrivateDirectoryPrefix = "confide-host-";

    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Removes the private directories of host processes that no longer run.</summary>
    private static void RemoveAbandonedDirectories()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            foreach (DirectoryInfo candidate in new DirectoryInfo(Path.GetTempPath()).EnumerateDirectories(PrivateDirectoryPrefix + "*"))
            {
                string[] parts = candidate.Name[PrivateDirectoryPrefix.Length..].Split('-');
                if (parts.Length != 2 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid)
                    || pid == Environment.ProcessId || IsRunning(pid))
                {
                    continue;
                }

                // Only what a host makes: a real directory (never follow a link planted in /tmp),
                // owner-only as CreateTempSubdirectory creates it.
                if (candidate.LinkTarget is not null || (candidate.UnixFileMode & GroupOrOther) != 0)
                {
                    continue;
                }

                DeleteQuietly(candidate.FullName);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Cleaning up after others is best effort; this launch goes on.
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static void DeleteQuietly(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A temp directory left behind is harmless; the launch error is what matters.
        }
    }

    /// <summary>Runs a startup step, failing fast with the enclave's own error output if it exits or times out.</summary>
    private static async Task<T> WithStartupGuard<T>(EnclaveProcess process, EnclaveHostOptions options, Func<CancellationToken, Task<T>> step, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.StartTimeout);
        Task<T> work = step(timeout.Token);
        Task finished = await Task.WhenAny(work, process.ExitedTask).ConfigureAwait(false);
        if (finished == work || work.IsCompleted)
        {
            try
            {
                return await work.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new EnclaveLaunchException(EnclaveLaunchError.Timeout, $"The enclave did not get ready within {options.StartTimeout.TotalSeconds:0.#} s.{Tail(process)}");
            }
            catch (EnclaveCallException ex) when (!process.HasExited)
            {
                throw new EnclaveLaunchException(EnclaveLaunchError.HandshakeFailed, ex.Message, ex);
            }
            catch (Exception ex) when (process.HasExited && ex is not OperationCanceledException)
            {
                throw await ExitedAsync(process, ex).ConfigureAwait(false);
            }
        }

        await timeout.CancelAsync().ConfigureAwait(false);
        try
        {
            await work.ConfigureAwait(false);
        }
        catch
        {
            // The step failed because the process is gone; the exit is what to report.
        }

        throw await ExitedAsync(process, null).ConfigureAwait(false);
    }

    private static async Task<EnclaveLaunchException> ExitedAsync(EnclaveProcess process, Exception? inner)
    {
        // The exit task completes once the relayed output has been read to its end, so the
        // error output's last lines are in the tail when it is reported.
        await process.ExitedTask.ConfigureAwait(false);
        return new EnclaveLaunchException(EnclaveLaunchError.ExitedDuringStartup, $"The enclave exited with code {process.ExitCode} before it was ready.{Tail(process)}", inner);
    }

    private static string Tail(EnclaveProcess process)
    {
        string tail = process.StderrTail;
        return tail.Length == 0 ? string.Empty : $" Its error output ends with:{Environment.NewLine}{tail}";
    }
}

/// <summary>A running enclave that serves the ecall contract <typeparamref name="TEcalls"/>.</summary>
public sealed class EnclaveHost<TEcalls> : EnclaveHost
    where TEcalls : class
{
    internal EnclaveHost(EnclavePackage package, EnclaveProcess process, string privateDirectory, TimeSpan shutdownTimeout)
        : base(package, process, privateDirectory, shutdownTimeout)
    {
    }

    /// <summary>The enclave's ecalls. Each call crosses to the enclave process and back.</summary>
    public TEcalls Calls { get; internal set; } = null!;
}
