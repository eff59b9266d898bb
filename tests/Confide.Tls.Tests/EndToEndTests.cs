using System.Net;
using System.Security.Cryptography;
using System.Text;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls.EndToEnd;
using Confide.Tls.Verification;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Confide.Tls.Tests;

/// <summary>End-to-end encrypted messages through plain HTTP (as behind a TLS-terminating ingress).</summary>
public sealed class EndToEndTests : IDisposable
{
    private readonly SimulatedEnclaves _enclaves = new();
    private readonly TeeIdentity _server = SimulatedEnclaves.Identity("inference server");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_verified_client_and_the_enclave_exchange_sealed_requests_over_plain_http()
    {
        using SimulationTee tee = _enclaves.Tee(_server);
        using EndToEndServer e2e = await EndToEndServer.CreateAsync(tee, cancellationToken: Ct);
        int dispatched = 0;
        await using WebApplication app = await StartAsync(e2e, (request, _) =>
        {
            Interlocked.Increment(ref dispatched);
            return Task.FromResult(new EndToEndResponse(200, "text/plain", Encoding.UTF8.GetBytes($"{request.Method} {request.Path}: {Encoding.UTF8.GetString(request.Body)}")));
        });
        using var http = new HttpClient();
        string url = app.Urls.Single() + "/v2/e2e";

        using var client = new EndToEndClient(http, new Uri(url), new AttestedCertificateVerifier(_enclaves.PolicyFor(_server)));
        for (int i = 0; i < 3; i++)
        {
            EndToEndResponse answer = await client.SendAsync(new EndToEndRequest("POST", "/v2/models/m/infer", "application/json", Encoding.UTF8.GetBytes($"secret input {i}")), Ct);
            Assert.Equal(200, answer.Status);
            Assert.Equal($"POST /v2/models/m/infer: secret input {i}", Encoding.UTF8.GetString(answer.Body));
        }

        Assert.Equal(_server.UniqueId, client.Server!.UniqueId);
        Assert.Equal(3, dispatched);

        // A client expecting another enclave refuses the key and sends nothing.
        using var wrong = new EndToEndClient(http, new Uri(url), new AttestedCertificateVerifier(_enclaves.PolicyFor(SimulatedEnclaves.Identity("impostor"))));
        AttestedTlsException refused = await Assert.ThrowsAsync<AttestedTlsException>(() => wrong.SendAsync(new EndToEndRequest("POST", "/x", "text/plain", "never sent"u8.ToArray()), Ct));
        Assert.Equal(AttestedTlsError.IdentityMismatch, refused.Error);
        Assert.Equal(3, dispatched);
    }

    [Fact]
    public async Task Replayed_reordered_tampered_and_foreign_messages_are_refused()
    {
        using SimulationTee tee = _enclaves.Tee(_server);
        using EndToEndServer server = await EndToEndServer.CreateAsync(tee, cancellationToken: Ct);
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        byte[] clientKey = ephemeral.ExportSubjectPublicKeyInfo();
        (byte[] id, byte[] random, byte[] confirmation) = server.CreateSession(clientKey);
        using var serverKey = ECDiffieHellman.Create();
        serverKey.ImportSubjectPublicKeyInfo(server.PublicKey, out _);
        using EndToEndSessionKeys keys = EndToEndSessionKeys.Derive(ephemeral.DeriveRawSecretAgreement(serverKey.PublicKey), id, random, clientKey, server.PublicKey);
        Assert.True(keys.ConfirmationMatches(confirmation));
        string session = Convert.ToHexStringLower(id);
        Func<byte[], CancellationToken, Task<byte[]>> echo = (plaintext, _) => Task.FromResult(plaintext.Reverse().ToArray());

        byte[] first = keys.SealRequest(0, "one"u8);
        byte[] answer = await server.HandleAsync(session, first, echo, Ct);
        Assert.Equal("eno"u8.ToArray(), keys.OpenResponse(answer, out ulong answered));
        Assert.Equal(0UL, answered);

        await AssertRefusedAsync(EndToEndError.Replayed, () => server.HandleAsync(session, first, echo, Ct));
        await AssertRefusedAsync(EndToEndError.OutOfOrder, () => server.HandleAsync(session, keys.SealRequest(5, "skip"u8), echo, Ct));
        byte[] tampered = keys.SealRequest(1, "two"u8);
        tampered[^1] ^= 1;
        await AssertRefusedAsync(EndToEndError.Tampered, () => server.HandleAsync(session, tampered, echo, Ct));
        await AssertRefusedAsync(EndToEndError.Tampered, () => server.HandleAsync(session, keys.SealResponse(1, "wrong direction"u8), echo, Ct));
        await AssertRefusedAsync(EndToEndError.Malformed, () => server.HandleAsync(session, [1, 2, 3], echo, Ct));
        await AssertRefusedAsync(EndToEndError.UnknownSession, () => server.HandleAsync(Convert.ToHexStringLower(new byte[16]), keys.SealRequest(1, "x"u8), echo, Ct));

        // A refused message does not advance the session: the genuine message 1 still opens.
        Assert.Equal("owt"u8.ToArray(), keys.OpenResponse(await server.HandleAsync(session, keys.SealRequest(1, "two"u8), echo, Ct), out _));
        Assert.Throws<EndToEndException>(() => server.CreateSession([1, 2, 3]));
    }

