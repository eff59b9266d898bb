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

    [Fact]
    public async Task Administrators_manage_policies_with_a_token_from_admin_token_and_the_sealed_signing_key_survives_a_restart()
    {
        string work = Directory.CreateTempSubdirectory("confide-serve-admin-").FullName;
        string data = Path.Combine(work, "data");
        using var adminKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        string privateKey = Path.Combine(work, "admin.key.pem");
        string publicKey = Path.Combine(work, "admin.pub.pem");
        await File.WriteAllTextAsync(privateKey, adminKey.ExportPkcs8PrivateKeyPem(), Ct);
        await File.WriteAllTextAsync(publicKey, adminKey.ExportSubjectPublicKeyInfoPem(), Ct);
        // Known before the server starts, and used again by its restart: not from the ephemeral range.
        int port = Confide.Tests.LoopbackPorts.Next();

        string[] serve = ["attestation", "serve", "--urls", $"https://127.0.0.1:{port}", "--data-dir", data, "--allow-simulation", "--admin-issuer", "https://ops.example", "--admin-key", publicKey];
        (int exit, string token, string errors) = await ConfideProcess.RunAsync(fixture.StateDirectory, "attestation", "admin-token", "--key", privateKey, "--issuer", "https://ops.example");
        Assert.True(exit == 0, errors);
        token = token.Trim();

        string keyId;
        using (Process first = Start(serve))
        {
            try
            {
                string issuer = await ReadFieldAsync(first, "issuer: ");
                string pem = await ReadFieldAsync(first, "tls certificate: ");
                keyId = (await ReadFieldAsync(first, "signing key: kid ")).Split(' ')[0];
                using HttpClient client = await PinnedClientAsync(issuer, pem);
                const string policy = "eyJhbGciOiJub25lIn0.eyJBdHRlc3RhdGlvblBvbGljeSI6ImRtVnljMmx2YmoweExqQTdJR0YxZEdodmNtbDZZWFJwYjI1eWRXeGxjeUI3SUQwLVpHVnVlU2dwT3lCOU93In0.";
                using (HttpResponseMessage anonymous = await client.PutAsync("/policies/SgxEnclave?api-version=2020-10-01", new StringContent(policy), Ct))
                {
                    Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
                }

                using var put = new HttpRequestMessage(HttpMethod.Put, "/policies/SgxEnclave?api-version=2020-10-01") { Content = new StringContent(policy) };
                put.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
                using HttpResponseMessage accepted = await client.SendAsync(put, Ct);
                Assert.True(accepted.StatusCode == HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync(Ct));
            }
            finally
            {
                first.Kill(entireProcessTree: true);
                await first.WaitForExitAsync(Ct);
            }
        }

        using Process second = Start(serve);
        try
        {
            string issuer = await ReadFieldAsync(second, "issuer: ");
            Assert.Equal(keyId, (await ReadFieldAsync(second, "signing key: kid ")).Split(' ')[0]);
            using HttpClient client = await PinnedClientAsync(issuer, Path.Combine(data, "tls.pem"));

            // The stored deny-all policy outlived the restart: simulated evidence is now refused.
            using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate(fixture.StateDirectory);
            using var tee = new SimulationTee(platform, new TeeIdentity(TeeKind.Simulation, new byte[32], new byte[32], 1, 1, false));
            byte[] quote = (await tee.GetEvidenceAsync(new byte[64], Ct)).Data;
            using HttpResponseMessage refused = await client.PostAsJsonAsync("/attest/SgxEnclave?api-version=2020-10-01", new { quote = Convert.ToBase64String(quote).TrimEnd('=').Replace('+', '-').Replace('/', '_') }, Ct);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("PolicyEvaluationError", await refused.Content.ReadAsStringAsync(Ct));
        }
        finally
        {
            second.Kill(entireProcessTree: true);
            await second.WaitForExitAsync(Ct);
            Directory.Delete(work, recursive: true);
        }
    }

    private Process Start(string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(EnclaveFixture.CliDirectory, "confide.dll"));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["CONFIDE_SIMULATION_DIR"] = fixture.StateDirectory;
        return Process.Start(start)!;
    }

    private static async Task<HttpClient> PinnedClientAsync(string issuer, string pemPath)
    {
        byte[] pinned = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(pemPath, Ct)).GetCertHash();
        return new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHash().AsSpan().SequenceEqual(pinned) },
        })
        { BaseAddress = new Uri(issuer) };
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
