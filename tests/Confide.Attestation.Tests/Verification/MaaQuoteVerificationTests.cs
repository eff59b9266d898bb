using System.Security.Cryptography;
using System.Text.Json;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;

namespace Confide.Attestation.Tests.Verification;

/// <summary>
/// The four real SGX quotes of the Azure Attestation samples (shared/testvectors/maa), for which no
/// collateral exists: everything that needs none (PCK chain to Intel's root, QE report signature
/// and binding, quote signature) must pass, and the verdict must say that collateral is missing.
/// </summary>
public sealed class MaaQuoteVerificationTests
{
    private static readonly byte[] EnclaveHeldData = [1, 2, 3, 4, 5, 6];

    public static TheoryData<string> Files => new("release", "debug", "prodid", "securityversion");

    /// <summary>The README table: mrenclave, flags, isvprodid, isvsvn.</summary>
    public static TheoryData<string, string, ulong, ushort, ushort> Table => new()
    {
        { "release", "d37d983a85d63fb49649610e2eba0930ecdbff6d113aca3ff3fc7261696c0134", 0x5, 1, 1 },
        { "debug", "3e2df98fc7fd042b842121cae6a8086d546e7970db55103725cc1dcbc2c48814", 0x7, 1, 1 },
        { "prodid", "d37d983a85d63fb49649610e2eba0930ecdbff6d113aca3ff3fc7261696c0134", 0x5, 9999, 1 },
        { "securityversion", "d37d983a85d63fb49649610e2eba0930ecdbff6d113aca3ff3fc7261696c0134", 0x5, 1, 8888 },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Without_collateral_every_signature_passes_and_the_verdict_is_missing_collateral(string file)
    {
        byte[] quote = Quote(file);
        QuoteVerificationResult result = new QuoteVerifier().Verify(quote, null, VerificationPolicy.AnyNonRevokedTcb);

        Assert.False(result.Verified);
        Assert.True(result.Error == VerificationError.MissingCollateral, $"{result.Error}: {result.ErrorMessage}");
        Assert.NotNull(result.Quote);
        Assert.Null(result.TcbStatus);
        Assert.False(result.IsSimulated);

        // The strict default policy, and the debug quote, change nothing: policy is judged after collateral.
        Assert.Equal(VerificationError.MissingCollateral, new QuoteVerifier().Verify(quote, null).Error);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void A_flipped_byte_is_refused_by_the_check_that_covers_it(string file)
    {
        byte[] quote = Quote(file);
        var verifier = new QuoteVerifier();
        var regions = new QuoteRegions(quote);
        (int Offset, VerificationError Error)[] cases =
        [
            (112, VerificationError.InvalidQuoteSignature),                     // MRENCLAVE
            (regions.Body.Start + 256, VerificationError.InvalidQuoteSignature), // ISVPRODID
            (regions.Body.End - 1, VerificationError.InvalidQuoteSignature),     // report data
            (40, VerificationError.InvalidQuoteSignature),                      // header user data
            (regions.Signature.Start + 10, VerificationError.InvalidQuoteSignature),
            (regions.AttestationKey.Start + 10, VerificationError.QeReportDataMismatch),
            (regions.QeReport.Start + 64, VerificationError.InvalidQeReportSignature),
            (regions.QeReportSignature.Start + 40, VerificationError.InvalidQeReportSignature),
            (regions.QeAuthData.Start + 5, VerificationError.QeReportDataMismatch),
        ];

        foreach ((int offset, VerificationError error) in cases)
        {
            QuoteVerificationResult result = verifier.Verify(VerifierVectors.Flipped(quote, offset), null);
            Assert.False(result.Verified);
            Assert.True(error == result.Error, $"{file} @{offset}: expected {error}, got {result.Error}: {result.ErrorMessage}");
        }

        // And the untouched quote after them: still only the collateral is missing.
        Assert.Equal(VerificationError.MissingCollateral, verifier.Verify(quote, null).Error);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_report_body_byte_is_covered_by_the_quote_signature(string file)
    {
        byte[] quote = Quote(file);
        var verifier = new QuoteVerifier();
        var regions = new QuoteRegions(quote);
        foreach (int offset in regions.Body.Offsets())
        {
            VerificationError? error = verifier.Verify(VerifierVectors.Flipped(quote, offset), null).Error;
            Assert.True(error == VerificationError.InvalidQuoteSignature, $"{file} @{offset}: {error}");
        }
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void The_parsed_identity_is_the_one_the_readme_lists(string file, string mrEnclave, ulong flags, ushort productId, ushort securityVersion)
    {
        byte[] quote = Quote(file);
        QuoteVerificationResult result = new QuoteVerifier().Verify(quote, null);
        SgxReportBody body = Assert.IsType<SgxReportBody>(result.Quote!.SgxBody);

        Assert.Equal(4600, quote.Length);
        Assert.Equal(3, result.Quote.Version);
        Assert.Equal(QuoteHeader.EcdsaP256KeyType, result.Quote.Header.AttestationKeyType);
        Assert.Equal(TeeType.Sgx, result.Quote.TeeType);
        Assert.Equal(CertificationDataTypes.PckCertificateChain, result.Quote.CertificationDataType);
        Assert.Equal(9, result.Quote.Header.QeSvn);
        Assert.Equal(14, result.Quote.Header.PceSvn);
        Assert.Equal(9, result.Quote.QeReport.IsvSvn);

        Assert.Equal(mrEnclave, Convert.ToHexStringLower(body.MrEnclave));
        Assert.Equal("feb995eb86c349ac98e5afbbb5732ca7376ec9979002702ea17ad476e0853a04", Convert.ToHexStringLower(body.MrSigner));
        Assert.Equal(flags, body.Flags);
        Assert.Equal((flags & 0x2) != 0, body.IsDebug);
        Assert.Equal((flags & 0x2) != 0, result.Quote.IsDebug);
        Assert.Equal(productId, body.IsvProdId);
        Assert.Equal(securityVersion, body.IsvSvn);
        Assert.Equal([.. SHA256.HashData(EnclaveHeldData), .. new byte[32]], body.ReportData);

        // The sample's own JSON says the same.
        JsonElement info = Info(file);
        Assert.Equal(info.GetProperty("MrEnclaveHex").GetString()!.ToLowerInvariant(), Convert.ToHexStringLower(body.MrEnclave));
        Assert.Equal(info.GetProperty("MrSignerHex").GetString()!.ToLowerInvariant(), Convert.ToHexStringLower(body.MrSigner));
        Assert.Equal(Convert.FromHexString(info.GetProperty("ProductIdHex").GetString()!)[..2], BitConverter.GetBytes(body.IsvProdId));
        Assert.Equal(info.GetProperty("SecurityVersion").GetInt32(), body.IsvSvn);
        Assert.Equal(info.GetProperty("Attributes").GetUInt64(), body.Flags);
        Assert.Equal(EnclaveHeldData, Convert.FromHexString(info.GetProperty("EnclaveHeldDataHex").GetString()!));
    }

    [Fact]
    public async Task A_provider_without_collateral_gives_missing_collateral_and_is_asked_for_the_quotes_platform()
    {
        byte[] quote = Quote("release");
        var provider = new RefusingProvider();
        QuoteVerificationResult result = await new QuoteVerifier().VerifyAsync(quote, provider, cancellationToken: TestContext.Current.CancellationToken);

        Assert.False(result.Verified);
        Assert.Equal(VerificationError.MissingCollateral, result.Error);
        CollateralRequest request = Assert.Single(provider.Requests);
        Assert.Equal(TeeType.Sgx, request.TeeType);
        Assert.True(QuoteVerifier.TryDescribe(result.Quote!, out CollateralRequest? described));
        Assert.Equal(described!.FmspcHex, request.FmspcHex);
        Assert.Equal(described.PckCa, request.PckCa);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Collateral_of_another_platform_is_refused_as_a_tcb_info_mismatch(string file)
    {
        // sgx_v3_phala's collateral is also the Processor CA's (so its PCK CRL fits), for FMSPC
        // 00A067110000; these quotes come from a 00906ED50000 platform.
        byte[] quote = Quote(file);
        QuoteVerificationResult result = VectorVerificationTests.Verify("sgx_v3_phala", VerifierVectors.VerifyAt("sgx_v3_phala"), VerificationPolicy.AnyNonRevokedTcb, quote);
        Assert.False(result.Verified);
        Assert.True(result.Error == VerificationError.TcbInfoMismatch, $"{result.Error}: {result.ErrorMessage}");
        Assert.True(QuoteVerifier.TryDescribe(result.Quote!, out CollateralRequest? request));
        Assert.Equal("00906ed50000", request!.FmspcHex);
        Assert.Equal(PckCaType.Processor, request.PckCa);
    }

    [Fact]
    public void A_verifier_without_intels_root_refuses_the_maa_quotes_as_untrusted()
    {
        using var other = VerifierVectors.SelfSignedCa("Not Intel Root CA");
        var options = new QuoteVerifierOptions();
        options.TrustedRoots.Clear();
        options.TrustedRoots.Add(other);
        Assert.Equal(VerificationError.UntrustedRoot, new QuoteVerifier(options).Verify(Quote("release"), null).Error);
    }

    private static byte[] Quote(string file) => Convert.FromHexString(Info(file).GetProperty("QuoteHex").GetString()!);

    private static JsonElement Info(string file)
    {
        string directory = Path.GetFullPath(Path.Combine(DcapVectors.Directory, "..", "maa"));
        string path = Path.Combine(directory, $"enclave.info.{file}.json");
        if (!File.Exists(path))
        {
            Assert.Skip($"MAA test vectors not found: no '{path}'. They are expected beside the repository (shared/testvectors/maa).");
        }

        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
        return document.RootElement.Clone();
    }

    private sealed class RefusingProvider : ICollateralProvider
    {
        public List<CollateralRequest> Requests { get; } = [];

        public ValueTask<QuoteCollateral> GetCollateralAsync(CollateralRequest request, CancellationToken cancellationToken = default)
        {
            Requests.Add(request);
            throw new CollateralException($"No collateral for FMSPC {request.FmspcHex}.");
        }
    }
}
