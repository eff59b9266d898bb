using System.CommandLine;
using Confide.Enclave;
using Confide.Enclave.Runtime;
using Confide.Ledger.Node.Hosting;
using Confide.Tee;

// A ledger node's enclave entry point. The runtime measures this package (its MRENCLAVE is the code
// id the service admits) and brings up the TEE the host chose; the node runs inside, its secrets
// sealed to this identity and its TLS ending here.
EnclaveContext enclave;
try
{
    enclave = await EnclaveRuntime.StartAsync();
}
catch (Exception ex) when (ex is EnclavePackageException or TeeException)
{
    Console.Error.WriteLine($"confide-ledger: {ex.Message}");
    return 1;
}

await using (enclave)
{
    // 'start', 'join' or 'recover' with the options of 'confide ledger start|join', less --tee. Stops with its host.
    var root = new RootCommand("A Confide ledger node inside an enclave.")
    {
        LedgerNodeCommands.Start(enclave.Tee),
        LedgerNodeCommands.Join(enclave.Tee),
        LedgerNodeCommands.Recover(enclave.Tee),
    };
    return await enclave.RunApplicationAsync(hostGone => root.Parse(args).InvokeAsync(cancellationToken: hostGone));
}
