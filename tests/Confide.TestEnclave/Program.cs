using Confide.Enclave.Runtime;
using Confide.TestEnclave;

// Modes the integration tests use to reproduce launch failures and application enclaves.
if (args is ["--exit-immediately", var code])
{
    Console.Error.WriteLine("test enclave: exiting before connecting, as asked");
    return int.Parse(code, System.Globalization.CultureInfo.InvariantCulture);
}

if (args is ["--hang"])
{
    await Task.Delay(Timeout.Infinite);
}

await using EnclaveContext enclave = await EnclaveRuntime.StartAsync();
if (args is ["--app", var exitCode])
{
    Console.WriteLine($"test enclave running as an application, identity {enclave.Identity.UniqueIdHex}");
    return int.Parse(exitCode, System.Globalization.CultureInfo.InvariantCulture);
}

await enclave.ServeAsync<ITestEnclave, ITestHost>(host => new TestEnclaveCalls(enclave, host));
return 0;
