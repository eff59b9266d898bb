using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Confide.Tee;
using Confide.Tee.Sealing;
using Confide.Tee.Simulation;

namespace Confide.Benchmarks;

/// <summary>
/// Sealing 1 MiB beside raw AES-256-GCM on the same buffers (the same plaintext, the ciphertext at
/// the same place in a blob-sized buffer): what the key derivation, the header and the key check
/// add to the cipher itself.
/// </summary>
[Config(typeof(BenchmarkConfig))]
[CategoriesColumn]
public class SealingBenchmarks
{
    private const int Size = 1024 * 1024;
    private readonly byte[] _plaintext = new byte[Size];
    private readonly byte[] _rawBlob = new byte[EnclaveSealer.GetSealedLength(Size)];
    private readonly byte[] _decrypted = new byte[Size];
    private readonly byte[] _tag = new byte[16];
    private readonly byte[] _nonce = new byte[12];
    private readonly byte[] _sealed = new byte[EnclaveSealer.GetSealedLength(Size)];
    private string _work = "";
    private AesGcm _gcm = null!;
    private SimulationTee _tee = null!;
    private EnclaveSealer _sealer = null!;

    private Span<byte> RawCiphertext => _rawBlob.AsSpan(EnclaveSealer.HeaderSize, Size);

    [GlobalSetup]
    public void Setup()
    {
        RandomNumberGenerator.Fill(_plaintext);
        _work = Directory.CreateTempSubdirectory("confide-bench-seal-").FullName;
        var identity = new TeeIdentity(TeeKind.Simulation, RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32), 1, 1, false);
        _tee = new SimulationTee(SimulatedPlatform.OpenOrCreate(_work), identity, ownsPlatform: true);
        _sealer = new EnclaveSealer(_tee);
        _gcm = new AesGcm(RandomNumberGenerator.GetBytes(32), 16);
        AesGcmEncrypt1MiB();
        _sealer.Seal(_plaintext, SealPolicy.Product, default, _sealed);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _gcm.Dispose();
        _tee.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("seal 1 MiB")]
    public void AesGcmEncrypt1MiB()
    {
        RandomNumberGenerator.Fill(_nonce);
        _gcm.Encrypt(_nonce, _plaintext, RawCiphertext, _tag);
    }

    [Benchmark, BenchmarkCategory("seal 1 MiB")]
    public int Seal1MiB() => _sealer.Seal(_plaintext, SealPolicy.Product, default, _sealed);

    [Benchmark(Baseline = true), BenchmarkCategory("unseal 1 MiB")]
    public void AesGcmDecrypt1MiB() => _gcm.Decrypt(_nonce, RawCiphertext, _tag, _decrypted);

    [Benchmark, BenchmarkCategory("unseal 1 MiB")]
    public int Unseal1MiB() => _sealer.Unseal(_sealed, default, _decrypted);
}
