using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Confide.Enclave;
using Confide.Enclave.Hosting;
using Confide.Enclave.Signing;
using Confide.Tee;
using HelloEnclave.Contract;

namespace Confide.Benchmarks;

/// <summary>
/// The cost of crossing the host-enclave boundary: an ecall to a real enclave process, beside a
/// raw length-prefixed echo over a Unix socket to another process (the floor for any
/// cross-process call) and a direct in-process call (no boundary at all).
/// </summary>
[Config(typeof(BenchmarkConfig))]
[CategoriesColumn]
public class BoundaryBenchmarks
{
    private readonly byte[] _small = new byte[64];
    private readonly byte[] _large = new byte[1024 * 1024];
    private readonly byte[] _header = new byte[4];
    private readonly byte[] _reply = new byte[1024 * 1024];
    private readonly InProcessEcho _direct = new();
    private string _work = "";
    private EnclaveHost<IHelloEnclave> _enclave = null!;
    private Process _echoProcess = null!;
    private NetworkStream _echo = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        Random.Shared.NextBytes(_small);
        Random.Shared.NextBytes(_large);
        _work = Directory.CreateTempSubdirectory("confide-bench-").FullName;

        string package = Path.Combine(_work, "enclave");
        Directory.CreateDirectory(package);
        foreach (string file in Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "bench-enclave")))
        {
            File.Copy(file, Path.Combine(package, Path.GetFileName(file)));
        }

        using (var key = EnclaveSigningKey.Generate())
        {
            EnclavePackage.Sign(package, key);
        }

        var options = new EnclaveHostOptions { Tee = TeeBackend.Simulation, SimulationStateDirectory = Path.Combine(_work, "simulation") }.WithOcalls<IHelloHost>(new NoOpHost());
        _enclave = await EnclaveHost.LaunchAsync<IHelloEnclave>(package, options);

        string socket = Path.Combine(_work, "echo.sock");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(typeof(BoundaryBenchmarks).Assembly.Location);
        start.ArgumentList.Add("echo-server");
        start.ArgumentList.Add(socket);
        _echoProcess = Process.Start(start)!;
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await client.ConnectAsync(new UnixDomainSocketEndPoint(socket));
                break;
            }
            catch (SocketException) when (attempt < 200)
            {
                await Task.Delay(50);
            }
        }

        _echo = new NetworkStream(client, ownsSocket: true);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _echo.DisposeAsync();
        await _echoProcess.WaitForExitAsync();
        await _enclave.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("64 B round trip")]
    public Task<int> RawSocketEcho64() => RawEchoAsync(_small);

    [Benchmark, BenchmarkCategory("64 B round trip")]
    public Task<byte[]> Ecall64() => _enclave.Calls.EchoAsync(_small, CancellationToken.None);

    [Benchmark, BenchmarkCategory("64 B round trip")]
    public Task<byte[]> DirectCall64() => _direct.EchoAsync(_small, CancellationToken.None);

    [Benchmark(Baseline = true), BenchmarkCategory("1 MiB round trip")]
    public Task<int> RawSocketEcho1MiB() => RawEchoAsync(_large);

    [Benchmark, BenchmarkCategory("1 MiB round trip")]
    public Task<byte[]> Ecall1MiB() => _enclave.Calls.EchoAsync(_large, CancellationToken.None);

    private async Task<int> RawEchoAsync(byte[] payload)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_header, payload.Length);
        await _echo.WriteAsync(_header);
        await _echo.WriteAsync(payload);
        await _echo.ReadExactlyAsync(_header);
        int length = BinaryPrimitives.ReadInt32LittleEndian(_header);
        await _echo.ReadExactlyAsync(_reply.AsMemory(0, length));
        return length;
    }

    private sealed class NoOpHost : IHelloHost
    {
        public Task LogAsync(string message) => Task.CompletedTask;

        public Task<string> GetHostNameAsync() => Task.FromResult("bench");
    }

    /// <summary>The same call with no boundary: what an in-process library would cost.</summary>
    private sealed class InProcessEcho
    {
        public Task<byte[]> EchoAsync(byte[] payload, CancellationToken cancellationToken) => Task.FromResult(payload);
    }
}
