using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Integration.Tests;

/// <summary><c>confide attestation serve</c> as a process: prints its issuer and TLS certificate, then attests.</summary>
public sealed class AttestationServeTests(EnclaveFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_service_prints_where_it_listens_and_attests_simulated_evidence_over_https()
    {
        string data = Directory.CreateTempSubdirectory("confide-serve-").FullName;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { "exec", Path.Combine(EnclaveFixture.CliDirectory, "confide.dll"), "attestation", "serve", "--urls", "https://127.0.0.1:0", "--data-dir", data, "--allow-simulation" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["CONFIDE_SIMULATION_DIR"] = fixture.StateDirectory;
        using Process process = Process.Start(start)!;
        try
        {
            string issuer = await ReadFieldAsync(process, "issuer: ");
            string pem = await ReadFieldAsync(process, "tls certificate: ");
            using X509Certificate2 tls = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(pem, Ct));
            using var client = new HttpClient(new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHash().AsSpan().SequenceEqual(tls.GetCertHash()) },
            })
            { BaseAddress = new Uri(issuer) };

            using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate(fixture.StateDirectory);
            using var tee = new SimulationTee(platform, new TeeIdentity(TeeKind.Simulation, new byte[32], new byte[32], 1, 1, false));
            byte[] quote = (await tee.GetEvidenceAsync(new byte[64], Ct)).Data;
            using HttpResponseMessage response = await client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", new { quote = Convert.ToBase64String(quote).TrimEnd('=').Replace('+', '-').Replace('/', '_') }, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            string token = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("token").GetString()!;
            string payload = token.Split('.')[1];
            using JsonDocument claims = JsonDocument.Parse(Convert.FromBase64String(payload.Replace('-', '+').Replace('_', '/') + new string('=', (4 - payload.Length % 4) % 4)));
            Assert.Equal(issuer, claims.RootElement.GetProperty("iss").GetString());
            Assert.Equal("sgx", claims.RootElement.GetProperty("x-ms-attestation-type").GetString());
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(Ct);
        }
    }

    private static async Task<string> ReadFieldAsync(Process process, string prefix)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..];
            }
        }

        throw new InvalidOperationException($"The service exited without printing '{prefix}': {await process.StandardError.ReadToEndAsync(Ct)}");
    }
}