    [Fact]
    public async Task A_server_restart_ends_the_session_and_the_client_verifies_and_reconnects()
    {
        using SimulationTee tee = _enclaves.Tee(_server);
        EndToEndServer current = await EndToEndServer.CreateAsync(tee, cancellationToken: Ct);
        try
        {
            EndToEndServer Current() => current;
            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            await using WebApplication app = builder.Build();
            app.MapGet("/v2/e2e/key", () => Microsoft.AspNetCore.Http.Results.Text(Current().KeyDocument().ToJsonString(), "application/json"));
            app.MapPost("/v2/e2e/sessions", async (Microsoft.AspNetCore.Http.HttpContext c) =>
            {
                var body = await System.Text.Json.JsonDocument.ParseAsync(c.Request.Body, cancellationToken: Ct);
                (byte[] id, byte[] random, byte[] confirmation) = Current().CreateSession(Convert.FromBase64String(body.RootElement.GetProperty("key").GetString()!));
                return Microsoft.AspNetCore.Http.Results.Json(new { session = Convert.ToHexStringLower(id), random = Convert.ToBase64String(random), confirmation = Convert.ToBase64String(confirmation) });
            });
            app.MapPost("/v2/e2e/sessions/{id}", async (Microsoft.AspNetCore.Http.HttpContext c, string id) =>
            {
                using var buffer = new MemoryStream();
                await c.Request.Body.CopyToAsync(buffer, Ct);
                try
                {
                    byte[] answer = await Current().HandleAsync(id, buffer.ToArray(), (p, _) => Task.FromResult(new EndToEndResponse(200, "text/plain", p).Encode()), Ct);
                    return Microsoft.AspNetCore.Http.Results.Bytes(answer);
                }
                catch (EndToEndException ex) when (ex.Error == EndToEndError.UnknownSession)
                {
                    return Microsoft.AspNetCore.Http.Results.NotFound();
                }
            });
            await app.StartAsync(Ct);
            using var http = new HttpClient();
            var verifier = new AttestedCertificateVerifier(_enclaves.PolicyFor(_server));
            using var client = new EndToEndClient(http, new Uri(app.Urls.Single() + "/v2/e2e"), verifier);
            await client.SendAsync(new EndToEndRequest("GET", "/v2", "text/plain", []), Ct);
            byte[] firstKey = current.PublicKey;

            current.Dispose();
            current = await EndToEndServer.CreateAsync(tee, cancellationToken: Ct); // a restarted enclave: new key, no sessions
            Assert.Equal(200, (await client.SendAsync(new EndToEndRequest("GET", "/v2", "text/plain", []), Ct)).Status);
            Assert.NotEqual(firstKey, current.PublicKey);
            await app.StopAsync(Ct);
        }
        finally
        {
            current.Dispose();
        }
    }

    [Fact]
    public async Task The_dispatcher_runs_the_applications_own_routes_in_process()
    {
        using SimulationTee tee = _enclaves.Tee(_server);
        using EndToEndServer e2e = await EndToEndServer.CreateAsync(tee, cancellationToken: Ct);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using WebApplication app = builder.Build();
        app.MapGet("/v2/hello/{name}", (string name) => $"hello {name}");
        app.MapPost("/v2/echo", async (Microsoft.AspNetCore.Http.HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            return Microsoft.AspNetCore.Http.Results.Json(new { echoed = await reader.ReadToEndAsync(), type = request.ContentType });
        });
        app.MapEndToEnd("/v2/e2e", e2e, EndpointDispatcher.Create(app, app.Services, "/v2/e2e"));
        await app.StartAsync(Ct);
        using var http = new HttpClient();
        using var client = new EndToEndClient(http, new Uri(app.Urls.Single() + "/v2/e2e"), new AttestedCertificateVerifier(_enclaves.PolicyFor(_server)));

        EndToEndResponse hello = await client.SendAsync(new EndToEndRequest("GET", "/v2/hello/enclave", "text/plain", []), Ct);
        Assert.Equal((200, "hello enclave"), (hello.Status, Encoding.UTF8.GetString(hello.Body)));
        EndToEndResponse echo = await client.SendAsync(new EndToEndRequest("POST", "/v2/echo", "application/json", "{\"x\":1}"u8.ToArray()), Ct);
        Assert.Equal(200, echo.Status);
        Assert.Equal("{\"x\":1}", System.Text.Json.JsonDocument.Parse(echo.Body).RootElement.GetProperty("echoed").GetString());
        Assert.Equal(404, (await client.SendAsync(new EndToEndRequest("GET", "/v2/nowhere", "text/plain", []), Ct)).Status);
        Assert.Equal(404, (await client.SendAsync(new EndToEndRequest("GET", "/v2/e2e/key", "text/plain", []), Ct)).Status);
        Assert.Equal(404, (await client.SendAsync(new EndToEndRequest("POST", "/v2/hello/enclave", "text/plain", []), Ct)).Status);
        await app.StopAsync(Ct);
    }

    public void Dispose() => _enclaves.Dispose();

    private static async Task<WebApplication> StartAsync(EndToEndServer server, Func<EndToEndRequest, CancellationToken, Task<EndToEndResponse>> dispatch)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        WebApplication app = builder.Build();
        app.MapEndToEnd("/v2/e2e", server, dispatch);
        await app.StartAsync(Ct);
        return app;
    }

    private static async Task AssertRefusedAsync(EndToEndError error, Func<Task> action)
    {
        EndToEndException refused = await Assert.ThrowsAsync<EndToEndException>(action);
        Assert.Equal(error, refused.Error);
    }
}
