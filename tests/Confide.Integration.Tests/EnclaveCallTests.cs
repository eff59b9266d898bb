using Confide.Attestation.Quotes;
using Confide.Enclave.Calls;
using Confide.Enclave.Hosting;

namespace Confide.Integration.Tests;

/// <summary>Calls across a real process boundary: ecalls, ocalls, errors, cancellation, concurrency, death.</summary>
public sealed class EnclaveCallTests(EnclaveFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ecalls_carry_arguments_and_results_of_every_supported_kind()
    {
        await using EnclaveHost<ITestEnclave> enclave = await fixture.LaunchAsync();

        Assert.Equal(5, await enclave.Calls.AddAsync(2, 3));
        Assert.Null(await enclave.Calls.EchoStringAsync(null));
        Assert.Equal("héllo ✓", await enclave.Calls.EchoStringAsync("héllo ✓"));
        var record = new TestRecord("r", [1, 2, 3], DateTimeOffset.UnixEpoch.AddDays(1));
        TestRecord echoed = await enclave.Calls.EchoRecordAsync(record);
        Assert.Equal(record.Name, echoed.Name);
        Assert.Equal(record.Values, echoed.Values);
        Assert.Equal(record.When, echoed.When);

        byte[] large = new byte[1 << 20];
        Random.Shared.NextBytes(large);
        Assert.Equal(large, await enclave.Calls.EchoAsync(large));
    }

    [Fact]
    public async Task Enclave_makes_ocalls_to_the_host_and_sees_host_failures_as_typed_errors()
    {
        await using EnclaveHost<ITestEnclave> enclave = await fixture.LaunchAsync();

        Assert.Equal(42, await enclave.Calls.MultiplyOnHostAsync(6, 7));
        Assert.Equal("Faulted:System.NotSupportedException", await enclave.Calls.CallFailingHostAsync());
    }

    [Fact]
    public async Task An_exception_in_the_enclave_surfaces_as_a_typed_error_and_the_enclave_keeps_serving()
    {
        await using EnclaveHost<ITestEnclave> enclave = await fixture.LaunchAsync();

        var error = await Assert.ThrowsAsync<EnclaveCallException>(() => enclave.Calls.FailAsync("boom"));
        Assert.Equal(EnclaveCallError.Faulted, error.Error);
        Assert.Equal("System.InvalidOperationException", error.RemoteExceptionType);
        Assert.Contains("boom", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, await enclave.Calls.AddAsync(1, 2));
    }

    [Fact]
    public async Task Calls_run_concurrently_inside_the_enclave()
    {
        await using EnclaveHost<ITestEnclave> enclave = await fixture.LaunchAsync();

        // Each call waits inside the enclave until all eight have arrived: this only completes
        // if the enclave dispatches them at the same time.
        int[] results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => enclave.Calls.BarrierAsync(8)));
        Assert.All(results, r => Assert.Equal(8, r));
    }

    [Fact]
    public async Task Cancelling_a_call_returns_at_once_and_cancels_it_inside_the_enclave()
    {
        await using EnclaveHost<ITestEnclave> enclave = await fixture.LaunchAsync();
        using var cancellation = new CancellationTokenSource();

        Task call = enclave.Calls.DelayAsync(600_000, cancellation.Token);
        await Task.Delay(200, Ct);
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        int cancelled = 0;
        for (int i = 0; i < 600 && cancelled == 0; i++)
        {
            cancelled = await enclave.Calls.GetCancelledCountAsync();
            await Task.Delay(50, Ct);
        }

        Assert.Equal(1, cancelled);
    }

    [Fact]
    public async Task An_enclave_that_dies_fails_pending_and_later_calls_instead_of_hanging()
    {
        await using EnclaveHost<ITestEnclave> enclave = await fixture.LaunchAsync();

        Task pending = enclave.Calls.DelayAsync(600_000, CancellationToken.None);
        var crash = await Assert.ThrowsAsync<EnclaveCallException>(() => enclave.Calls.CrashAsync(3));
        Assert.Equal(EnclaveCallError.ChannelClosed, crash.Error);
        var error = await Assert.ThrowsAsync<EnclaveCallException>(() => pending);
        Assert.Equal(EnclaveCallError.ChannelClosed, error.Error);
        Assert.Equal(3, await enclave.WaitForExitAsync(Ct));
        var after = await Assert.ThrowsAsync<EnclaveCallException>(() => enclave.Calls.AddAsync(1, 1));
        Assert.Equal(EnclaveCallError.ChannelClosed, after.Error);
    }

    [Fact]
    public async Task Only_allow_listed_environment_variables_reach_the_enclave()
    {
        EnclaveHostOptions options = fixture.Options();
        options.Environment["TEST_ALLOWED"] = "yes";
        options.Environment["TEST_SECRET"] = "must not pass";
        await using EnclaveHost<ITestEnclave> enclave = await fixture.LaunchAsync(options: options);

        Assert.Equal("yes", await enclave.Calls.GetEnvironmentAsync("TEST_ALLOWED"));
        Assert.Null(await enclave.Calls.GetEnvironmentAsync("TEST_SECRET"));
        Assert.Null(await enclave.Calls.GetEnvironmentAsync("PATH"));
        Assert.Null(await enclave.Calls.GetEnvironmentAsync("CONFIDE_CHANNEL_TOKEN"));
    }

    [Fact]
    public async Task The_enclave_reports_the_identity_the_host_verified_and_quotes_it()
    {
        await using EnclaveHost<ITestEnclave> enclave = await fixture.LaunchAsync();

        string[] identity = await enclave.Calls.GetIdentityAsync();
        Assert.Equal(enclave.Package.Identity.MrEnclaveHex, identity[0]);
        Assert.Equal(enclave.Package.Identity.MrSignerHex, identity[1]);
        Assert.Equal(["7", "2", "False", "Simulation"], identity[2..]);

        byte[] reportData = [1, 2, 3];
        Quote quote = Quote.Parse(await enclave.Calls.GetQuoteAsync(reportData));
        Assert.Equal(enclave.Package.Identity.MrEnclave, quote.SgxBody!.MrEnclave);
        Assert.Equal(enclave.Package.Identity.MrSigner, quote.SgxBody.MrSigner);
        Assert.Equal(7, quote.SgxBody.IsvProdId);
        Assert.Equal(2, quote.SgxBody.IsvSvn);
        Assert.Equal([1, 2, 3, .. new byte[61]], quote.ReportData);
    }

    [Fact]
    public async Task Sealed_data_outlives_the_enclave_process_and_stays_bound_to_the_signer()
    {
        string package = fixture.CreatePackage();
        byte[] secret = "launch codes"u8.ToArray();
        byte[] productBlob;
        byte[] uniqueBlob;
        await using (EnclaveHost<ITestEnclave> first = await fixture.LaunchAsync(package))
        {
            productBlob = await first.Calls.SealAsync(secret, unique: false);
            uniqueBlob = await first.Calls.SealAsync(secret, unique: true);
        }

        await using (EnclaveHost<ITestEnclave> second = await fixture.LaunchAsync(package))
        {
            Assert.Equal(secret, await second.Calls.UnsealAsync(productBlob));
            Assert.Equal(secret, await second.Calls.UnsealAsync(uniqueBlob));
        }

        // Same code, another signer: neither policy opens the blobs.
        using var otherKey = Confide.Enclave.Signing.EnclaveSigningKey.Generate();
        await using EnclaveHost<ITestEnclave> foreign = await fixture.LaunchAsync(fixture.CreatePackage(key: otherKey));
        var error = await Assert.ThrowsAsync<EnclaveCallException>(() => foreign.Calls.UnsealAsync(productBlob));
        Assert.Equal("Confide.Tee.Sealing.SealingException", error.RemoteExceptionType);
        Assert.Contains("another signer", error.Message, StringComparison.Ordinal);
    }
}
