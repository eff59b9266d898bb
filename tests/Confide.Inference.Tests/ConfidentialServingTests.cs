using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Attestation.Verification;
using Confide.AttestationService;
using Confide.AttestationService.Client;
using Confide.AttestationService.Hosting;
using Confide.Inference.Client;
using Confide.Inference.Confidential;
using Confide.Inference.Hosting;
using Confide.Inference.Models;
using Confide.Inference.Tests.Onnx;
using Confide.Inference.Tests.Support;
using Confide.KeyRelease;
using Confide.KeyRelease.Client;
using Confide.KeyRelease.Hosting;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls.Verification;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.IdentityModel.Tokens;

namespace Confide.Inference.Tests;

/// <summary>
/// The whole confidential path: the model key released by the key broker to the attested inference
/// enclave, the model decrypted inside, and clients that verify the enclave before sending anything,
/// over attested TLS and as end-to-end messages through plain HTTP.
/// </summary>
public sealed class ConfidentialServingTests : IAsyncDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly SimulatedPlatform _platform;
    private readonly TeeIdentity _serverIdentity = new(TeeKind.Simulation, SHA256.HashData("inference enclave"u8), SHA256.HashData("inference signer"u8), 3, 1, false);
    private readonly TeeIdentity _brokerIdentity = new(TeeKind.Simulation, SHA256.HashData("broker enclave"u8), SHA256.HashData("broker signer"u8), 2, 1, false);

    public ConfidentialServingTests() => _platform = SimulatedPlatform.OpenOrCreate(_temp.Combine("platform"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_released_model_key_serves_verified_clients_over_attested_tls_and_end_to_end_messages()
    {
        byte[] model = TestModels.Mlp(seed: 21);
        byte[] modelKey = Encryption.ModelEncryption.GenerateKey();
        string repository = _temp.Combine("models");
        Directory.CreateDirectory(Path.Combine(repository, "mlp", "1"));
        await File.WriteAllBytesAsync(Path.Combine(repository, "mlp", "1", ModelRepository.EncryptedFileName), Encryption.ModelEncryption.Encrypt(model, modelKey), Ct);

        // The attestation service and the key broker (its own enclave, attested TLS in token mode).
        var verifier = new QuoteVerifierOptions();
        verifier.SimulationRoots.Add(_platform.RootCertificate);
        await using AttestationServer attestation = await AttestationServer.StartAsync(new Uri("https://127.0.0.1:0"), _temp.Combine("maa"),
            new AttestationServiceOptions { Collateral = new SimulatedCollateralProvider(_platform), Verifier = verifier, AllowSimulation = true }, Ct);
        X509Certificate2 attestationTls = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(attestation.TlsCertificatePath, Ct));
        var attestationOptions = new AttestationClientOptions
        {
            HttpClient = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && c.GetCertHash().AsSpan().SequenceEqual(attestationTls.GetCertHash()) } }),
        };
        using var attestationClient = new AttestationClient(new Uri(attestation.Issuer), attestationOptions);
        using var brokerTee = new SimulationTee(_platform, _brokerIdentity);
        using var admin = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var adminOptions = new AdminAuthenticationOptions { Issuer = "https://owner.test", Audience = KeyBrokerOptions.DefaultAdminAudience };
        adminOptions.SigningKeys.Add(new ECDsaSecurityKey(admin));
        await using KeyBrokerServer broker = await KeyBrokerServer.StartAsync(new Uri("https://127.0.0.1:0"), _temp.Combine("broker"), new KeyBrokerOptions
        {
            Tee = brokerTee,
            AllowSimulation = true,
            AdminAuthentication = adminOptions,
            TrustedAuthorities = [new TrustedAuthority(new Uri(attestation.Issuer), attestationTls)],
            TlsMode = BrokerTlsMode.AttestedToken,
            TlsAttestation = attestationClient,
        }, Ct);
        AttestedCertificateVerifier brokerVerifier = TokenVerifier(_brokerIdentity, attestationClient);
        await ImportModelKeyAsync(broker, brokerVerifier, admin, attestation.Issuer, modelKey);

        // The inference enclave: model key from the broker, attested TLS and end-to-end messages.
        using var serverTee = new SimulationTee(_platform, _serverIdentity);
        KeyReleaseClientOptions releaseOptions = KeyReleaseClientOptions.ForAttestedBroker(new Uri(broker.Url), serverTee, attestationClient, brokerVerifier);
        using ConfidentialTransport transport = await ConfidentialTransport.CreateAsync(serverTee, new ConfidentialTransportOptions(), Ct);
        await using InferenceServer server = await InferenceServer.StartAsync(new InferenceServerOptions
        {
            ModelDirectory = repository,
            Repository = new ModelRepositoryOptions { KeyProvider = new KeyReleaseModelKeyProvider(new KeyReleaseClient(releaseOptions)) },
            Endpoints = [new InferenceEndpoint(new Uri("https://127.0.0.1:0"), HttpProtocols.Http1AndHttp2), new InferenceEndpoint(new Uri("http://127.0.0.1:0"), HttpProtocols.Http1)],
            ConfigureDataListener = transport.ConfigureListener,
            MapEndpoints = transport.MapEndpoints,
        }, Ct);
        Uri attestedUrl = server.Urls[0], ingressUrl = server.Urls[1];

        TestTensor x = TestData.Floats("x", [4, TestModels.MlpInputs], seed: 5);
        JsonObject request = Rest.Request(Rest.JsonInput(x));
        Dictionary<string, TestTensor> expected = Reference.Run(model, [x]);

        using (var overTls = new InferenceClient(attestedUrl, new InferenceClientOptions { Verifier = EvidenceVerifier(_serverIdentity) }))
        {
            Same.Outputs(expected, await OutputsAsync(await overTls.InferAsync("mlp", request, cancellationToken: Ct)));
            Assert.Equal(AttestedCertificateKind.DiceEvidence, overTls.Server!.Kind);
        }

        // gRPC over the same attested TLS endpoint (HTTP/2), through a verifying handler.
        using (var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress(attestedUrl, new global::Grpc.Net.Client.GrpcChannelOptions { HttpHandler = Confide.Tls.Hosting.AttestedTls.UseAttestedTls(new SocketsHttpHandler(), EvidenceVerifier(_serverIdentity)) }))
        {
            var grpc = new Confide.Inference.Grpc.Protocol.GRPCInferenceService.GRPCInferenceServiceClient(channel);
            var call = new Confide.Inference.Grpc.Protocol.ModelInferRequest { ModelName = "mlp" };
            call.Inputs.Add(GrpcTests.Input(x, raw: false));
            Confide.Inference.Grpc.Protocol.ModelInferResponse response = await grpc.ModelInferAsync(call, cancellationToken: Ct);
            Confide.Inference.Grpc.Protocol.ModelInferResponse.Types.InferOutputTensor y = response.Outputs.Single(o => o.Name == "y");
            Same.Tensor(expected["y"], TestTensor.FromFloats("y", [.. y.Shape], [.. y.Contents.Fp32Contents]));
        }

        // Past a TLS-terminating ingress (here: plain HTTP), as end-to-end messages.
        using (var throughIngress = new InferenceClient(ingressUrl, new InferenceClientOptions { Verifier = EvidenceVerifier(_serverIdentity), EndToEnd = true }))
        {
            Same.Outputs(expected, await OutputsAsync(await throughIngress.InferAsync("mlp", request, cancellationToken: Ct)));
            JsonObject metadata = await throughIngress.GetModelMetadataAsync("mlp", cancellationToken: Ct);
            Assert.Equal("mlp", (string?)metadata["name"]);
            InferenceClientException unknown = await Assert.ThrowsAsync<InferenceClientException>(() => throughIngress.InferAsync("nope", request, cancellationToken: Ct));
            Assert.Equal(404, unknown.Status);
        }

        // Clients that expect another enclave send nothing, in either mode.
        TeeIdentity other = new(TeeKind.Simulation, SHA256.HashData("someone else"u8), _serverIdentity.SignerId, 3, 1, false);
        using (var wrongTls = new InferenceClient(attestedUrl, new InferenceClientOptions { Verifier = EvidenceVerifier(other) }))
        {
            HttpRequestException refused = await Assert.ThrowsAsync<HttpRequestException>(() => wrongTls.InferAsync("mlp", request, cancellationToken: Ct));
            Assert.Contains("unique id", refused.ToString(), StringComparison.Ordinal);
        }

        using (var wrongEndToEnd = new InferenceClient(ingressUrl, new InferenceClientOptions { Verifier = EvidenceVerifier(other), EndToEnd = true }))
        {
            AttestedTlsException refused = await Assert.ThrowsAsync<AttestedTlsException>(() => wrongEndToEnd.InferAsync("mlp", request, cancellationToken: Ct));
            Assert.Equal(AttestedTlsError.IdentityMismatch, refused.Error);
        }

        // The broker released exactly the model key, once, to the inference enclave.
        string[] audit = await File.ReadAllLinesAsync(broker.AuditLogPath, Ct);
        Assert.Single(audit, line => line.Contains("\"operation\":\"release\"", StringComparison.Ordinal) && line.Contains("\"decision\":\"allowed\"", StringComparison.Ordinal));
    }

    public async ValueTask DisposeAsync()
    {
        _platform.Dispose();
        _temp.Dispose();
        await Task.CompletedTask;
    }

    private AttestedCertificateVerifier EvidenceVerifier(TeeIdentity identity)
    {
        var policy = new AttestedTlsPolicy { UniqueId = identity.UniqueId, AllowSimulation = true, Collateral = new SimulatedCollateralProvider(_platform) };
        policy.Verifier.SimulationRoots.Add(_platform.RootCertificate);
        return new AttestedCertificateVerifier(policy);
    }

    private static AttestedCertificateVerifier TokenVerifier(TeeIdentity identity, AttestationClient attestation)
    {
        var policy = new AttestedTlsPolicy { UniqueId = identity.UniqueId };
        policy.TrustedAttestationServices.Add(attestation);
        return new AttestedCertificateVerifier(policy);
    }

    private async Task ImportModelKeyAsync(KeyBrokerServer broker, AttestedCertificateVerifier brokerVerifier, ECDsa admin, string authority, byte[] modelKey)
    {
        var policy = new JsonObject
        {
            ["version"] = "1.0.0",
            ["anyOf"] = new JsonArray(new JsonObject
            {
                ["authority"] = authority,
                ["allOf"] = new JsonArray(
                    new JsonObject { ["claim"] = "x-ms-sgx-mrenclave", ["equals"] = _serverIdentity.UniqueIdHex },
                    new JsonObject { ["claim"] = "x-ms-sgx-is-debuggable", ["equals"] = false }),
            }),
        };
        var body = new JsonObject
        {
            ["key"] = new JsonObject { ["kty"] = "oct-HSM", ["k"] = Base64UrlEncoder.Encode(modelKey) },
            ["attributes"] = new JsonObject { ["exportable"] = true },
            ["release_policy"] = new JsonObject { ["contentType"] = "application/json; charset=utf-8", ["data"] = Base64UrlEncoder.Encode(policy.ToJsonString()) },
        };
        string token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://owner.test",
            Audience = KeyBrokerOptions.DefaultAdminAudience,
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(admin), SecurityAlgorithms.EcdsaSha256),
        });
        using var http = new HttpClient(Confide.Tls.Hosting.AttestedTls.UseAttestedTls(new SocketsHttpHandler(), brokerVerifier));
        using var put = new HttpRequestMessage(HttpMethod.Put, $"{broker.Url}/keys/mlp?api-version=7.4") { Content = System.Net.Http.Json.JsonContent.Create(body) };
        put.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using HttpResponseMessage response = await http.SendAsync(put, Ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Ct));
    }

    private static async Task<Dictionary<string, TestTensor>> OutputsAsync(JsonObject answer)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        return (await Rest.ReadResponseAsync(response)).Outputs;
    }
}
