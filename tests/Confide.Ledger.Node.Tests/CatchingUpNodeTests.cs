using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;

namespace Confide.Ledger.Node.Tests;

/// <summary>
/// A node that has not yet received the service's state cannot know its users: it asks callers to
/// retry (503) rather than refusing them as unauthenticated (401), which a client takes as final.
/// </summary>
public sealed class CatchingUpNodeTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new(3, http: true);
    private readonly X509Certificate2 _user = LedgerApiTests.SelfSigned("user0");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _cluster.Genesis.Users.Add(X509CertificateLoader.LoadCertificate(_user.RawData));
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_node_without_the_service_state_answers_app_calls_with_a_retryable_503_then_serves_them_once_it_has_it()
    {
        // One node of three: no majority, so no genesis has reached it.
        await _cluster.StartAsync(0, Ct);
        using HttpClient client = Client(_user);
        Uri read = new(_cluster.Urls[0], "/app/log/private?id=1");

        using (HttpResponseMessage early = await client.GetAsync(read, Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode);
            Assert.Equal("FrontendNotOpen", (string?)(await early.Content.ReadFromJsonAsync<JsonObject>(Ct))!["error"]!["code"]);
            Assert.Equal(TimeSpan.FromSeconds(1), early.Headers.RetryAfter?.Delta);
        }

        // Unknown paths are still told apart from a node that is catching up.
        using (HttpResponseMessage unknown = await client.GetAsync(new Uri(_cluster.Urls[0], "/app/nothing"), Ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        await _cluster.StartAsync(1, Ct);
        await _cluster.StartAsync(2, Ct);

        // Once the genesis arrives the user is known: an absent record is 404, not 401 or 503.
        HttpStatusCode status = HttpStatusCode.ServiceUnavailable;
        for (int attempt = 0; attempt < 300 && status == HttpStatusCode.ServiceUnavailable; attempt++)
        {
            using HttpResponseMessage response = await client.GetAsync(read, Ct);
            status = response.StatusCode;
            await Task.Delay(status == HttpStatusCode.ServiceUnavailable ? 100 : 0, Ct);
        }

        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    public async ValueTask DisposeAsync()
    {
        await _cluster.DisposeAsync();
        _user.Dispose();
    }

    private HttpClient Client(X509Certificate2 certificate)
    {
        X509Certificate2 service = X509CertificateLoader.LoadCertificate(_cluster.Service.Certificate.RawData);
        return new HttpClient(new SocketsHttpHandler
        {
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 peer && ServiceIdentity.IsIssuedBy(peer, service),
                ClientCertificates = [certificate],
            },
        });
    }
}
