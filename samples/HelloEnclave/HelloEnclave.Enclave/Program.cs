using Confide.Enclave.Runtime;
using HelloEnclave.Contract;
using HelloEnclave.Enclave;

// Measure this package, bring up the TEE and connect to the host; then serve the ecalls until the
// host hangs up. Everything the enclave does happens inside HelloEnclaveCalls.
await using EnclaveContext enclave = await EnclaveRuntime.StartAsync();
if (!enclave.IsHosted)
{
    Console.Error.WriteLine("hello-enclave serves ecalls to a host; launch it with EnclaveHost (see HelloEnclave.Host) or 'confide demo'.");
    return 2;
}

await enclave.ServeAsync<IHelloEnclave, IHelloHost>(host => new HelloEnclaveCalls(enclave, host));
return 0;
