using Confide.Enclave.Runtime;
using Confide.Tee;

namespace Confide.TestEnclave;

internal sealed class TestEnclaveCalls(EnclaveContext enclave, ITestHost host) : ITestEnclave
{
    private static int s_cancelled;
    private readonly Lock _barrierLock = new();
    private int _arrived;
    private TaskCompletionSource<int> _barrier = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<int> AddAsync(int a, int b) => Task.FromResult(a + b);

    public Task<byte[]> EchoAsync(byte[] payload) => Task.FromResult(payload);

    public Task<string?> EchoStringAsync(string? text) => Task.FromResult(text);

    public ValueTask<TestRecord> EchoRecordAsync(TestRecord record) => ValueTask.FromResult(record);

    public async Task<int> BarrierAsync(int parties)
    {
        Task<int> wait;
        lock (_barrierLock)
        {
            _arrived++;
            wait = _barrier.Task;
            if (_arrived == parties)
            {
                _barrier.SetResult(parties);
                _barrier = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
                _arrived = 0;
            }
        }

        return await wait.WaitAsync(TimeSpan.FromSeconds(20));
    }

    public async Task DelayAsync(int milliseconds, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(milliseconds, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref s_cancelled);
            throw;
        }
    }

    public Task<int> GetCancelledCountAsync() => Task.FromResult(Volatile.Read(ref s_cancelled));

    public Task FailAsync(string message) => throw new InvalidOperationException(message);

    public Task CrashAsync(int exitCode)
    {
        Environment.Exit(exitCode);
        return Task.CompletedTask;
    }

    public async Task<int> MultiplyOnHostAsync(int a, int b) => await host.MultiplyAsync(a, b);

    public async Task<string> CallFailingHostAsync()
    {
        try
        {
            return await host.FailAsync();
        }
        catch (Confide.Enclave.Calls.EnclaveCallException ex)
        {
            return $"{ex.Error}:{ex.RemoteExceptionType}";
        }
    }

    public Task<string?> GetEnvironmentAsync(string name) => Task.FromResult(Environment.GetEnvironmentVariable(name));

    public Task<string[]> GetIdentityAsync()
    {
        TeeIdentity id = enclave.Identity;
        return Task.FromResult(new[] { id.UniqueIdHex, id.SignerIdHex, id.ProductId.ToString(System.Globalization.CultureInfo.InvariantCulture), id.SecurityVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), id.Debug.ToString(), enclave.Tee.Kind.ToString() });
    }

    public async Task<byte[]> GetQuoteAsync(byte[] reportData) => (await enclave.GetEvidenceAsync(reportData)).Data;

    public Task<byte[]> SealAsync(byte[] data, bool unique) => Task.FromResult(enclave.Sealer.Seal(data, unique ? SealPolicy.Unique : SealPolicy.Product));

    public Task<byte[]> UnsealAsync(byte[] blob) => Task.FromResult(enclave.Sealer.Unseal(blob));
}
