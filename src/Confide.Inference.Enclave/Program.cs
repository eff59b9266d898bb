using System.CommandLine;
using Confide.Enclave;
using Confide.Enclave.Runtime;
using Confide.Inference.Hosting;
using Confide.Tee;

// The inference server's enclave entry point. The runtime measures this package (refusing a file
// that differs from its signature), brings up the TEE the host chose, and then the server runs
// inside: model keys are sealed to, or released to, this enclave's own measured identity.
EnclaveContext enclave;
try
{
    enclave = await EnclaveRuntime.StartAsync();
}
catch (Exception ex) when (ex is EnclavePackageException or TeeException)
{
    Console.Error.WriteLine($"confide-inference: {ex.Message}");
    return 1;
}

await using (enclave)
{
    // The same options as 'confide inference serve', less --tee: the host chose the TEE at launch.
    // It stops when the host hangs up (confide run ends, or EnclaveHost is disposed).
    Command serve = InferenceServeCommand.Create(enclave.Tee);
    return await enclave.RunApplicationAsync(hostGone => serve.Parse(args).InvokeAsync(cancellationToken: hostGone));
}
