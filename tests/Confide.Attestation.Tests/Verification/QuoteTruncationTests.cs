using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;

namespace Confide.Attestation.Tests.Verification;

/// <summary>
/// A real quote cut at every length: a malformed quote, never an exception, never verified, except
/// where only trailing padding was cut off (the declared lengths still hold, so the verdict stands).
/// </summary>
public sealed class QuoteTruncationTests
{
    [Theory]
    [InlineData("sgx_v3_phala")]
    [InlineData("tdx_v4_phala")]
    public void A_quote_cut_at_any_length_is_malformed_unless_only_padding_was_cut(string name)
    {
        byte[] quote = DcapVectors.Quote(name);
        QuoteCollateral collateral = VectorVerificationTests.Collateral(name);
        QuoteVerifier verifier = VerifierVectors.VerifierFor(name);
        QuoteVerificationResult baseline = VerifierVectors.AssertBaseline(verifier, name, quote, collateral);
        var regions = new QuoteRegions(quote);
        var failures = new List<string>();

        for (int length = 0; length < quote.Length; length++)
        {
            QuoteVerificationResult result = verifier.Verify(quote.AsSpan(0, length), collateral, VerifierVectors.PolicyFor(name));
            bool onlyPadding = length >= regions.Trailing.Start;
            if (onlyPadding ? !result.Verified || result.TcbStatus != baseline.TcbStatus : result.Verified || result.Error != VerificationError.MalformedQuote)
            {
                failures.Add($"length {length}: {(result.Verified ? "Verified" : $"{result.Error}: {result.ErrorMessage}")}");
            }
        }

        Assert.True(failures.Count == 0, $"{name}: {string.Join("; ", failures.Take(20))}");
    }

    [Theory]
    [MemberData(nameof(VerifierVectors.VerifyingNames), MemberType = typeof(VerifierVectors))]
    public void A_quote_cut_inside_the_certification_data_is_malformed_and_names_where(string name)
    {
        byte[] quote = DcapVectors.Quote(name);
        var regions = new QuoteRegions(quote);
        QuoteVerifier verifier = VerifierVectors.VerifierFor(name);
        int cut = regions.PckChain.Start + (regions.PckChain.Length / 2);

        QuoteVerificationResult result = verifier.Verify(quote.AsSpan(0, cut), VectorVerificationTests.Collateral(name), VerifierVectors.PolicyFor(name));

        Assert.False(result.Verified);
        Assert.Equal(VerificationError.MalformedQuote, result.Error);
        Assert.Null(result.Quote);
        Assert.Contains("offset", result.ErrorMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sgx_v3_phala")]
    [InlineData("tdx_v4_automata")]
    public void Bytes_appended_to_a_quote_are_trailing_bytes_and_do_not_change_the_verdict(string name)
    {
        byte[] quote = DcapVectors.Quote(name);
        QuoteCollateral collateral = VectorVerificationTests.Collateral(name);
        QuoteVerifier verifier = VerifierVectors.VerifierFor(name);
        QuoteVerificationResult baseline = VerifierVectors.AssertBaseline(verifier, name, quote, collateral);

        QuoteVerificationResult result = verifier.Verify([.. quote, 0xDE, 0xAD, 0xBE, 0xEF], collateral, VerifierVectors.PolicyFor(name));

        Assert.True(result.Verified, $"{result.Error}: {result.ErrorMessage}");
        Assert.Equal(baseline.TcbStatus, result.TcbStatus);
        Assert.Equal(baseline.Quote!.TrailingByteCount + 4, result.Quote!.TrailingByteCount);
    }

    [Fact]
    public void A_quote_over_the_size_limit_is_malformed_even_when_the_excess_is_padding()
    {
        byte[] quote = DcapVectors.Quote("tdx_v4_automata");
        byte[] padded = [.. quote, .. new byte[Quotes.Quote.MaxSize - quote.Length + 1]];
        QuoteVerificationResult result = VerifierVectors.VerifierFor("tdx_v4_automata").Verify(padded, VectorVerificationTests.Collateral("tdx_v4_automata"), VerificationPolicy.AnyNonRevokedTcb);
        Assert.False(result.Verified);
        Assert.Equal(VerificationError.MalformedQuote, result.Error);
    }
}
