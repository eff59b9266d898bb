using System.Text;
using Confide.Attestation.Quotes;
using Confide.Tee.Gramine;
using Confide.Tee.Sealing;
using Confide.Tee.Tests.Support;

namespace Confide.Tee.Tests;

/// <summary>
/// <see cref="GramineTee"/> against a fake <c>/dev/attestation</c> serving a real SGX quote.
/// </summary>
public sealed class GramineTeeTests
{
    private static readonly byte[] KeyId = Enumerable.Repeat((byte)0xA5, 32).ToArray();

    [Fact]
    public void Identity_IsTheReportsMeasurementsProductSvnAndDebugFlag()
    {
        using var device = new GramineDirectory("sgx_v3_phala");
        using var tee = new GramineTee(device.Root);

        Assert.Equal(TeeKind.SgxGramine, tee.Kind);
        Assert.False(tee.IsSimulated);
        Assert.Equal(TeeKind.SgxGramine, tee.Identity.Kind);
        Assert.Equal(DcapVectors.ExpectedField("sgx_v3_phala", "mrenclave"), tee.Identity.UniqueId);
        Assert.Equal(DcapVectors.ExpectedField("sgx_v3_phala", "mrsigner"), tee.Identity.SignerId);
        Assert.Equal(Expected("sgx_v3_phala", "isvprodid"), tee.Identity.ProductId);
        Assert.Equal(Expected("sgx_v3_phala", "isvsvn"), tee.Identity.SecurityVersion);
        Assert.False(tee.Identity.Debug);
    }

    [Fact]
    public void Identity_OfTheDebugVector_IsDebug()
    {
        using var device = new GramineDirectory("sgx_v3_debug");
        using var tee = new GramineTee(device.Root);

        Assert.True(tee.Identity.Debug);
        Assert.Equal(DcapVectors.ExpectedField("sgx_v3_debug", "mrenclave"), tee.Identity.UniqueId);
    }

    [Fact]
    public void Identity_ComesFromAReportTargetedAtTheEnclaveItself()
    {
        using var device = new GramineDirectory();

        using var tee = new GramineTee(device.Root);

        Assert.Equal(device.MyTargetInfo, device.Read("target_info"));
        Assert.Equal(new byte[64], device.Read("user_report_data"));
    }

    [Fact]
    public void AttestationType_IsReadFromTheDevice()
    {
        using var device = new GramineDirectory(attestationType: "dcap\n");
        using var tee = new GramineTee(device.Root);

        Assert.Equal("dcap", tee.AttestationType);
        Assert.True(GramineTee.IsAvailable(device.Root));
    }

