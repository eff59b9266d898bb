using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.AttestationService.Tests;
using Confide.AttestationService.Tokens;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.AttestationService.CompatTests;

/// <summary>
/// The official Azure Attestation JavaScript client (<c>@azure/attestation</c> 1.0.0 from npm), with
/// its token validation fully on (signature by a key from /certs, issuer, expiry, not-before), against
/// the service over HTTPS on 127.0.0.1 — maa.md §4.
/// </summary>
public sealed class AzureJsClientTests : IDisposable
{
    private const string CustomPolicy = "version= 1.0;\nauthorizationrules {\n    [ type==\"x-ms-sgx-is-debuggable\", value==false ] => permit();\n};\nissuancerules {\n    c:[type==\"x-ms-sgx-mrsigner\"] => issue(type=\"custom-signer\", value=c.value);\n};";
    private const string DenyAll = "version=1.0; authorizationrules { =>deny(); }; issuancerules { };";

    private static readonly byte[] RuntimeJson = Encoding.UTF8.GetBytes("""{"jwk":{"kty":"EC","use":"sig","crv":"P-256","x":"18wHLeIgW9wVN6VD1Txgpqy2LszYkMf6J8njVAibvhM","y":"cV4dS4UaLMgP_4fY4j8ir7cl1TXlFdAgcx55o7TkcSA"}}""");
    private static readonly byte[] RuntimeBinary = [1, 2, 3, 4, 5, 6];

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("confide-js-compat-");
    private readonly SimulatedPlatform _platform;
    private readonly AdminTokens _admin = new();

