using System.Numerics;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Tee.Simulation;
using Confide.Tee.Tests.Support;

namespace Confide.Tee.Tests;

/// <summary>
/// Simulated evidence is a real SGX ECDSA quote v3 with real collateral: everything Intel's
/// verifier checks (dcap.md §4) holds, checked here by hand with <see cref="DcapChecks"/>, except
/// that it chains to the simulation root instead of Intel's.
/// </summary>
public sealed class SimulatedEvidenceTests : IDisposable
{
    private static readonly byte[] RequestedData = Encoding.ASCII.GetBytes("bind me: public key hash");

    private readonly TempDirectory _temp = new();
    private readonly FixedTimeProvider _clock = FixedTimeProvider.AtCurrentSecond();
    private readonly SimulatedPlatform _platform;
    private readonly TeeIdentity _identity = Identities.Simulated(productId: 0x1234, securityVersion: 0x0502);
    private readonly SimulationTee _tee;

    public SimulatedEvidenceTests()
    {
        _platform = SimulatedPlatform.OpenOrCreate(_temp.Combine("state"), _clock);
        _tee = new SimulationTee(_platform, _identity);
    }

    public void Dispose()
    {
        _tee.Dispose();
        _platform.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Evidence_IsASimulatedSgxQuote_WithCollateral()
    {
        TeeEvidence evidence = await GetEvidenceAsync();

        Assert.Equal(EvidenceFormat.SgxQuote, evidence.Format);
        Assert.True(evidence.IsSimulated);
        Assert.True(_tee.IsSimulated);
        Assert.Equal(TeeKind.Simulation, _tee.Kind);
        Assert.NotNull(evidence.CollateralJson);
    }

    [Fact]
    public async Task Quote_ParsesAsVersion3_EcdsaP256_FromIntelsQuotingEnclaveVendor()
    {
        Quote quote = Quote.Parse((await GetEvidenceAsync()).Data);

        Assert.Equal(3, quote.Version);
        Assert.Equal(QuoteHeader.EcdsaP256KeyType, quote.Header.AttestationKeyType);
        Assert.Equal(2, quote.Header.AttestationKeyType);
        Assert.Equal(TeeType.Sgx, quote.TeeType);
        Assert.True(quote.Header.IsIntelQe);
        Assert.Equal(_platform.QeSvn, quote.Header.QeSvn);
        Assert.Equal(_platform.PceSvn, quote.Header.PceSvn);
        Assert.Equal([.. _platform.QeId, 0, 0, 0, 0], quote.Header.UserData);
        Assert.Equal(432, quote.SignedLength);
        Assert.Equal(0, quote.TrailingByteCount);
        Assert.Equal(CertificationDataTypes.PckCertificateChain, quote.CertificationDataType);
    }

    [Fact]
    public async Task QuoteBody_CarriesTheIdentity_AndTheRequestedDataZeroPadded()
    {
        Quote quote = Quote.Parse((await GetEvidenceAsync()).Data);
        SgxReportBody body = Assert.IsType<SgxReportBody>(quote.SgxBody);

        Assert.Equal(_identity.UniqueId, body.MrEnclave);
        Assert.Equal(_identity.SignerId, body.MrSigner);
        Assert.Equal(_identity.ProductId, body.IsvProdId);
        Assert.Equal(_identity.SecurityVersion, body.IsvSvn);
        Assert.False(body.IsDebug);
        Assert.True(body.AttributeFlags.HasFlag(SgxAttributeFlags.Initted));

        byte[] expected = new byte[64];
        RequestedData.CopyTo(expected, 0);
        Assert.Equal(expected, body.ReportData);
        Assert.Equal(expected, quote.ReportData);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(64)]
    public async Task ReportData_OfAnyLengthUpTo64_IsZeroPaddedTo64(int length)
    {
        byte[] data = Enumerable.Range(1, length).Select(i => (byte)i).ToArray();

        TeeEvidence evidence = await _tee.GetEvidenceAsync(data, TestContext.Current.CancellationToken);

        byte[] reportData = Quote.Parse(evidence.Data).ReportData;
        Assert.Equal(data, reportData[..length]);
        Assert.All(reportData[length..], b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task DebugIdentity_SetsTheDebugAttribute()
    {
        using var debugTee = new SimulationTee(_platform, Identities.Simulated(debug: true));

        TeeEvidence evidence = await debugTee.GetEvidenceAsync(RequestedData, TestContext.Current.CancellationToken);

        Assert.True(Quote.Parse(evidence.Data).IsDebug);
        Assert.True(DcapChecks.QuoteSignatureIsValid(Quote.Parse(evidence.Data)));
    }

    [Fact]
    public async Task ReportDataLongerThan64Bytes_IsAnInvalidRequest()
    {
        TeeException error = await Assert.ThrowsAsync<TeeException>(
            async () => await _tee.GetEvidenceAsync(new byte[65], TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.InvalidRequest, error.Error);
    }

    [Fact]
    public async Task QuoteSignature_VerifiesWithTheAttestationKey_OverHeaderAndBody()
    {
        Quote quote = Quote.Parse((await GetEvidenceAsync()).Data);

        Assert.True(DcapChecks.QuoteSignatureIsValid(quote));
        Assert.Equal(_platform.AttestationKey.ExportParameters(false).Q.X, quote.AttestationKey[..32]);
        Assert.Equal(_platform.AttestationKey.ExportParameters(false).Q.Y, quote.AttestationKey[32..]);
    }

    [Fact]
    public async Task QeReportSignature_VerifiesWithThePckLeafFromTheQuotesOwnChain()
    {
        Quote quote = Quote.Parse((await GetEvidenceAsync()).Data);
        X509Certificate2[] chain = DcapChecks.ParsePemChain(quote.PckCertificateChainPem!);

        Assert.Equal(3, chain.Length);
        Assert.Equal(_platform.PckCertificate.RawData, chain[0].RawData);
        Assert.Equal(_platform.PckCaCertificate.RawData, chain[1].RawData);
        Assert.Equal(_platform.RootCertificate.RawData, chain[2].RawData);
        Assert.True(DcapChecks.QeReportSignatureIsValid(quote, chain[0]));
    }

    [Fact]
    public async Task QeReportData_IsTheHashOfAttestationKeyAndAuthData_ThenZeros()
    {
        Quote quote = Quote.Parse((await GetEvidenceAsync()).Data);

        Assert.True(DcapChecks.QeReportDataBindsAttestationKey(quote));
        Assert.Equal(32, quote.QeAuthData.Length);
        Assert.False(quote.QeReport.IsDebug);
    }

    [Fact]
    public async Task PckChain_BuildsToTheSimulationRoot_AsTheOnlyTrustAnchor()
    {
        Quote quote = Quote.Parse((await GetEvidenceAsync()).Data);
        X509Certificate2[] pem = DcapChecks.ParsePemChain(quote.PckCertificateChainPem!);

        X509Certificate2[]? built = DcapChecks.BuildChain(pem[0], _platform.RootCertificate, [pem[1]]);

        Assert.NotNull(built);
        Assert.Equal([pem[0].RawData, pem[1].RawData, _platform.RootCertificate.RawData], built.Select(c => c.RawData));
        Assert.Equal(pem[2].RawData, _platform.RootCertificate.RawData);
    }

    [Fact]
    public async Task PckChain_DoesNotBuildToTheRealIntelRoot()
    {
        using X509Certificate2 intelRoot = DcapVectors.IntelRootCertificate();
        Quote quote = Quote.Parse((await GetEvidenceAsync()).Data);
        X509Certificate2[] pem = DcapChecks.ParsePemChain(quote.PckCertificateChainPem!);

        // Even with every certificate of the simulated chain at hand, Intel's root anchors nothing.
        Assert.Null(DcapChecks.BuildChain(pem[0], intelRoot, pem[1..]));
    }

    [Fact]
    public async Task PckLeaf_IsNamedLikeIntels_AndCarriesThePlatformsSgxExtension()
    {
        Quote quote = Quote.Parse((await GetEvidenceAsync()).Data);
        X509Certificate2 leaf = DcapChecks.ParsePemChain(quote.PckCertificateChainPem!)[0];

        Assert.Contains("SGX PCK Certificate", leaf.GetNameInfo(X509NameType.SimpleName, forIssuer: false), StringComparison.Ordinal);
        SgxPckExtensions extension = SgxPckExtensions.FromCertificate(leaf);
        Assert.Equal(_platform.Fmspc, extension.Fmspc);
        Assert.Equal(_platform.TcbComponents, extension.TcbComponents);
        Assert.Equal(_platform.TcbComponents, extension.CpuSvn);
        Assert.Equal(_platform.PceSvn, extension.PceSvn);
        Assert.Equal(new byte[2], extension.PceId);
        Assert.Equal(_platform.PceSvn, quote.Header.PceSvn);
    }

    [Fact]
    public async Task TcbInfoAndQeIdentity_AreSignedOverTheirExactText_ByTheTcbSigningCertificate()
    {
        QuoteCollateral collateral = await GetCollateralAsync();
        X509Certificate2[] tcbChain = DcapChecks.ParsePemChain(collateral.TcbInfoIssuerChain);
        X509Certificate2[] qeChain = DcapChecks.ParsePemChain(collateral.QeIdentityIssuerChain);

        Assert.Equal(_platform.TcbSigningCertificate.RawData, tcbChain[0].RawData);
        Assert.Equal(_platform.RootCertificate.RawData, tcbChain[1].RawData);
        Assert.Equal(_platform.TcbSigningCertificate.RawData, qeChain[0].RawData);
        Assert.NotNull(DcapChecks.BuildChain(tcbChain[0], _platform.RootCertificate, []));

        Assert.True(DcapChecks.CollateralSignatureIsValid(collateral.TcbInfo, collateral.TcbInfoSignature, tcbChain[0]));
        Assert.True(DcapChecks.CollateralSignatureIsValid(collateral.QeIdentity, collateral.QeIdentitySignature, qeChain[0]));

        // The signature is over the exact text: re-serializing or touching it breaks it.
        string reserialized = JsonSerializer.Serialize(JsonDocument.Parse(collateral.TcbInfo).RootElement, new JsonSerializerOptions { WriteIndented = true });
        Assert.False(DcapChecks.CollateralSignatureIsValid(reserialized, collateral.TcbInfoSignature, tcbChain[0]));
        Assert.False(DcapChecks.CollateralSignatureIsValid(collateral.QeIdentity, collateral.TcbInfoSignature, tcbChain[0]));
    }

    [Fact]
    public async Task Crls_ParseAndAreSignedByTheirIssuers_ValidFromAnHourAgoFor30Days()
    {
        QuoteCollateral collateral = await GetCollateralAsync();
        byte[] rootCrlDer = Convert.FromHexString(collateral.RootCaCrl);
        byte[] pckCrlDer = Convert.FromHexString(collateral.PckCrl);
        X509Certificate2[] pckCrlIssuerChain = DcapChecks.ParsePemChain(collateral.PckCrlIssuerChain);

        // .NET's own CRL reader accepts both.
        CertificateRevocationListBuilder.Load(rootCrlDer, out BigInteger rootCrlNumber);
        CertificateRevocationListBuilder.Load(pckCrlDer, out BigInteger pckCrlNumber);
        Assert.True(rootCrlNumber > 0);
        Assert.True(pckCrlNumber > 0);

        DcapChecks.Crl rootCrl = DcapChecks.ParseCrl(rootCrlDer);
        DcapChecks.Crl pckCrl = DcapChecks.ParseCrl(pckCrlDer);

        Assert.True(rootCrl.IssuerIs(_platform.RootCertificate));
        Assert.True(rootCrl.IsSignedBy(_platform.RootCertificate));
        Assert.False(rootCrl.IsSignedBy(_platform.PckCaCertificate));

        Assert.Equal(_platform.PckCaCertificate.RawData, pckCrlIssuerChain[0].RawData);
        Assert.Equal(_platform.RootCertificate.RawData, pckCrlIssuerChain[1].RawData);
        Assert.True(pckCrl.IssuerIs(_platform.PckCaCertificate));
        Assert.Equal(_platform.PckCertificate.IssuerName.RawData, pckCrl.Issuer.RawData); // dcap.md §4 step 4
        Assert.Contains("CA", pckCrl.Issuer.Name, StringComparison.Ordinal);
        Assert.True(pckCrl.IsSignedBy(_platform.PckCaCertificate));
        Assert.False(pckCrl.IsSignedBy(_platform.RootCertificate));

        DateTimeOffset now = _clock.Now;
        foreach (DcapChecks.Crl crl in new[] { rootCrl, pckCrl })
        {
            Assert.Equal(now.AddHours(-1), crl.ThisUpdate);
            Assert.Equal(now.AddDays(30), crl.NextUpdate);
        }
    }

    [Fact]
    public async Task Crls_DoNotRevokeThePlatformsCertificates()
    {
        QuoteCollateral collateral = await GetCollateralAsync();

        CertificateRevocationListBuilder root = CertificateRevocationListBuilder.Load(Convert.FromHexString(collateral.RootCaCrl), out _);
        CertificateRevocationListBuilder pck = CertificateRevocationListBuilder.Load(Convert.FromHexString(collateral.PckCrl), out _);

        Assert.False(root.RemoveEntry(_platform.PckCaCertificate.SerialNumberBytes.Span));
        Assert.False(root.RemoveEntry(_platform.TcbSigningCertificate.SerialNumberBytes.Span));
        Assert.False(pck.RemoveEntry(_platform.PckCertificate.SerialNumberBytes.Span));
    }

    [Fact]
    public async Task TcbInfo_ForThePlatformsFmspc_FirstLevelIsThePckTcb_UpToDate()
    {
        QuoteCollateral collateral = await GetCollateralAsync();
        using JsonDocument document = JsonDocument.Parse(collateral.TcbInfo);
        JsonElement tcbInfo = document.RootElement;

        Assert.Equal("SGX", tcbInfo.GetProperty("id").GetString());
        Assert.Equal(3, tcbInfo.GetProperty("version").GetInt32());
        Assert.Equal(_platform.Fmspc, Convert.FromHexString(tcbInfo.GetProperty("fmspc").GetString()!));
        Assert.Equal("0000", tcbInfo.GetProperty("pceId").GetString());
        Assert.Equal(_clock.Now.AddHours(-1), tcbInfo.GetProperty("issueDate").GetDateTimeOffset());
        Assert.Equal(_clock.Now.AddDays(30), tcbInfo.GetProperty("nextUpdate").GetDateTimeOffset());

        JsonElement first = tcbInfo.GetProperty("tcbLevels")[0];
        Assert.Equal(_platform.TcbComponents, Components(first));
        Assert.Equal(_platform.PceSvn, first.GetProperty("tcb").GetProperty("pcesvn").GetInt32());
        Assert.Equal("UpToDate", first.GetProperty("tcbStatus").GetString());

        // dcap.md §4 step 13: the first level the PCK's TCB reaches decides the status.
        SgxPckExtensions pck = SgxPckExtensions.FromCertificate(_platform.PckCertificate);
        JsonElement matched = tcbInfo.GetProperty("tcbLevels").EnumerateArray().First(level =>
            Components(level).Zip(pck.TcbComponents).All(pair => pair.Second >= pair.First)
            && pck.PceSvn >= level.GetProperty("tcb").GetProperty("pcesvn").GetInt32());
        Assert.Equal("UpToDate", matched.GetProperty("tcbStatus").GetString());
    }

    [Fact]
    public async Task QeIdentity_MatchesTheQeReport_SignerProductMaskedAttributesAndSvn()
    {
        QuoteCollateral collateral = await GetCollateralAsync();
        Quote quote = Quote.Parse((await GetEvidenceAsync()).Data);
        using JsonDocument document = JsonDocument.Parse(collateral.QeIdentity);
        JsonElement identity = document.RootElement;

        Assert.Equal("QE", identity.GetProperty("id").GetString());
        Assert.Equal(2, identity.GetProperty("version").GetInt32());
        Assert.Equal(_clock.Now.AddHours(-1), identity.GetProperty("issueDate").GetDateTimeOffset());
        Assert.Equal(_clock.Now.AddDays(30), identity.GetProperty("nextUpdate").GetDateTimeOffset());
        Assert.Equal(quote.QeReport.MrSigner, Hex(identity, "mrsigner"));
        Assert.Equal(quote.QeReport.IsvProdId, identity.GetProperty("isvprodid").GetInt32());

        // Attributes are the 16 raw bytes at body offset 48; miscselect the u32 at 16, as stored.
        Assert.Equal(Masked(quote.QeReportRaw.AsSpan(48, 16), Hex(identity, "attributesMask")), Masked(Hex(identity, "attributes"), Hex(identity, "attributesMask")));
        Assert.Equal(Masked(quote.QeReportRaw.AsSpan(16, 4), Hex(identity, "miscselectMask")), Masked(Hex(identity, "miscselect"), Hex(identity, "miscselectMask")));

        JsonElement qeLevel = identity.GetProperty("tcbLevels")[0];
        Assert.True(quote.QeReport.IsvSvn >= qeLevel.GetProperty("tcb").GetProperty("isvsvn").GetInt32());
        Assert.Equal("UpToDate", qeLevel.GetProperty("tcbStatus").GetString());
    }

    [Fact]
    public async Task FlippingAnMrEnclaveByte_BreaksTheQuoteSignature()
    {
        byte[] bytes = (await GetEvidenceAsync()).Data;
        Assert.True(DcapChecks.QuoteSignatureIsValid(Quote.Parse(bytes)));

        bytes[QuoteHeader.Size + 64 + 5] ^= 0x01; // MRENCLAVE: body offset 64
        Quote altered = Quote.Parse(bytes);

        Assert.NotEqual(_identity.UniqueId, altered.SgxBody!.MrEnclave);
        Assert.False(DcapChecks.QuoteSignatureIsValid(altered));
    }

    [Fact]
    public async Task FlippingAQeReportByte_BreaksTheQeReportSignature_ButNotTheQuoteSignature()
    {
        byte[] bytes = (await GetEvidenceAsync()).Data;
        int qeReportOffset = 432 + 4 + 64 + 64; // dcap.md §1.3: QE report at 564 in a v3 quote
        bytes[qeReportOffset + 128] ^= 0x80;    // its MRSIGNER
        Quote altered = Quote.Parse(bytes);
        X509Certificate2 leaf = DcapChecks.ParsePemChain(altered.PckCertificateChainPem!)[0];

        Assert.False(DcapChecks.QeReportSignatureIsValid(altered, leaf));
        Assert.True(DcapChecks.QuoteSignatureIsValid(altered));
    }

    [Fact]
    public async Task Collateral_IsTheSameJsonThePlatformIssues_AndIsReusedWithinItsHalfLife()
    {
        TeeEvidence first = await GetEvidenceAsync();
        TeeEvidence second = await GetEvidenceAsync();

        Assert.Equal(first.CollateralJson, second.CollateralJson);
        Assert.Equal(_platform.GetCollateral().ToJson(), first.CollateralJson);
    }

    private ValueTask<TeeEvidence> GetEvidenceAsync() => _tee.GetEvidenceAsync(RequestedData, TestContext.Current.CancellationToken);

    private async Task<QuoteCollateral> GetCollateralAsync() =>
        QuoteCollateral.FromJson((await GetEvidenceAsync()).CollateralJson!);

    private static byte[] Components(JsonElement level) =>
        level.GetProperty("tcb").GetProperty("sgxtcbcomponents").EnumerateArray().Select(c => (byte)c.GetProperty("svn").GetInt32()).ToArray();

    private static byte[] Hex(JsonElement element, string property) => Convert.FromHexString(element.GetProperty(property).GetString()!);

    private static byte[] Masked(ReadOnlySpan<byte> value, byte[] mask)
    {
        Assert.Equal(mask.Length, value.Length);
        byte[] result = new byte[value.Length];
        for (int i = 0; i < value.Length; i++)
        {
            result[i] = (byte)(value[i] & mask[i]);
        }

        return result;
    }
}
