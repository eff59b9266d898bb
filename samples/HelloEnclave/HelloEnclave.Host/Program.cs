using Confide.Enclave.Hosting;
using HelloEnclave.Contract;

// Usage: HelloEnclave.Host <signed package folder>
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: HelloEnclave.Host <signed-enclave-package-folder>");
    return 2;
}

var options = new EnclaveHostOptions().WithOcalls<IHelloHost>(new HostCalls());
await using EnclaveHost<IHelloEnclave> enclave = await EnclaveHost.LaunchAsync<IHelloEnclave>(args[0], options);
Console.WriteLine(await enclave.Calls.GreetAsync("world", CancellationToken.None));
return 0;

/// <summary>The ocalls this host offers the enclave.</summary>
internal sealed class HostCalls : IHelloHost
{
    public Task LogAsync(string message)
    {
        Console.WriteLine($"[enclave log] {message}");
        return Task.CompletedTask;
    }

    public Task<string> GetHostNameAsync() => Task.FromResult(Environment.MachineName);
}
