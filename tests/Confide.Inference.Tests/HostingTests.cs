using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Inference.Grpc.Protocol;
using Confide.Inference.Hosting;
using Confide.Inference.Http;
using Confide.Inference.Models;
using Confide.Inference.Serving;
using Confide.Inference.Tests.Onnx;
using Confide.Inference.Tests.Support;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Confide.Inference.Tests;

/// <summary>The hosting options and the hooks a transport layer plugs into: TLS per listener, extra routes over the inference core.</summary>
public sealed class HostingTests(InferenceFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task One_https_endpoint_serves_rest_grpc_and_a_transport_mapped_on_the_core()
    {
        using X509Certificate2 certificate = SelfSigned();
        var configured = new List<InferenceEndpoint>();
        string root = fixture.Scratch("https");
        fixture.WriteModel("mlp", "1", fixture.Mlp1, root);

        await using InferenceServer server = await InferenceServer.StartAsync(new InferenceServerOptions
        {
            ModelDirectory = root,
            Repository = new ModelRepositoryOptions { KeyProvider = fixture.Keys },
            Endpoints = [new InferenceEndpoint(new Uri("https://127.0.0.1:0"))],
            TlsCertificate = certificate,
            ConfigureDataListener = (endpoint, listen) => configured.Add(endpoint),
            // What an encrypted channel would do: decrypt a body, decode it as REST would, call the core.
            MapEndpoints = (routes, service) => routes.MapPost("/custom/{name}", async context =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
                InferenceRequest request = RestCodec.DecodeInferRequest((string)context.Request.RouteValues["name"]!, null, body.ToArray(), null, protocol: "custom");
                InferenceResponse response = await service.InferAsync(request, context.RequestAborted);
                RestResponse encoded = RestCodec.EncodeInferResponse(request, response);
                context.Response.ContentType = encoded.ContentType;
                await context.Response.Body.WriteAsync(encoded.Body, context.RequestAborted);
            }),
            MetricsUrl = null,
        }, Ct);

        Assert.Single(configured);
        Uri url = Assert.Single(server.Urls);
        Assert.Equal(url, server.RestUrl);
        Assert.Equal(url, server.GrpcUrl);
        Assert.NotEqual(0, url.Port);
        Assert.Null(server.MetricsUrl);

        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetRawCertData().AsSpan().SequenceEqual(certificate.RawData);
        using var http = new HttpClient(handler, disposeHandler: false) { BaseAddress = url };
        TestTensor x = TestData.Floats("x", [2, TestModels.MlpInputs], seed: 40);
        Dictionary<string, TestTensor> expected = Reference.Run(fixture.Mlp1, [x]);

        (_, var rest) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(http, "/v2/models/mlp/infer", Rest.Request(Rest.JsonInput(x))));
        Same.Outputs(expected, rest);
        (_, var custom) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(http, "/custom/mlp", Rest.Request(Rest.JsonInput(x))));
        Same.Outputs(expected, custom);

        using var grpcHandler = new SocketsHttpHandler();
        grpcHandler.SslOptions.RemoteCertificateValidationCallback = handler.SslOptions.RemoteCertificateValidationCallback;
        using GrpcChannel channel = GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = grpcHandler, DisposeHttpClient = false });
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var grpc = new ModelInferRequest { ModelName = "mlp" };
        grpc.Inputs.Add(GrpcTests.Input(x, raw: false));
        ModelInferResponse response = await client.ModelInferAsync(grpc, cancellationToken: Ct);
        Same.Tensor(expected["y"], TestTensor.FromFloats("y", [.. response.Outputs[0].Shape], [.. response.Outputs[0].Contents.Fp32Contents]));
    }

    [Fact]
    public async Task Endpoint_mistakes_are_refused_before_anything_loads()
    {
        async Task<string> Refused(InferenceServerOptions options) =>
            (await Assert.ThrowsAsync<ArgumentException>(() => InferenceServer.StartAsync(options, Ct))).Message;

        IList<ModelDescriptor> none = [new ModelDescriptor("m", "1", "/nonexistent/model.confide")];
        Assert.Contains("cleartext and offers HTTP/1.1 and HTTP/2", await Refused(new() { Models = none, Endpoints = [new(new Uri("http://127.0.0.1:0"), HttpProtocols.Http1AndHttp2)] }), StringComparison.Ordinal);
        Assert.Contains("is https, but no TlsCertificate", await Refused(new() { Models = none, Endpoints = [new(new Uri("https://127.0.0.1:0"))] }), StringComparison.Ordinal);
        Assert.Contains("must name an IP address", await Refused(new() { Models = none, Endpoints = [new(new Uri("http://example.com:80"))] }), StringComparison.Ordinal);
        Assert.Contains("host and port only", await Refused(new() { Models = none, Endpoints = [new(new Uri("http://127.0.0.1:80/v2"))] }), StringComparison.Ordinal);
        Assert.Contains("at least one data endpoint", await Refused(new() { Models = none, Endpoints = [] }), StringComparison.Ordinal);
        Assert.Contains("The metrics URL", await Refused(new() { Models = none, MetricsUrl = new Uri("ftp://127.0.0.1:0") }), StringComparison.Ordinal);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }
}
