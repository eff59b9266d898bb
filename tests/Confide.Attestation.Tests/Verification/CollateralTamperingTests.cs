using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;

namespace Confide.Attestation.Tests.Verification;

/// <summary>
/// Real quotes with their real collateral, one collateral item altered: the verdict is never
/// Verified and the error names the item. Each case runs on a verifier that has just verified the
/// untouched pair, so a verifier that remembers verified collateral must still see the change.
/// </summary>
public sealed class CollateralTamperingTests(ITestOutputHelper output)
{
    public static TheoryData<string> Vectors => VerifierVectors.VerifyingNames;

    [Theory]
    [MemberData(nameof(Vectors))]
    public void One_changed_character_of_the_tcb_info_invalidates_its_signature(string name)
    {
        Warm warm = Warm.For(name);
        foreach (int position in Spread(warm.Collateral.TcbInfo.Length, 24))
        {
            warm.AssertRefused(warm.Collateral with { TcbInfo = ChangeCharacter(warm.Collateral.TcbInfo, position) }, VerificationError.InvalidTcbInfoSignature, $"tcb_info[{position}]");
        }
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void One_changed_character_of_the_qe_identity_invalidates_its_signature(string name)
    {
        Warm warm = Warm.For(name);
        foreach (int position in Spread(warm.Collateral.QeIdentity.Length, 24))
        {
            warm.AssertRefused(warm.Collateral with { QeIdentity = ChangeCharacter(warm.Collateral.QeIdentity, position) }, VerificationError.InvalidQeIdentitySignature, $"qe_identity[{position}]");
        }
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Re_serialized_tcb_info_and_qe_identity_with_the_same_content_no_longer_verify(string name)
    {
        Warm warm = Warm.For(name);
        string tcbInfo = JsonNode.Parse(warm.Collateral.TcbInfo)!.ToJsonString(new() { WriteIndented = true });
        string qeIdentity = JsonNode.Parse(warm.Collateral.QeIdentity)!.ToJsonString(new() { WriteIndented = true });
        warm.AssertRefused(warm.Collateral with { TcbInfo = tcbInfo }, VerificationError.InvalidTcbInfoSignature, "indented tcb_info");
        warm.AssertRefused(warm.Collateral with { QeIdentity = qeIdentity }, VerificationError.InvalidQeIdentitySignature, "indented qe_identity");
        warm.AssertRefused(warm.Collateral with { TcbInfo = warm.Collateral.TcbInfo + " " }, VerificationError.InvalidTcbInfoSignature, "tcb_info + space");
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void An_altered_signature_hex_is_refused_as_an_invalid_signature(string name)
    {
        Warm warm = Warm.For(name);
        foreach (int position in new[] { 0, 1, 31, 63, 64, 65, 100, 127 })
        {
            warm.AssertRefused(warm.Collateral with { TcbInfoSignature = ChangeHexDigit(warm.Collateral.TcbInfoSignature, position) }, VerificationError.InvalidTcbInfoSignature, $"tcb_info_signature[{position}]");
            warm.AssertRefused(warm.Collateral with { QeIdentitySignature = ChangeHexDigit(warm.Collateral.QeIdentitySignature, position) }, VerificationError.InvalidQeIdentitySignature, $"qe_identity_signature[{position}]");
        }

        string tcb = warm.Collateral.TcbInfoSignature;
        foreach ((string label, string signature) in new[] { ("shortened", tcb[..^2]), ("lengthened", tcb + "00"), ("empty", ""), ("the QE identity's", warm.Collateral.QeIdentitySignature), ("r and s swapped", tcb[64..] + tcb[..64]) })
        {
            warm.AssertRefused(warm.Collateral with { TcbInfoSignature = signature }, VerificationError.InvalidTcbInfoSignature, $"{label} tcb_info_signature");
        }

        warm.AssertRefused(warm.Collateral with { QeIdentitySignature = warm.Collateral.TcbInfoSignature }, VerificationError.InvalidQeIdentitySignature, "the TCB info's signature on the QE identity");
    }

    [Fact]
    public void Hex_case_does_not_matter_for_signatures_and_crls()
    {
        Warm warm = Warm.For("sgx_v3_phala");
        QuoteCollateral upper = warm.Collateral with
        {
            TcbInfoSignature = warm.Collateral.TcbInfoSignature.ToUpperInvariant(),
            QeIdentitySignature = warm.Collateral.QeIdentitySignature.ToLowerInvariant(),
            PckCrl = warm.Collateral.PckCrl.ToUpperInvariant(),
            RootCaCrl = warm.Collateral.RootCaCrl.ToLowerInvariant(),
        };
        Assert.True(warm.Verify(upper).Verified);
    }

    [Fact]
    public void A_signature_that_is_not_hex_is_malformed_collateral()
    {
        Warm warm = Warm.For("tdx_v4_phala");
        warm.AssertRefused(warm.Collateral with { TcbInfoSignature = "zz" + warm.Collateral.TcbInfoSignature[2..] }, VerificationError.MalformedCollateral, "non-hex tcb_info_signature");
        warm.AssertRefused(warm.Collateral with { QeIdentitySignature = warm.Collateral.QeIdentitySignature[1..] }, VerificationError.MalformedCollateral, "odd-length qe_identity_signature");
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Crls_swapped_for_each_other_are_refused_as_invalid_crls(string name)
    {
        Warm warm = Warm.For(name);
        warm.AssertRefused(warm.Collateral with { PckCrl = warm.Collateral.RootCaCrl }, VerificationError.InvalidCrl, "root CA CRL as the PCK CRL");
        warm.AssertRefused(warm.Collateral with { RootCaCrl = warm.Collateral.PckCrl }, VerificationError.InvalidCrl, "PCK CRL as the root CA CRL");
    }

    [Fact]
    public void The_pck_crl_of_the_other_pck_ca_is_refused()
    {
        // sgx_v3_phala's PCK certificate is issued by the Processor CA, sgx_v3_automata's by the Platform CA.
        Warm processor = Warm.For("sgx_v3_phala");
        Warm platform = Warm.For("sgx_v3_automata");
        processor.AssertRefused(processor.Collateral with { PckCrl = platform.Collateral.PckCrl }, VerificationError.InvalidCrl, "Platform CA CRL for a Processor CA certificate");
        platform.AssertRefused(platform.Collateral with { PckCrl = processor.Collateral.PckCrl }, VerificationError.InvalidCrl, "Processor CA CRL for a Platform CA certificate");
    }

    /// <summary>Every DER byte of both CRLs (of the Platform CA's 2.6 KB CRL every 6th), flipped: the CRL no longer parses or no longer verifies.</summary>
    [Theory]
    [InlineData("sgx_v3_phala", 1)]
    [InlineData("tdx_v4_phala", 6)]
    public void Flipping_a_crl_byte_is_refused_as_an_invalid_crl(string name, int pckCrlStep)
    {
        Warm warm = Warm.For(name);
        var stopwatch = Stopwatch.StartNew();
        var tally = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<string>();
        int count = 0;
        foreach ((string field, int step) in new[] { ("root_ca_crl", 1), ("pck_crl", pckCrlStep) })
        {
            byte[] der = Convert.FromHexString(field == "pck_crl" ? warm.Collateral.PckCrl : warm.Collateral.RootCaCrl);
            for (int i = 0; i < der.Length; i += step, count++)
            {
                string hex = Convert.ToHexString(VerifierVectors.Flipped(der, i));
                QuoteCollateral collateral = field == "pck_crl" ? warm.Collateral with { PckCrl = hex } : warm.Collateral with { RootCaCrl = hex };
                QuoteVerificationResult result = warm.Verify(collateral);
                string key = $"{field}: {(result.Verified ? "Verified" : result.Error)}";
                tally[key] = tally.GetValueOrDefault(key) + 1;
                if (result.Verified || result.Error is not (VerificationError.InvalidCrl or VerificationError.MalformedCollateral))
                {
                    failures.Add($"{field} byte {i}: {Warm.Describe(result)}");
                }
            }
        }

        output.WriteLine($"{name}: {count} CRL flips in {stopwatch.ElapsedMilliseconds} ms: {string.Join(", ", tally.Select(t => $"{t.Key} ×{t.Value}"))}");
        Assert.True(failures.Count == 0, string.Join("; ", failures.Take(20)));
    }

    public static TheoryData<string> ChainFields => new("tcb_info_issuer_chain", "qe_identity_issuer_chain", "pck_crl_issuer_chain");

    [Theory]
    [MemberData(nameof(ChainFields))]
    public void An_issuer_chain_without_its_signing_certificate_or_with_it_twice_is_an_invalid_chain(string field)
    {
        Warm warm = Warm.For("tdx_v4_near");
        string[] pems = SplitPem(Chain(warm.Collateral, field));
        Assert.Equal(2, pems.Length);
        (string signing, string root) = (pems[0], pems[1]);
        warm.AssertRefused(WithChain(warm.Collateral, field, root), VerificationError.InvalidCertificateChain, $"{field}: root only");
        warm.AssertRefused(WithChain(warm.Collateral, field, signing + signing + root), VerificationError.InvalidCertificateChain, $"{field}: signing certificate twice");
        warm.AssertRefused(WithChain(warm.Collateral, field, signing + root + root), VerificationError.InvalidCertificateChain, $"{field}: root twice");
        warm.AssertRefused(WithChain(warm.Collateral, field, signing), VerificationError.InvalidCertificateChain, $"{field}: no root");

        // Reversed, the chain ends in the signing certificate, which is not a trusted root.
        warm.AssertRefused(WithChain(warm.Collateral, field, root + signing), VerificationError.UntrustedRoot, $"{field}: reversed");
    }

    [Fact]
    public void Tcb_info_and_qe_identity_are_checked_against_the_certificate_their_chain_names()
    {
        // The PCK CA chain is a valid Intel chain, but the PCK CA is not a TCB Signing certificate:
        // it is refused for its role before its (non-matching) signature is even checked.
        Warm warm = Warm.For("sgx_v3_automata");
        warm.AssertRefused(warm.Collateral with { TcbInfoIssuerChain = warm.Collateral.PckCrlIssuerChain }, VerificationError.InvalidCertificateChain, "PCK CA as TCB info signer");
        warm.AssertRefused(warm.Collateral with { QeIdentityIssuerChain = warm.Collateral.PckCrlIssuerChain }, VerificationError.InvalidCertificateChain, "PCK CA as QE identity signer");
    }

    [Fact]
    public void An_sgx_quote_with_tdx_tcb_info_or_td_qe_identity_is_a_mismatch()
    {
        // Both Platform CA, so the CRLs of either collateral set fit either quote.
        Warm sgx = Warm.For("sgx_v3_automata");
        QuoteCollateral tdx = VectorVerificationTests.Collateral("tdx_v4_phala");
        sgx.AssertRefused(WithTcbInfoOf(sgx.Collateral, tdx), VerificationError.TcbInfoMismatch, "TDX tcb_info for an SGX quote");
        sgx.AssertRefused(WithQeIdentityOf(sgx.Collateral, tdx), VerificationError.QeIdentityMismatch, "TD_QE identity for an SGX quote");
        sgx.AssertRefused(tdx, VerificationError.TcbInfoMismatch, "all TDX collateral for an SGX quote");
    }

    [Fact]
    public void A_tdx_quote_with_sgx_tcb_info_or_qe_identity_is_a_mismatch()
    {
        Warm tdx = Warm.For("tdx_v4_phala");
        QuoteCollateral sgx = VectorVerificationTests.Collateral("sgx_v3_automata");
        tdx.AssertRefused(WithTcbInfoOf(tdx.Collateral, sgx), VerificationError.TcbInfoMismatch, "SGX tcb_info for a TDX quote");
        tdx.AssertRefused(WithQeIdentityOf(tdx.Collateral, sgx), VerificationError.QeIdentityMismatch, "QE identity for a TDX quote");
        tdx.AssertRefused(sgx, VerificationError.TcbInfoMismatch, "all SGX collateral for a TDX quote");

        // sgx_v3_phala's collateral is the Processor CA's: its PCK CRL issuer chain names another CA.
        tdx.AssertRefused(VectorVerificationTests.Collateral("sgx_v3_phala"), VerificationError.InvalidCertificateChain, "Processor CA collateral for a Platform CA quote");
    }

    [Theory]
    [InlineData("sgx_v3_phala", "sgx_v3_automata")]
    [InlineData("sgx_v3_automata", "sgx_v3_phala")]
    [InlineData("tdx_v4_phala", "tdx_v4_near")]
    [InlineData("tdx_v4_near", "tdx_v4_automata")]
    [InlineData("tdx_v4_automata", "tdx_v4_phala")]
    public void Tcb_info_of_another_fmspc_is_a_mismatch(string name, string other)
    {
        Warm warm = Warm.For(name);
        warm.AssertRefused(WithTcbInfoOf(warm.Collateral, VectorVerificationTests.Collateral(other)), VerificationError.TcbInfoMismatch, $"{other}'s tcb_info");
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void A_verifier_that_trusts_another_root_refuses_the_quote_as_untrusted(string name)
    {
        using X509Certificate2 other = VerifierVectors.SelfSignedCa("Some Other Root CA");
        QuoteVerifier verifier = VerifierVectors.VerifierFor(name, options =>
        {
            options.TrustedRoots.Clear();
            options.TrustedRoots.Add(other);
        });
        byte[] quote = DcapVectors.Quote(name);

        QuoteVerificationResult result = verifier.Verify(quote, VectorVerificationTests.Collateral(name), VerifierVectors.PolicyFor(name));
        Assert.False(result.Verified);
        Assert.Equal(VerificationError.UntrustedRoot, result.Error);

        // The chain is judged before any collateral is needed.
        Assert.Equal(VerificationError.UntrustedRoot, verifier.Verify(quote, null, VerifierVectors.PolicyFor(name)).Error);

        // Allowing simulation does not make a root acceptable that is configured as neither.
        Assert.Equal(VerificationError.UntrustedRoot, verifier.Verify(quote, null, VerifierVectors.PolicyFor(name) with { AllowSimulation = true }).Error);
    }

    [Fact]
    public void Trusting_another_root_as_well_changes_nothing_for_intel_quotes()
    {
        using X509Certificate2 other = VerifierVectors.SelfSignedCa("Additional Root CA");
        QuoteVerifier verifier = VerifierVectors.VerifierFor("tdx_v4_automata", options => options.TrustedRoots.Add(other));
        QuoteVerificationResult result = verifier.Verify(DcapVectors.Quote("tdx_v4_automata"), VectorVerificationTests.Collateral("tdx_v4_automata"), VerificationPolicy.AnyNonRevokedTcb);
        Assert.True(result.Verified, $"{result.Error}: {result.ErrorMessage}");
        Assert.Equal(TcbStatus.OutOfDate, result.TcbStatus);
        Assert.False(result.IsSimulated);
    }

    [Fact]
    public void Collateral_chained_to_another_trusted_root_is_refused_even_when_that_root_is_trusted()
    {
        // A second trusted root signs a "TCB signing" certificate that signs the real TCB info text.
        using X509Certificate2 otherRoot = VerifierVectors.SelfSignedCa("Other Trusted Root CA");
        using ECDsa signingKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Other TCB Signing, O=Not Intel", signingKey, HashAlgorithmName.SHA256);
        using X509Certificate2 signing = request.Create(otherRoot, otherRoot.NotBefore, otherRoot.NotAfter.AddDays(-1), [1, 2, 3, 4]);

        Warm warm = Warm.For("sgx_v3_phala", options => options.TrustedRoots.Add(otherRoot));
        QuoteCollateral resigned = warm.Collateral with
        {
            TcbInfoIssuerChain = signing.ExportCertificatePem() + "\n" + otherRoot.ExportCertificatePem() + "\n",
            TcbInfoSignature = Convert.ToHexString(signingKey.SignData(Encoding.UTF8.GetBytes(warm.Collateral.TcbInfo), HashAlgorithmName.SHA256)),
        };
        warm.AssertRefused(resigned, VerificationError.InvalidCertificateChain, "TCB info chained to another root than the PCK chain");
    }

    [Fact]
    public void Intels_root_configured_only_as_a_simulation_root_makes_real_quotes_simulated()
    {
        QuoteVerifier verifier = VerifierVectors.VerifierFor("tdx_v4_phala", options =>
        {
            options.TrustedRoots.Clear();
            options.SimulationRoots.Add(DcapVectors.IntelRootCertificate());
        });
        byte[] quote = DcapVectors.Quote("tdx_v4_phala");
        QuoteCollateral collateral = VectorVerificationTests.Collateral("tdx_v4_phala");

        Assert.Equal(VerificationError.SimulationNotAllowed, verifier.Verify(quote, collateral, VerificationPolicy.AnyNonRevokedTcb).Error);
        QuoteVerificationResult allowed = verifier.Verify(quote, collateral, VerificationPolicy.AnyNonRevokedTcb with { AllowSimulation = true });
        Assert.True(allowed.Verified, $"{allowed.Error}: {allowed.ErrorMessage}");
        Assert.True(allowed.IsSimulated);

        // And the same collateral, once accepted under AllowSimulation, is not accepted without it.
        Assert.Equal(VerificationError.SimulationNotAllowed, verifier.Verify(quote, collateral, VerificationPolicy.AnyNonRevokedTcb).Error);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Without_collateral_the_result_is_missing_collateral_once_the_quote_signatures_pass(string name)
    {
        QuoteVerifier verifier = VerifierVectors.VerifierFor(name);
        byte[] quote = DcapVectors.Quote(name);
        QuoteVerificationResult result = verifier.Verify(quote, null, VerifierVectors.PolicyFor(name));
        Assert.False(result.Verified);
        Assert.Equal(VerificationError.MissingCollateral, result.Error);
        Assert.NotNull(result.Quote);
        Assert.Null(result.TcbStatus);

        // A tampered quote is refused for its tampering, not for the missing collateral.
        var regions = new QuoteRegions(quote);
        Assert.Equal(VerificationError.InvalidQuoteSignature, verifier.Verify(VerifierVectors.Flipped(quote, regions.Body.Start + 64), null).Error);
        Assert.Equal(VerificationError.InvalidQeReportSignature, verifier.Verify(VerifierVectors.Flipped(quote, regions.QeReport.Start + 64), null).Error);
        Assert.Equal(VerificationError.QeReportDataMismatch, verifier.Verify(VerifierVectors.Flipped(quote, regions.QeAuthData.Start), null).Error);
    }

    public static TheoryData<string, string, VerificationError[]> MalformedFields => new()
    {
        { "root_ca_crl", "zz", [VerificationError.MalformedCollateral] },
        { "root_ca_crl", "abc", [VerificationError.MalformedCollateral] },
        { "root_ca_crl", "", [VerificationError.InvalidCrl, VerificationError.MalformedCollateral] },
        { "root_ca_crl", "3000", [VerificationError.InvalidCrl] },
        { "pck_crl", "not hex at all", [VerificationError.MalformedCollateral] },
        { "pck_crl", "30", [VerificationError.InvalidCrl] },
        { "tcb_info_issuer_chain", "", [VerificationError.MalformedCollateral] },
        { "tcb_info_issuer_chain", "no PEM here", [VerificationError.InvalidCertificateChain] },
        { "tcb_info_issuer_chain", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", [VerificationError.InvalidCertificateChain] },
        { "qe_identity_issuer_chain", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", [VerificationError.InvalidCertificateChain] },
        { "pck_crl_issuer_chain", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", [VerificationError.InvalidCertificateChain] },
        { "tcb_info", "", [VerificationError.InvalidTcbInfoSignature] },
        { "qe_identity", "{}", [VerificationError.InvalidQeIdentitySignature] },
    };

    [Theory]
    [MemberData(nameof(MalformedFields))]
    public void A_malformed_collateral_field_is_refused_as_malformed_or_invalid(string field, string value, VerificationError[] accepted)
    {
        Warm warm = Warm.For("sgx_v3_automata");
        QuoteVerificationResult result = warm.Verify(With(warm.Collateral, field, value));
        Assert.False(result.Verified);
        Assert.True(accepted.Contains(result.Error!.Value), $"{field} = '{value}': {Warm.Describe(result)}");
    }

    [Fact]
    public void A_null_collateral_field_is_malformed_collateral_not_an_exception()
    {
        Warm warm = Warm.For("sgx_v3_automata");
        foreach (string field in new[] { "tcb_info_issuer_chain", "qe_identity_issuer_chain", "pck_crl_issuer_chain" })
        {
            warm.AssertRefused(With(warm.Collateral, field, null!), VerificationError.MalformedCollateral, $"null {field}");
        }

        QuoteVerificationResult nullCrl = warm.Verify(warm.Collateral with { RootCaCrl = null! });
        Assert.True(nullCrl.Error is VerificationError.InvalidCrl or VerificationError.MalformedCollateral, Warm.Describe(nullCrl));
        Assert.Equal(VerificationError.InvalidTcbInfoSignature, warm.Verify(warm.Collateral with { TcbInfoSignature = null! }).Error);
    }

    internal static IEnumerable<int> Spread(int length, int count) =>
        Enumerable.Range(0, count).Select(i => (int)((long)i * (length - 1) / (count - 1))).Distinct();

    /// <summary>Another printable character in the same place.</summary>
    internal static string ChangeCharacter(string text, int position)
    {
        char c = text[position];
        char replacement = char.IsDigit(c) ? (char)('0' + ((c - '0' + 1) % 10)) : c == 'A' ? 'B' : 'A';
        return string.Concat(text.AsSpan(0, position), replacement.ToString(), text.AsSpan(position + 1));
    }

    private static string ChangeHexDigit(string hex, int position)
    {
        int value = Convert.ToInt32(hex[position].ToString(), 16);
        return string.Concat(hex.AsSpan(0, position), ((value + 1) % 16).ToString("x"), hex.AsSpan(position + 1));
    }

    private static QuoteCollateral WithTcbInfoOf(QuoteCollateral collateral, QuoteCollateral other) =>
        collateral with { TcbInfo = other.TcbInfo, TcbInfoSignature = other.TcbInfoSignature, TcbInfoIssuerChain = other.TcbInfoIssuerChain };

    private static QuoteCollateral WithQeIdentityOf(QuoteCollateral collateral, QuoteCollateral other) =>
        collateral with { QeIdentity = other.QeIdentity, QeIdentitySignature = other.QeIdentitySignature, QeIdentityIssuerChain = other.QeIdentityIssuerChain };

    private static string Chain(QuoteCollateral collateral, string field) => field switch
    {
        "tcb_info_issuer_chain" => collateral.TcbInfoIssuerChain,
        "qe_identity_issuer_chain" => collateral.QeIdentityIssuerChain,
        _ => collateral.PckCrlIssuerChain,
    };

    private static QuoteCollateral WithChain(QuoteCollateral collateral, string field, string pem) => With(collateral, field, pem);

    internal static QuoteCollateral With(QuoteCollateral collateral, string field, string value) => field switch
    {
        "pck_crl_issuer_chain" => collateral with { PckCrlIssuerChain = value },
        "root_ca_crl" => collateral with { RootCaCrl = value },
        "pck_crl" => collateral with { PckCrl = value },
        "tcb_info_issuer_chain" => collateral with { TcbInfoIssuerChain = value },
        "tcb_info" => collateral with { TcbInfo = value },
        "tcb_info_signature" => collateral with { TcbInfoSignature = value },
        "qe_identity_issuer_chain" => collateral with { QeIdentityIssuerChain = value },
        "qe_identity" => collateral with { QeIdentity = value },
        "qe_identity_signature" => collateral with { QeIdentitySignature = value },
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
    };

    internal static string Field(QuoteCollateral collateral, string field) => field switch
    {
        "pck_crl_issuer_chain" => collateral.PckCrlIssuerChain,
        "root_ca_crl" => collateral.RootCaCrl,
        "pck_crl" => collateral.PckCrl,
        "tcb_info_issuer_chain" => collateral.TcbInfoIssuerChain,
        "tcb_info" => collateral.TcbInfo,
        "tcb_info_signature" => collateral.TcbInfoSignature,
        "qe_identity_issuer_chain" => collateral.QeIdentityIssuerChain,
        "qe_identity" => collateral.QeIdentity,
        "qe_identity_signature" => collateral.QeIdentitySignature,
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
    };

    /// <summary>Each PEM block of a chain, with its END line's newline.</summary>
    private static string[] SplitPem(string chain)
    {
        const string End = "-----END CERTIFICATE-----";
        return chain.Split(End, StringSplitOptions.None)
            .Where(part => part.Contains("-----BEGIN", StringComparison.Ordinal))
            .Select(part => part.TrimStart('\n') + End + "\n")
            .ToArray();
    }

    /// <summary>A verifier for one vector that has verified the untouched pair (its caches, if any, are warm).</summary>
    private sealed class Warm
    {
        private Warm(string name, QuoteVerifier verifier)
        {
            Name = name;
            Verifier = verifier;
            Quote = DcapVectors.Quote(name);
            Collateral = VectorVerificationTests.Collateral(name);
            VerifierVectors.AssertBaseline(verifier, name, Quote, Collateral);
        }

        public string Name { get; }

        public QuoteVerifier Verifier { get; }

        public byte[] Quote { get; }

        public QuoteCollateral Collateral { get; }

        public static Warm For(string name, Action<QuoteVerifierOptions>? configure = null) => new(name, VerifierVectors.VerifierFor(name, configure));

        public QuoteVerificationResult Verify(QuoteCollateral collateral) => Verifier.Verify(Quote, collateral, VerifierVectors.PolicyFor(Name));

        public void AssertRefused(QuoteCollateral collateral, VerificationError expected, string what)
        {
            QuoteVerificationResult result = Verify(collateral);
            Assert.False(result.Verified, $"{Name}, {what}: verified");
            Assert.True(expected == result.Error, $"{Name}, {what}: expected {expected}, got {Describe(result)}");

            // The untouched pair still verifies afterwards: nothing of the refused collateral was remembered.
            Assert.True(Verify(Collateral).Verified, $"{Name}, after {what}: the untouched collateral no longer verifies");
        }

        public static string Describe(QuoteVerificationResult result) =>
            result.Verified ? $"Verified ({result.TcbStatus})" : $"{result.Error}: {result.ErrorMessage}";
    }
}
