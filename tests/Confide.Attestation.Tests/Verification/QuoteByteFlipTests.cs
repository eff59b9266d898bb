using System.Diagnostics;
using System.Security.Cryptography;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;

namespace Confide.Attestation.Tests.Verification;

/// <summary>
/// Every byte of every region of every verifying vector, flipped (XOR 0xFF) one at a time and
/// verified at the vector's time with <see cref="VerificationPolicy.AnyNonRevokedTcb"/>: the
/// verdict is never Verified and the error names the check that covers the region (dcap.md §4).
/// A flip in the trailing padding is the one change that must not matter.
/// </summary>
/// <remarks>
/// About 16,000 verifications in all (some 6 s on two cores), most of them a parse and one to
/// four ECDSA checks. Every result is recorded; a test fails with the offsets that gave another
/// outcome than expected.
/// </remarks>
public sealed class QuoteByteFlipTests(ITestOutputHelper output)
{
    public static TheoryData<string> Vectors => VerifierVectors.VerifyingNames;

    /// <summary>Vectors whose PCK certificates get every DER byte flipped; the others every 7th.</summary>
    private static readonly string[] FullCertificateSweep = ["sgx_v3_phala", "tdx_v4_phala"];

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Flipping_a_header_byte_is_refused_with_the_error_of_the_field_it_hits(string name)
    {
        // 0..8 version, key type, TEE type: the parser refuses them. 8..12 (v3 QE/PCE SVN, v4+
        // reserved) and 28..48 user data: only the signature covers them. 12..28 QE vendor id: not Intel.
        static VerificationError Expected(int offset) => offset switch
        {
            < 8 => VerificationError.MalformedQuote,
            >= 12 and < 28 => VerificationError.UnsupportedQuote,
            _ => VerificationError.InvalidQuoteSignature,
        };

        Sweep(name, r => r.Header, Expected);
    }

