using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.KeyRelease.Hosting;
using Confide.Tee.Simulation;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Tests;

/// <summary>
/// A real key broker (HTTPS on 127.0.0.1) trusting the simulation and production attestation
/// services, with an HttpClient pinned to its TLS certificate and helpers for its REST API.
/// </summary>
public sealed class BrokerHost : IAsyncDisposable
{
    private readonly SimulationTee _tee;
    private readonly bool _ownsData;

    private BrokerHost(KeyBrokerServer server, SimulationTee tee, string dataDirectory, bool ownsData, HttpClient client, SkrEnvironment environment)
    {
        Server = server;
        _tee = tee;
        DataDirectory = dataDirectory;
        _ownsData = ownsData;
        Client = client;
        Environment = environment;
    }

    public KeyBrokerServer Server { get; }

    public string Url => Server.Url;

    public string DataDirectory { get; }

    /// <summary>Trusts exactly the broker's TLS certificate; no default Authorization header.</summary>
    public HttpClient Client { get; }

    public SkrEnvironment Environment { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Starts a broker trusting both attestation services (or <paramref name="authorities"/>), administered with the environment's tokens.</summary>
    public static async Task<BrokerHost> StartAsync(SkrEnvironment environment, bool requireNonce = true, TimeProvider? clock = null, IList<TrustedAuthority>? authorities = null, string? dataDirectory = null, int port = 0, string brokerSigner = "broker", long maxRequestBytes = 256 * 1024, Confide.AttestationService.AdminAuthenticationOptions? admin = null, BrokerTlsMode tlsMode = BrokerTlsMode.SelfSigned)
    {
        bool owns = dataDirectory is null;
        dataDirectory ??= Path.Combine(environment.StateDirectory, "broker-" + Guid.NewGuid().ToString("N"));
        SimulationTee tee = environment.BrokerTee(brokerSigner);
        var options = new KeyBrokerOptions
        {
            Tee = tee,
            AllowSimulation = true,
            AdminAuthentication = admin ?? environment.Admin.Options(),
            TrustedAuthorities = authorities ??
            [
                new TrustedAuthority(new Uri(environment.Simulation.Issuer), environment.SimulationTls),
                new TrustedAuthority(new Uri(environment.Production.Issuer), environment.ProductionTls),
            ],
            RequireNonce = requireNonce,
            Clock = clock ?? TimeProvider.System,
            MaxRequestBytes = maxRequestBytes,
            TlsMode = tlsMode,
            TlsAttestation = tlsMode == BrokerTlsMode.AttestedToken ? environment.Attestation() : null,
        };
        try
        {
            KeyBrokerServer server = await KeyBrokerServer.StartAsync(new Uri($"https://127.0.0.1:{port}"), dataDirectory, options, Ct);
            HttpClient client;
            if (tlsMode == BrokerTlsMode.SelfSigned)
            {
                client = SkrEnvironment.PinnedClient(X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(server.TlsCertificatePath, Ct)));
            }
            else
            {
                client = new HttpClient(Confide.Tls.Hosting.AttestedTls.UseAttestedTls(new SocketsHttpHandler(), environment.BrokerVerifier(brokerSigner)));
            }

            client.BaseAddress = new Uri(server.Url);
            return new BrokerHost(server, tee, dataDirectory, owns, client, environment);
        }
        catch
        {
            tee.Dispose();
            throw;
        }
    }

    /// <summary>A request with the administrator's bearer token (or <paramref name="token"/>).</summary>
    public Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, JsonNode? body = null, string? token = null)
    {
        var request = new HttpRequestMessage(method, path)
        {
            Content = body is null ? null : new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? Environment.Admin.Create());
        return Client.SendAsync(request, Ct);
    }

    /// <summary>Creates a key and returns its KeyBundle.</summary>
    public async Task<JsonElement> CreateKeyAsync(string name, JsonObject body) =>
        await SuccessAsync(await AdminAsync(HttpMethod.Post, $"/keys/{name}/create?api-version=7.4", body));

    /// <summary>Imports a key and returns its KeyBundle.</summary>
    public async Task<JsonElement> ImportKeyAsync(string name, JsonObject body) =>
        await SuccessAsync(await AdminAsync(HttpMethod.Put, $"/keys/{name}?api-version=7.4", body));

    /// <summary>POST /keys/{name}[/{version}]/release with a raw body.</summary>
    public Task<HttpResponseMessage> ReleaseAsync(string name, JsonNode body, string? version = null, string apiVersion = "7.4") =>
        Client.PostAsync($"/keys/{name}{(version is null ? "" : "/" + version)}/release?api-version={apiVersion}", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), Ct);

    /// <summary>A release policy envelope for <paramref name="policy"/>.</summary>
    public static JsonObject Policy(JsonNode policy, bool immutable = false) => new()
    {
        ["contentType"] = "application/json; charset=utf-8",
        ["data"] = Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(policy.ToJsonString())),
        ["immutable"] = immutable,
    };

    /// <summary>A policy admitting the simulation authority's tokens for the given enclave, not debuggable.</summary>
    public JsonObject EnclavePolicy(string enclave = "enclave", string signer = "signer", string? authority = null) => Policy(new JsonObject
    {
        ["version"] = "1.0.0",
        ["anyOf"] = new JsonArray(new JsonObject
        {
            ["authority"] = authority ?? Environment.Simulation.Issuer + "/",
            ["allOf"] = new JsonArray(
                new JsonObject { ["claim"] = "x-ms-sgx-mrenclave", ["equals"] = SkrEnvironment.Hex(enclave) },
                new JsonObject { ["claim"] = "x-ms-sgx-mrsigner", ["equals"] = SkrEnvironment.Hex(signer) },
                new JsonObject { ["claim"] = "x-ms-sgx-is-debuggable", ["equals"] = false },
                new JsonObject { ["claim"] = "x-ms-sgx-svn", ["greaterOrEquals"] = 1 }),
        }),
    });

    public static async Task<JsonElement> SuccessAsync(HttpResponseMessage response)
    {
        using (response)
        {
            string text = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
            return JsonDocument.Parse(text).RootElement.Clone();
        }
    }

    /// <summary>An Azure Key Vault error: the status and <c>{"error":{"code","message"}}</c>; returns the message.</summary>
    public static async Task<string> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, string? messagePart = null)
    {
        using (response)
        {
            string text = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(status == response.StatusCode, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {text}");
            JsonElement error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            Assert.Equal(code, error.GetProperty("code").GetString());
            string message = error.GetProperty("message").GetString()!;
            if (messagePart is not null)
            {
                Assert.Contains(messagePart, message, StringComparison.Ordinal);
            }

            return message;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        _tee.Dispose();
        if (_ownsData)
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }
}
