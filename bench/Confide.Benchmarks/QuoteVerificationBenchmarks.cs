using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;

namespace Confide.Benchmarks;

/// <summary>
/// DCAP quote verification against its cost floor: one ECDSA P-256 verification (the baseline),
/// a full verification with collateral already verified (two ECDSA: QE report and quote, the PCK
/// chain being cached too), and one with nothing cached (every chain, CRL and signature checked).
/// Uses the real sgx_v3_automata vector at its recorded verification time.
/// </summary>
[Config(typeof(BenchmarkConfig))]
public class QuoteVerificationBenchmarks
{
    private byte[] _quote = [];
    private QuoteCollateral _collateral = null!;
    private QuoteVerifier _cached = null!;
    private QuoteVerifier _uncached = null!;
    private ECDsa _attestationKey = null!;
    private Quote _parsed = null!;

    [GlobalSetup]
    public void Setup()
    {
        string vectors = FindVectors();
        _quote = File.ReadAllBytes(Path.Combine(vectors, "sgx_v3_automata.quote.bin"));
        _collateral = QuoteCollateral.FromJson(File.ReadAllText(Path.Combine(vectors, "sgx_v3_automata.collateral.json")));
        var at = new PinnedTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1755236700));
        _cached = new QuoteVerifier(new QuoteVerifierOptions { TimeProvider = at });
        _uncached = new QuoteVerifier(new QuoteVerifierOptions { TimeProvider = at, CacheVerifiedCollateral = false });
        _parsed = Quote.Parse(_quote);
        _attestationKey = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = _parsed.AttestationKey[..32], Y = _parsed.AttestationKey[32..] },
        });
        if (!VerifyCached().Verified || !VerifyUncached().Verified || !EcdsaVerify())
        {
            throw new InvalidOperationException("The benchmark vector does not verify.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _attestationKey.Dispose();

    [Benchmark(Baseline = true)]
    public bool EcdsaVerify() =>
        _attestationKey.VerifyData(_parsed.SignedRegion.Span, _parsed.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    [Benchmark]
    public QuoteVerificationResult VerifyCached() => _cached.Verify(_quote, _collateral, VerificationPolicy.AnyNonRevokedTcb);

    [Benchmark]
    public QuoteVerificationResult VerifyUncached() => _uncached.Verify(_quote, _collateral, VerificationPolicy.AnyNonRevokedTcb);

    private static string FindVectors()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "shared", "testvectors", "dcap");
            if (File.Exists(Path.Combine(candidate, "sgx_v3_automata.quote.bin")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("shared/testvectors/dcap was not found above the benchmark binaries.");
    }
}
