using BenchmarkDotNet.Running;
using Confide.Benchmarks;

// 'echo-server <socket>' is the raw Unix-socket echo baseline's other process.
if (args is ["echo-server", var socketPath])
{
    await RawEchoServer.RunAsync(socketPath);
    return 0;
}

if (args is ["inference-load"])
{
    await InferenceLoad.RunAsync();
    return 0;
}

if (args is ["key-release"])
{
    await KeyReleaseLatency.RunAsync();
    return 0;
}

if (args is ["ledger-load"])
{
    await Confide.Benchmarks.LedgerLoad.RunAsync();
    return 0;
}

if (args is ["attest-load"])
{
    await AttestationLoad.RunAsync();
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