    [Fact]
    public async Task Evidence_ForTheQuotesOwnReportData_IsTheRealQuote_AfterWritingUserReportData()
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);
        byte[] ownReportData = Quote.Parse(device.Quote).ReportData;

        TeeEvidence evidence = await tee.GetEvidenceAsync(ownReportData, TestContext.Current.CancellationToken);

        Assert.Equal(EvidenceFormat.SgxQuote, evidence.Format);
        Assert.False(evidence.IsSimulated);
        Assert.Equal(device.Quote, evidence.Data);
        Assert.Null(evidence.CollateralJson);
        Assert.Equal(ownReportData, device.Read("user_report_data"));
    }

    [Fact]
    public async Task ShortReportData_IsZeroPaddedBeforeItIsWritten()
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);
        byte[] hello = Encoding.ASCII.GetBytes("Hello, world!");

        TeeEvidence evidence = await tee.GetEvidenceAsync(hello, TestContext.Current.CancellationToken);

        Assert.Equal(device.Quote, evidence.Data);
        Assert.Equal([.. hello, .. new byte[64 - hello.Length]], device.Read("user_report_data"));
    }

    [Fact]
    public async Task AQuoteForOtherReportData_IsAReportDataMismatch()
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);

        TeeException error = await Assert.ThrowsAsync<TeeException>(
            async () => await tee.GetEvidenceAsync("Hello, world?"u8.ToArray(), TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.ReportDataMismatch, error.Error);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("none\n")]
    [InlineData("epid")]
    public async Task AttestationTypeOtherThanDcap_IsNotSupported(string type)
    {
        using var device = new GramineDirectory(attestationType: type);
        using var tee = new GramineTee(device.Root);

        TeeException error = await Assert.ThrowsAsync<TeeException>(
            async () => await tee.GetEvidenceAsync(new byte[64], TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.NotSupported, error.Error);
    }

    [Fact]
    public async Task ReportDataLongerThan64Bytes_IsAnInvalidRequest()
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);

        TeeException error = await Assert.ThrowsAsync<TeeException>(
            async () => await tee.GetEvidenceAsync(new byte[65], TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.InvalidRequest, error.Error);
    }

    [Fact]
    public async Task QuoteThatDoesNotParse_IsMalformedEvidence()
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);
        device.Write("quote", device.Quote[..100]);

        TeeException error = await Assert.ThrowsAsync<TeeException>(
            async () => await tee.GetEvidenceAsync(Quote.Parse(device.Quote).ReportData, TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.MalformedEvidence, error.Error);
    }

    [Fact]
    public async Task ATdxQuote_IsMalformedEvidenceForSgx()
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);
        byte[] tdxQuote = DcapVectors.Quote("tdx_v4_phala");
        device.Write("quote", tdxQuote);

        TeeException error = await Assert.ThrowsAsync<TeeException>(
            async () => await tee.GetEvidenceAsync(Quote.Parse(tdxQuote).ReportData, TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.MalformedEvidence, error.Error);
    }

    [Fact]
    public async Task MissingQuoteFile_IsADeviceError()
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);
        File.Delete(device.PathOf("quote"));

        TeeException error = await Assert.ThrowsAsync<TeeException>(
            async () => await tee.GetEvidenceAsync(new byte[64], TestContext.Current.CancellationToken));

        Assert.Equal(TeeError.DeviceError, error.Error);
    }

    [Fact]
    public void MissingDirectory_IsADeviceError()
    {
        using var temp = new TempDirectory();

        Assert.False(GramineTee.IsAvailable(temp.Combine("absent")));
        TeeException error = Assert.Throws<TeeException>(() => new GramineTee(temp.Combine("absent")));
        Assert.Equal(TeeError.DeviceError, error.Error);
    }

    [Fact]
    public void DirectoryWithoutAttestationType_IsADeviceError()
    {
        using var device = new GramineDirectory();
        File.Delete(device.PathOf("attestation_type"));

        TeeException error = Assert.Throws<TeeException>(() => new GramineTee(device.Root));

        Assert.Equal(TeeError.DeviceError, error.Error);
    }

    [Fact]
    public void ReportShorterThanAReportBody_IsMalformedEvidence()
    {
        using var device = new GramineDirectory();
        device.Write("report", new byte[383]);

        TeeException error = Assert.Throws<TeeException>(() => new GramineTee(device.Root));

        Assert.Equal(TeeError.MalformedEvidence, error.Error);
    }

    [Fact]
    public void MissingReportFile_IsADeviceError()
    {
        using var device = new GramineDirectory();
        File.Delete(device.PathOf("report"));

        TeeException error = Assert.Throws<TeeException>(() => new GramineTee(device.Root));

        Assert.Equal(TeeError.DeviceError, error.Error);
    }

    [Fact]
    public void SealKeys_AreDeterministic_AndUniqueDiffersFromProduct()
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);

        byte[] unique = tee.DeriveSealKey(Request(SealPolicy.Unique));
        byte[] product = tee.DeriveSealKey(Request(SealPolicy.Product));

        Assert.Equal(32, unique.Length);
        Assert.Equal(32, product.Length);
        Assert.NotEqual(unique, product);
        Assert.Equal(unique, tee.DeriveSealKey(Request(SealPolicy.Unique)));
        Assert.Equal(product, tee.DeriveSealKey(Request(SealPolicy.Product)));
    }

    [Theory]
    [InlineData(SealPolicy.Unique)]
    [InlineData(SealPolicy.Product)]
    public void SealKeys_DependOnTheKeyId(SealPolicy policy)
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);
        byte[] otherKeyId = (byte[])KeyId.Clone();
        otherKeyId[0] ^= 1;

        Assert.NotEqual(
            tee.DeriveSealKey(Request(policy)),
            tee.DeriveSealKey(new SealKeyRequest(policy, tee.Identity.SecurityVersion, otherKeyId)));
    }

    [Theory]
    [InlineData(SealPolicy.Unique, "keys/_sgx_mrenclave")]
    [InlineData(SealPolicy.Product, "keys/_sgx_mrsigner")]
    public void SealKeys_ComeFromTheHardwareKeyOfThePolicy(SealPolicy policy, string keyFile)
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);
        string otherFile = keyFile.EndsWith("mrenclave", StringComparison.Ordinal) ? "keys/_sgx_mrsigner" : "keys/_sgx_mrenclave";
        byte[] before = tee.DeriveSealKey(Request(policy));

        device.Write(otherFile, new byte[16]);
        Assert.Equal(before, tee.DeriveSealKey(Request(policy)));

        device.Write(keyFile, new byte[16]);
        Assert.NotEqual(before, tee.DeriveSealKey(Request(policy)));
    }

    [Fact]
    public void SealKey_ForAHigherSvn_IsAnInvalidRequest()
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);
        Assert.Equal(0, tee.Identity.SecurityVersion);

        TeeException error = Assert.Throws<TeeException>(() => tee.DeriveSealKey(new SealKeyRequest(SealPolicy.Product, 1, KeyId)));

        Assert.Equal(TeeError.InvalidRequest, error.Error);
    }

    [Fact]
    public void SealKey_ForALowerSvn_IsNotSupported_GramineOnlyHasTheCurrentOne()
    {
        using var device = new GramineDirectory();
        device.SetReportSecurityVersion(2);
        using var tee = new GramineTee(device.Root);
        Assert.Equal(2, tee.Identity.SecurityVersion);

        TeeException error = Assert.Throws<TeeException>(() => tee.DeriveSealKey(new SealKeyRequest(SealPolicy.Product, 1, KeyId)));

        Assert.Equal(TeeError.NotSupported, error.Error);
        Assert.Equal(32, tee.DeriveSealKey(new SealKeyRequest(SealPolicy.Product, 2, KeyId)).Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(17)]
    [InlineData(32)]
    public void HardwareKeyOfWrongSize_IsADeviceError(int size)
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);
        device.Write("keys/_sgx_mrsigner", new byte[size]);

        TeeException error = Assert.Throws<TeeException>(() => tee.DeriveSealKey(Request(SealPolicy.Product)));

        Assert.Equal(TeeError.DeviceError, error.Error);
    }

    [Fact]
    public void MissingHardwareKey_IsADeviceError()
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);
        File.Delete(device.PathOf("keys/_sgx_mrenclave"));

        TeeException error = Assert.Throws<TeeException>(() => tee.DeriveSealKey(Request(SealPolicy.Unique)));

        Assert.Equal(TeeError.DeviceError, error.Error);
    }

    [Fact]
    public void Sealer_OnGramine_RoundTrips_AndAnotherSignerKeyIsWrongIdentity()
    {
        using var device = new GramineDirectory();
        using var tee = new GramineTee(device.Root);
        var sealer = new EnclaveSealer(tee);

        byte[] blob = sealer.Seal("secret"u8);
        Assert.Equal("secret"u8.ToArray(), sealer.Unseal(blob));

        device.Write("keys/_sgx_mrsigner", new byte[16]); // as if another signer's enclave ran
        SealingException error = Assert.Throws<SealingException>(() => sealer.Unseal(blob));
        Assert.Equal(SealingError.WrongIdentity, error.Error);
    }

    private static SealKeyRequest Request(SealPolicy policy) => new(policy, 0, KeyId);

    private static int Expected(string vector, string field) =>
        DcapVectors.Expected(vector).GetProperty("fields").GetProperty(field).GetInt32();
}
