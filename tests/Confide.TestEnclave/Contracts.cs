namespace Confide.TestEnclave;

/// <summary>The test enclave's ecalls.</summary>
public interface ITestEnclave
{
    Task<int> AddAsync(int a, int b);

    Task<byte[]> EchoAsync(byte[] payload);

    Task<string?> EchoStringAsync(string? text);

    ValueTask<TestRecord> EchoRecordAsync(TestRecord record);

    /// <summary>Waits until <paramref name="parties"/> calls are inside at once (proves concurrency).</summary>
    Task<int> BarrierAsync(int parties);

    Task DelayAsync(int milliseconds, CancellationToken cancellationToken);

    Task<int> GetCancelledCountAsync();

    Task FailAsync(string message);

    /// <summary>The enclave process dies in the middle of a call.</summary>
    Task CrashAsync(int exitCode);

    Task<int> MultiplyOnHostAsync(int a, int b);

    Task<string> CallFailingHostAsync();

    Task<string?> GetEnvironmentAsync(string name);

    Task<string[]> GetIdentityAsync();

    Task<byte[]> GetQuoteAsync(byte[] reportData);

    Task<byte[]> SealAsync(byte[] data, bool unique);

    Task<byte[]> UnsealAsync(byte[] blob);
}

/// <summary>The ocalls the test host offers.</summary>
public interface ITestHost
{
    Task<int> MultiplyAsync(int a, int b);

    Task<string> FailAsync();
}

/// <summary>A contract that differs from <see cref="ITestEnclave"/>: launching with it must fail.</summary>
public interface IOtherEnclave
{
    Task<int> AddAsync(int a, int b);
}

public sealed record TestRecord(string Name, int[] Values, DateTimeOffset When);