    [Fact]
    public void Flipping_a_byte_of_the_v5_body_descriptor_makes_the_quote_malformed() =>
        Sweep("tdx_v5_automata", r => r.Descriptor!, _ => VerificationError.MalformedQuote);

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Flipping_a_report_body_byte_invalidates_the_quote_signature(string name) =>
        Sweep(name, r => r.Body, _ => VerificationError.InvalidQuoteSignature);

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Flipping_a_quote_signature_byte_invalidates_the_quote_signature(string name) =>
        Sweep(name, r => r.Signature, _ => VerificationError.InvalidQuoteSignature);

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Flipping_an_attestation_key_byte_breaks_the_qe_report_data_binding(string name) =>
        Sweep(name, r => r.AttestationKey, _ => VerificationError.QeReportDataMismatch);

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Flipping_a_qe_report_byte_invalidates_the_qe_report_signature(string name) =>
        Sweep(name, r => r.QeReport, _ => VerificationError.InvalidQeReportSignature);

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Flipping_a_qe_report_signature_byte_invalidates_the_qe_report_signature(string name) =>
        Sweep(name, r => r.QeReportSignature, _ => VerificationError.InvalidQeReportSignature);

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Flipping_a_qe_auth_data_byte_breaks_the_qe_report_data_binding(string name) =>
        Sweep(name, r => r.QeAuthData, _ => VerificationError.QeReportDataMismatch);

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Flipping_a_length_or_type_field_makes_the_quote_malformed(string name)
    {
        (byte[] quote, QuoteCollateral collateral, QuoteVerifier verifier, QuoteRegions regions) = Load(name);
        var failures = new List<string>();
        foreach (int field in regions.LengthAndTypeFields)
        {
            for (int offset = field; offset < field + 2; offset++)
            {
                QuoteVerificationResult result = verifier.Verify(VerifierVectors.Flipped(quote, offset), collateral, VerifierVectors.PolicyFor(name));
                if (result.Verified || result.Error != VerificationError.MalformedQuote)
                {
                    failures.Add($"@{offset}: {Describe(result)}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{name}: {string.Join("; ", failures)}");
    }

    [Theory]
    [InlineData("tdx_v4_phala")]
    [InlineData("tdx_v4_near")]
    [InlineData("tdx_v4_automata")]
    public void Flipping_a_trailing_padding_byte_does_not_change_the_verdict(string name)
    {
        (byte[] quote, QuoteCollateral collateral, QuoteVerifier verifier, QuoteRegions regions) = Load(name);
        QuoteVerificationResult baseline = VerifierVectors.AssertBaseline(verifier, name, quote, collateral);
        Assert.True(regions.Trailing.Length > 0, "the vector has no trailing padding");
        var failures = new List<string>();
        var stopwatch = Stopwatch.StartNew();
        foreach (int offset in regions.Trailing.Offsets())
        {
            QuoteVerificationResult result = verifier.Verify(VerifierVectors.Flipped(quote, offset), collateral, VerifierVectors.PolicyFor(name));
            if (!result.Verified || result.TcbStatus != baseline.TcbStatus || !result.AdvisoryIds.SequenceEqual(baseline.AdvisoryIds)
                || result.Quote!.TrailingByteCount != regions.Trailing.Length)
            {
                failures.Add($"@{offset}: {Describe(result)}");
            }
        }

        output.WriteLine($"{name}: {regions.Trailing.Length} trailing bytes flipped in {stopwatch.ElapsedMilliseconds} ms, all Verified {baseline.TcbStatus}");
        Assert.True(failures.Count == 0, $"{name}: {string.Join("; ", failures.Take(20))}");
    }

    /// <summary>
    /// The PCK chain is not covered by any quote signature: each certificate is protected by its
    /// issuer's signature and the root by its pinned hash. Every DER byte of the three certificates
    /// is flipped (the base64 rewritten in place, so every length stays exact).
    /// </summary>
    [Theory]
    [MemberData(nameof(Vectors))]
    public void Flipping_a_der_byte_of_a_pck_certificate_in_the_quote_is_refused(string name)
    {
        (byte[] quote, QuoteCollateral collateral, QuoteVerifier verifier, QuoteRegions regions) = Load(name);
        VerifierVectors.AssertBaseline(verifier, name, quote, collateral);
        int step = FullCertificateSweep.Contains(name) ? 1 : 7;
        var pem = new PemInQuote(quote, regions.PckChain);
        Assert.Equal(3, pem.Certificates.Count);
        var failures = new List<string>();
        var tally = new SortedDictionary<string, int>(StringComparer.Ordinal);
        string[] roles = ["PCK leaf", "PCK CA", "root"];
        for (int c = 0; c < pem.Certificates.Count; c++)
        {
            byte[] der = pem.Certificates[c].Der;
            for (int i = 0; i < der.Length; i += step)
            {
                byte[] mutated = pem.WithDerByteFlipped(c, i);
                QuoteVerificationResult result;
                try
                {
                    result = verifier.Verify(mutated, collateral, VerifierVectors.PolicyFor(name));
                }
                catch (Exception ex)
                {
                    failures.Add($"{roles[c]} DER byte {i}: {ex.GetType().Name} escaped Verify: {ex.Message}{(failures.Count == 0 ? ex.StackTrace : "")}");
                    continue;
                }

                string key = $"{roles[c]}: {result.Error}";
                tally[key] = tally.GetValueOrDefault(key) + 1;
                if (result.Verified)
                {
                    failures.Add($"{roles[c]} DER byte {i}: Verified");
                }
                else if (c == 2 && result.Error is not (VerificationError.UntrustedRoot or VerificationError.InvalidCertificateChain))
                {
                    // Any change to the root is a root that is not the pinned one (or no certificate at all).
                    failures.Add($"root DER byte {i}: {Describe(result)}");
                }
                else if (c < 2 && result.Error != VerificationError.InvalidCertificateChain)
                {
                    failures.Add($"{roles[c]} DER byte {i}: {Describe(result)}");
                }
            }
        }

        output.WriteLine($"{name}: {string.Join(", ", tally.Select(t => $"{t.Key} ×{t.Value}"))}");
        Assert.True(failures.Count == 0, $"{name}: {failures.Count} unexpected outcomes: {string.Join("; ", failures.Take(20))}");
    }

    private void Sweep(string name, Func<QuoteRegions, QuoteRegion> select, Func<int, VerificationError> expected)
    {
        (byte[] quote, QuoteCollateral collateral, QuoteVerifier verifier, QuoteRegions regions) = Load(name);
        VerifierVectors.AssertBaseline(verifier, name, quote, collateral);
        QuoteRegion region = select(regions);
        Assert.True(region.Length > 0, $"{name}: the {region.Name} is empty");
        var failures = new List<string>();
        var tally = new SortedDictionary<VerificationError, int>();
        var stopwatch = Stopwatch.StartNew();
        foreach (int offset in region.Offsets())
        {
            QuoteVerificationResult result = verifier.Verify(VerifierVectors.Flipped(quote, offset), collateral, VerifierVectors.PolicyFor(name));
            if (!result.Verified)
            {
                tally[result.Error!.Value] = tally.GetValueOrDefault(result.Error!.Value) + 1;
            }

            if (result.Verified || result.Error != expected(offset))
            {
                failures.Add($"@{offset}: {Describe(result)} (expected {expected(offset)})");
            }
        }

        output.WriteLine($"{name} {region.Name} [{region.Start}, {region.End}): {string.Join(", ", tally.Select(t => $"{t.Key} ×{t.Value}"))} in {stopwatch.ElapsedMilliseconds} ms");
        Assert.True(failures.Count == 0, $"{name} {region.Name}: {failures.Count} of {region.Length} flips gave another outcome: {string.Join("; ", failures.Take(20))}");
    }

    private static (byte[] Quote, QuoteCollateral Collateral, QuoteVerifier Verifier, QuoteRegions Regions) Load(string name)
    {
        byte[] quote = DcapVectors.Quote(name);
        return (quote, VectorVerificationTests.Collateral(name), VerifierVectors.VerifierFor(name), new QuoteRegions(quote));
    }

    private static string Describe(QuoteVerificationResult result) =>
        result.Verified ? $"Verified ({result.TcbStatus})" : $"{result.Error}: {result.ErrorMessage}";
}

/// <summary>The PEM certificates of a quote's PCK chain, and copies of the quote with one DER byte changed.</summary>
internal sealed class PemInQuote
{
    private readonly byte[] _quote;

    public PemInQuote(byte[] quote, QuoteRegion chain)
    {
        _quote = quote;
        string text = System.Text.Encoding.ASCII.GetString(quote, chain.Start, chain.Length);
        int position = 0;
        while (PemEncoding.TryFind(text.AsSpan(position), out PemFields fields))
        {
            Range base64 = fields.Base64Data;
            int start = position + base64.Start.Value;
            int end = position + base64.End.Value;
            Certificates.Add(new PemCertificate(chain.Start + start, chain.Start + end, Convert.FromBase64String(text[start..end])));
            position += fields.Location.End.Value;
        }
    }

    public List<PemCertificate> Certificates { get; } = [];

    /// <summary>The quote with DER byte <paramref name="index"/> of certificate <paramref name="certificate"/> XORed with <paramref name="mask"/>, re-encoded in place.</summary>
    public byte[] WithDerByteFlipped(int certificate, int index, byte mask = 0xFF)
    {
        PemCertificate pem = Certificates[certificate];
        byte[] der = (byte[])pem.Der.Clone();
        der[index] ^= mask;
        return WithDer(certificate, der);
    }

    /// <summary>The quote with certificate <paramref name="certificate"/> replaced by a DER of the same length.</summary>
    public byte[] WithDer(int certificate, byte[] der)
    {
        PemCertificate pem = Certificates[certificate];
        Assert.Equal(pem.Der.Length, der.Length);
        string base64 = Convert.ToBase64String(der);
        byte[] copy = (byte[])_quote.Clone();
        int next = 0;
        for (int i = pem.Base64Start; i < pem.Base64End; i++)
        {
            if (copy[i] is not ((byte)'\n' or (byte)'\r' or (byte)' ' or (byte)'\t'))
            {
                copy[i] = (byte)base64[next++];
            }
        }

        Assert.Equal(base64.Length, next);
        return copy;
    }
}

internal sealed record PemCertificate(int Base64Start, int Base64End, byte[] Der);