    public AzureJsClientTests() => _platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_work.FullName, "sim"));

    [Fact]
    public async Task The_js_client_attests_reads_metadata_and_manages_policies()
    {
        JsClient.RequireInstalled();
        await using ServiceHost service = await ServiceHost.StartAsync(SimulationOptions());
        TeeIdentity identity = new(TeeKind.Simulation, SHA256.HashData("js enclave"u8), SHA256.HashData("js signer"u8), 7, 3, false);
        string jsonBound = await WriteAsync("json-bound.quote", await QuoteAsync(identity, SHA256.HashData(RuntimeJson)));
        byte[] binaryBoundQuote = await QuoteAsync(identity, SHA256.HashData(RuntimeBinary));
        string openEnclaveReport = await WriteAsync("oe.report", [.. OpenEnclaveHeader(binaryBoundQuote.Length), .. binaryBoundQuote]);
        byte[] tampered = binaryBoundQuote.ToArray();
        tampered[100] ^= 0x01;
        string tamperedQuote = await WriteAsync("tampered.quote", tampered);
        string runtimeJson = await WriteAsync("runtime.json", RuntimeJson);
        string runtimeBinary = await WriteAsync("runtime.bin", RuntimeBinary);
        (string signerKey, string signerCertificate) = await PolicySignerFilesAsync("js-policy-signer");

        JsonArray results = await JsClient.RunAsync(service.Issuer, service.Server.TlsCertificatePath, _admin.Create(),
        [
            Step("getOpenIdMetadata"),
            Step("getAttestationSigners"),
            Step("attestSgxEnclave", ("quote", jsonBound), ("runTimeJson", runtimeJson)),
            Step("attestOpenEnclave", ("report", openEnclaveReport), ("runTimeData", runtimeBinary)),
            Step("attestSgxEnclaveWithDraft", ("quote", jsonBound), ("draft", "version=1.0; authorizationrules { => permit(); };")),
            Step("getPolicy", ("type", "SgxEnclave")),
            Step("setPolicy", ("type", "SgxEnclave"), ("policy", CustomPolicy)),
            Step("getPolicy", ("type", "SgxEnclave")),
            Step("attestSgxEnclave", ("quote", jsonBound), ("runTimeJson", runtimeJson)),
            Step("setPolicy", ("type", "SgxEnclave"), ("policy", DenyAll), ("privateKey", signerKey), ("certificate", signerCertificate)),
            Step("attestSgxEnclave", ("quote", jsonBound)),
            Step("resetPolicy", ("type", "SgxEnclave")),
            Step("getPolicy", ("type", "SgxEnclave")),
            Step("attestSgxEnclave", ("quote", tamperedQuote)),
        ], _work.FullName);

        JsonNode metadata = JsClient.Value(results[0]);
        Assert.Equal(service.Issuer, (string?)metadata["issuer"]);
        Assert.Equal(service.Issuer + "/certs", (string?)metadata["jwks_uri"]);

        JsonNode signer = Assert.Single(JsClient.Value(results[1]).AsArray())!;
        Assert.Equal(service.Server.Signer.KeyId, (string?)signer["keyId"]);
        Assert.Equal(1, (int)signer["certificates"]!);

        JsonNode sgx = JsClient.Value(results[2]);
        Assert.Equal("RS256", (string?)sgx["algorithm"]);
        Assert.Equal(service.Server.Signer.KeyId, (string?)sgx["keyId"]);
        Assert.Equal(service.Issuer, (string?)sgx["issuer"]);
        Assert.Equal(identity.UniqueIdHex, (string?)sgx["mrEnclave"]);
        Assert.Equal(identity.SignerIdHex, (string?)sgx["mrSigner"]);
        Assert.Equal(7, (int)sgx["productId"]!);
        Assert.Equal(3, (int)sgx["svn"]!);
        Assert.False((bool)sgx["isDebuggable"]!);
        Assert.Equal("sgx", (string?)sgx["verifierType"]);
        Assert.Equal(PolicyHash.Compute(DefaultPolicies.SgxEnclave), (string?)sgx["policyHash"]);
        Assert.Equal("18wHLeIgW9wVN6VD1Txgpqy2LszYkMf6J8njVAibvhM", (string?)sgx["runTimeClaims"]!["jwk"]!["x"]);
        Assert.NotNull(sgx["sgxCollateral"]);

        JsonNode openEnclave = JsClient.Value(results[3]);
        Assert.Equal(Convert.ToHexStringLower(RuntimeBinary), (string?)openEnclave["enclaveHeldData"]);
        Assert.Equal("none", (string?)JsClient.Value(results[4])["algorithm"]);

        Assert.Equal(DefaultPolicies.SgxEnclave, (string?)JsClient.Value(results[5])["policy"]);
        JsonNode set = JsClient.Value(results[6]);
        Assert.Equal("Updated", (string?)set["policyResolution"]);
        Assert.True((bool)set["policyTokenHashMatches"]!);
        Assert.Equal(0, (int)set["policySigner"]!);
        Assert.Equal(CustomPolicy, (string?)JsClient.Value(results[7])["policy"]);
        Assert.Equal(PolicyHash.Compute(CustomPolicy), (string?)JsClient.Value(results[8])["policyHash"]);

        JsonNode signedSet = JsClient.Value(results[9]);
        Assert.True((bool)signedSet["policyTokenHashMatches"]!);
        Assert.Equal(1, (int)signedSet["policySigner"]!);
        JsonNode denied = JsClient.Error(results[10]);
        Assert.Equal(400, (int)denied["statusCode"]!);
        Assert.Equal("PolicyEvaluationError", (string?)denied["code"]);

        Assert.Equal("Removed", (string?)JsClient.Value(results[11])["policyResolution"]);
        Assert.Equal(DefaultPolicies.SgxEnclave, (string?)JsClient.Value(results[12])["policy"]);
        JsonNode invalid = JsClient.Error(results[13]);
        Assert.Equal(400, (int)invalid["statusCode"]!);
        Assert.Equal("InvalidQuote", (string?)invalid["code"]);
    }

    [Theory]
    [InlineData("sgx_v3_phala")]
    [InlineData("sgx_v3_automata")]
    public async Task The_js_client_validates_tokens_for_real_quotes_at_their_verification_time(string name)
    {
        JsClient.RequireInstalled();
        var options = new AttestationServiceOptions
        {
            Collateral = new FileCollateralProvider(Path.Combine(DcapVectors.Directory, name + ".collateral.json")),
            Verifier = new QuoteVerifierOptions { TimeProvider = new PinnedTimeProvider(DateTimeOffset.FromUnixTimeSeconds(DcapVectors.Expected(name).GetProperty("verify_at").GetInt64())) },
            AdminAuthentication = _admin.Options(),
        };
        await using ServiceHost service = await ServiceHost.StartAsync(options);
        string quote = await WriteAsync(name + ".quote", DcapVectors.Quote(name));

        JsonArray results = await JsClient.RunAsync(service.Issuer, service.Server.TlsCertificatePath, _admin.Create(), [Step("attestSgxEnclave", ("quote", quote))], _work.FullName);

        JsonNode token = JsClient.Value(results[0]);
        Assert.Equal(Convert.ToHexStringLower(DcapVectors.ExpectedField(name, "mrenclave")), (string?)token["mrEnclave"]);
        Assert.Equal(Convert.ToHexStringLower(DcapVectors.ExpectedField(name, "mrsigner")), (string?)token["mrSigner"]);
        Assert.Equal(DcapVectors.Expected(name).GetProperty("fields").GetProperty("isvsvn").GetInt32(), (int)token["svn"]!);
        Assert.Equal("RS256", (string?)token["algorithm"]);
    }

    [Fact]
    public async Task The_js_client_manages_an_isolated_instance_with_signed_requests()
    {
        JsClient.RequireInstalled();
        (string firstKey, string firstCertificate) = await PolicySignerFilesAsync("first");
        (string secondKey, string secondCertificate) = await PolicySignerFilesAsync("second");
        AttestationServiceOptions options = SimulationOptions();
        options.InitialPolicySigners.Add(X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(firstCertificate, TestContext.Current.CancellationToken)));
        await using ServiceHost service = await ServiceHost.StartAsync(options);

        JsonArray results = await JsClient.RunAsync(service.Issuer, service.Server.TlsCertificatePath, _admin.Create(),
        [
            Step("setPolicy", ("type", "SgxEnclave"), ("policy", CustomPolicy)),
            Step("setPolicy", ("type", "SgxEnclave"), ("policy", CustomPolicy), ("privateKey", firstKey), ("certificate", firstCertificate)),
            Step("getPolicyManagementCertificates"),
            Step("addPolicyManagementCertificate", ("pem", secondCertificate), ("privateKey", firstKey), ("certificate", firstCertificate)),
            Step("getPolicyManagementCertificates"),
            Step("removePolicyManagementCertificate", ("pem", firstCertificate), ("privateKey", secondKey), ("certificate", secondCertificate)),
            Step("resetPolicy", ("type", "SgxEnclave"), ("privateKey", firstKey), ("certificate", firstCertificate)),
            Step("resetPolicy", ("type", "SgxEnclave"), ("privateKey", secondKey), ("certificate", secondCertificate)),
        ], _work.FullName);

        Assert.Equal("PolicySignatureRequired", (string?)JsClient.Error(results[0])["code"]);
        Assert.True((bool)JsClient.Value(results[1])["policyTokenHashMatches"]!);
        Assert.Single(JsClient.Value(results[2]).AsArray());
        JsonNode added = JsClient.Value(results[3]);
        Assert.Equal("IsPresent", (string?)added["resolution"]);
        Assert.Equal(X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(secondCertificate, TestContext.Current.CancellationToken)).Thumbprint, (string?)added["thumbprint"]);
        Assert.Equal(2, JsClient.Value(results[4]).AsArray().Count);
        Assert.Equal("IsAbsent", (string?)JsClient.Value(results[5])["resolution"]);
        Assert.Equal("InvalidPolicySigner", (string?)JsClient.Error(results[6])["code"]);
        Assert.Equal("Removed", (string?)JsClient.Value(results[7])["policyResolution"]);
    }

    public void Dispose()
    {
        _admin.Dispose();
        _platform.Dispose();
        _work.Delete(recursive: true);
    }

    private AttestationServiceOptions SimulationOptions()
    {
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(_platform.RootCertificate);
        return new AttestationServiceOptions
        {
            Collateral = new SimulatedCollateralProvider(_platform),
            Verifier = verifier,
            AllowSimulation = true,
            AdminAuthentication = _admin.Options(),
        };
    }

    private async Task<byte[]> QuoteAsync(TeeIdentity identity, byte[] reportData)
    {
        using var tee = new SimulationTee(_platform, identity);
        return (await tee.GetEvidenceAsync(reportData, TestContext.Current.CancellationToken)).Data;
    }

    private async Task<string> WriteAsync(string name, byte[] content)
    {
        string path = Path.Combine(_work.FullName, name);
        await File.WriteAllBytesAsync(path, content);
        return path;
    }

    /// <summary>An RSA policy signer as the JS client takes it: a PKCS#8 PEM key and a PEM certificate.</summary>
    private async Task<(string Key, string Certificate)> PolicySignerFilesAsync(string name)
    {
        using var rsa = RSA.Create(2048);
        using X509Certificate2 certificate = new CertificateRequest($"CN={name}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        string key = Path.Combine(_work.FullName, name + ".key.pem");
        string cert = Path.Combine(_work.FullName, name + ".cert.pem");
        await File.WriteAllTextAsync(key, rsa.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(cert, certificate.ExportCertificatePem());
        return (key, cert);
    }

    private static JsonObject Step(string op, params (string Name, string Value)[] arguments)
    {
        var step = new JsonObject { ["op"] = op };
        foreach ((string name, string value) in arguments)
        {
            step[name] = value;
        }

        return step;
    }

    private static byte[] OpenEnclaveHeader(int quoteLength)
    {
        byte[] header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), (ulong)quoteLength);
        return header;
    }
}
