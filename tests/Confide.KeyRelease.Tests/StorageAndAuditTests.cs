using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confide.AttestationService.Client;
using Confide.KeyRelease.Client;
using Confide.Tee.Simulation;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Tests;

/// <summary>Sealed storage across restarts, refusal of tampered or foreign stores, and the audit trail.</summary>
public sealed class StorageAndAuditTests(SkrEnvironment environment)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_token_used_before_a_restart_cannot_be_replayed_after_it()
    {
        string data = Path.Combine(environment.StateDirectory, "replay-" + Guid.NewGuid().ToString("N"));
        int port = FreePort();
        using SimulationTee tee = environment.Enclave();
        EnclaveSession session;
        await using (BrokerHost broker = await BrokerHost.StartAsync(environment, dataDirectory: data, port: port))
        {
            await broker.CreateKeyAsync("k", ReleaseTests.Exportable("oct", broker));
            session = await EnclaveSession.AttestAsync(environment, tee);
            await BrokerHost.SuccessAsync(await broker.ReleaseAsync("k", session.Body()));
        }

        using (session)
        await using (BrokerHost restarted = await BrokerHost.StartAsync(environment, dataDirectory: data, port: port))
        {
            // The restarted broker no longer remembers the nonce, but refuses every token older than itself.
            await BrokerHost.ErrorAsync(await restarted.ReleaseAsync("k", session.Body()), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.NonceReplayed, "issued before this broker started");

            using EnclaveSession fresh = await EnclaveSession.AttestAsync(environment, tee);
            await BrokerHost.SuccessAsync(await restarted.ReleaseAsync("k", fresh.Body()));
        }
    }

    [Fact]
    public async Task A_restart_keeps_every_key_version_and_a_crashed_write_leaves_nothing_behind()
    {
        string data = Path.Combine(environment.StateDirectory, "restart-" + Guid.NewGuid().ToString("N"));
        int port = FreePort();
        byte[] aes = RandomNumberGenerator.GetBytes(32);
        string rsaKid, rsaN, rotatedKid;
        await using (BrokerHost broker = await BrokerHost.StartAsync(environment, dataDirectory: data, port: port))
        {
            await broker.ImportKeyAsync("aes", new JsonObject
            {
                ["key"] = new JsonObject { ["kty"] = "oct", ["k"] = Base64UrlEncoder.Encode(aes) },
                ["attributes"] = new JsonObject { ["exportable"] = true },
                ["release_policy"] = broker.EnclavePolicy(),
            });
            JsonElement rsa = await broker.CreateKeyAsync("rsa", ReleaseTests.Exportable("RSA", broker));
            rsaKid = rsa.GetProperty("key").GetProperty("kid").GetString()!;
            rsaN = rsa.GetProperty("key").GetProperty("n").GetString()!;
            rotatedKid = (await BrokerHost.SuccessAsync(await broker.AdminAsync(HttpMethod.Post, "/keys/rsa/rotate"))).GetProperty("key").GetProperty("kid").GetString()!;
        }

        string keys = Path.Combine(data, "keys");
        Assert.Equal(3, Directory.GetFiles(keys, "*.sealed").Length);
        Assert.All(Directory.GetFiles(keys, "*.sealed"), f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));

        // What a write interrupted before its rename leaves: removed on start, nothing else changes.
        await File.WriteAllBytesAsync(Path.Combine(keys, ".rsa.0123.sealed.deadbeef.tmp"), [1, 2, 3], Ct);

        await using (BrokerHost restarted = await BrokerHost.StartAsync(environment, dataDirectory: data, port: port))
        {
            Assert.Empty(Directory.GetFiles(keys, "*.tmp", new EnumerationOptions { AttributesToSkip = 0 }));
            JsonElement old = await BrokerHost.SuccessAsync(await restarted.AdminAsync(HttpMethod.Get, "/keys/rsa/" + rsaKid.Split('/')[^1]));
            Assert.Equal(rsaN, old.GetProperty("key").GetProperty("n").GetString());
            JsonElement current = await BrokerHost.SuccessAsync(await restarted.AdminAsync(HttpMethod.Get, "/keys/rsa"));
            Assert.Equal(rotatedKid, current.GetProperty("key").GetProperty("kid").GetString());

            using SimulationTee tee = environment.Enclave();
            using AttestationClient attestation = environment.Attestation();
            using ReleasedKey released = await ReleaseTests.Client(restarted, tee, attestation).ReleaseAsync("aes", cancellationToken: Ct);
            Assert.Equal(aes, released.SymmetricKey.ToArray());
        }
    }

    [Fact]
    public async Task A_tampered_renamed_or_foreign_store_stops_the_broker_from_starting()
    {
        string data = Path.Combine(environment.StateDirectory, "tamper-" + Guid.NewGuid().ToString("N"));
        await using (BrokerHost broker = await BrokerHost.StartAsync(environment, dataDirectory: data))
        {
            await broker.CreateKeyAsync("a", new JsonObject { ["kty"] = "oct" });
            await broker.CreateKeyAsync("b", new JsonObject { ["kty"] = "oct" });
        }

        string keys = Path.Combine(data, "keys");
        string a = Directory.GetFiles(keys, "a.*.sealed").Single();
        string b = Directory.GetFiles(keys, "b.*.sealed").Single();

        // Another broker identity (another signer) cannot open the store, and says so.
        InvalidDataException foreign = await Assert.ThrowsAsync<InvalidDataException>(() => BrokerHost.StartAsync(environment, dataDirectory: data, brokerSigner: "another broker"));
        Assert.Contains("WrongIdentity", foreign.Message, StringComparison.Ordinal);
        Assert.Contains("refuses to start", foreign.Message, StringComparison.Ordinal);

        // A flipped bit.
        byte[] original = await File.ReadAllBytesAsync(a, Ct);
        byte[] tampered = [.. original];
        tampered[^5] ^= 0x40;
        await File.WriteAllBytesAsync(a, tampered, Ct);
        InvalidDataException altered = await Assert.ThrowsAsync<InvalidDataException>(() => BrokerHost.StartAsync(environment, dataDirectory: data));
        Assert.Contains(Path.GetFileName(a), altered.Message, StringComparison.Ordinal);
        Assert.Contains("Tampered", altered.Message, StringComparison.Ordinal);

        // One key's blob under another key's name: the name is bound into the seal.
        await File.WriteAllBytesAsync(a, await File.ReadAllBytesAsync(b, Ct), Ct);
        Assert.Contains("Tampered", (await Assert.ThrowsAsync<InvalidDataException>(() => BrokerHost.StartAsync(environment, dataDirectory: data))).Message, StringComparison.Ordinal);

        // A file that is no key version at all.
        await File.WriteAllBytesAsync(a, original, Ct);
        await File.WriteAllBytesAsync(Path.Combine(keys, "stray.sealed"), [1], Ct);
        Assert.Contains("is not named", (await Assert.ThrowsAsync<InvalidDataException>(() => BrokerHost.StartAsync(environment, dataDirectory: data))).Message, StringComparison.Ordinal);

        File.Delete(Path.Combine(keys, "stray.sealed"));
        await using BrokerHost healed = await BrokerHost.StartAsync(environment, dataDirectory: data);
        Assert.Equal(["a", "b"], healed.Server.Keys.Names);
    }

    [Fact]
    public async Task Every_release_refusal_and_change_is_one_audit_line_without_key_material()
    {
        await using BrokerHost broker = await BrokerHost.StartAsync(environment);
        byte[] aes = RandomNumberGenerator.GetBytes(32);
        JsonElement imported = await broker.ImportKeyAsync("aes", new JsonObject
        {
            ["key"] = new JsonObject { ["kty"] = "oct", ["k"] = Base64UrlEncoder.Encode(aes) },
            ["attributes"] = new JsonObject { ["exportable"] = true },
            ["release_policy"] = broker.EnclavePolicy(),
        });
        await broker.CreateKeyAsync("rsa", ReleaseTests.Exportable("RSA", broker));
        await BrokerHost.ErrorAsync(await broker.AdminAsync(HttpMethod.Post, "/keys/bad/create", new JsonObject { ["kty"] = "DES" }), HttpStatusCode.BadRequest, KeyBrokerErrorCodes.BadParameter);

        using SimulationTee tee = environment.Enclave();
        using AttestationClient attestation = environment.Attestation();
        KeyReleaseClient client = ReleaseTests.Client(broker, tee, attestation);
        using ReleasedKey releasedAes = await client.ReleaseAsync("aes", cancellationToken: Ct);
        using ReleasedKey releasedRsa = await client.ReleaseAsync("rsa", cancellationToken: Ct);

        using SimulationTee stranger = environment.Enclave(enclave: "stranger");
        using EnclaveSession session = await EnclaveSession.AttestAsync(environment, stranger);
        await BrokerHost.ErrorAsync(await broker.ReleaseAsync("aes", session.Body()), HttpStatusCode.Forbidden, KeyBrokerErrorCodes.PolicyNotSatisfied);
        await BrokerHost.ErrorAsync(await broker.Client.PostAsync("/keys/aes/release", new StringContent(new string('x', 300 * 1024)), Ct), HttpStatusCode.RequestEntityTooLarge, KeyBrokerErrorCodes.RequestTooLarge);

        string log = await File.ReadAllTextAsync(broker.Server.AuditLogPath, Ct);
        JsonElement[] lines = [.. log.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)];
        Assert.Equal(["import", "create", "create", "release", "release", "release", "release"], lines.Select(l => l.GetProperty("operation").GetString()));
        Assert.Equal(["allowed", "allowed", "denied", "allowed", "allowed", "denied", "denied"], lines.Select(l => l.GetProperty("decision").GetString()));
        Assert.All(lines, l => Assert.True(DateTimeOffset.TryParse(l.GetProperty("time").GetString(), out _)));

        JsonElement import = lines[0];
        Assert.Equal("aes", import.GetProperty("key").GetString());
        Assert.Equal(imported.GetProperty("key").GetProperty("kid").GetString()!.Split('/')[^1], import.GetProperty("version").GetString());
        Assert.Equal(AdminTokens.Subject, import.GetProperty("caller").GetProperty("subject").GetString());
        Assert.StartsWith("BadParameter: 'kty' 'DES'", lines[2].GetProperty("reason").GetString(), StringComparison.Ordinal);

        JsonElement released = lines[3];
        Assert.Equal(environment.Simulation.Issuer, released.GetProperty("caller").GetProperty("issuer").GetString());
        Assert.Equal(SkrEnvironment.Hex("enclave"), released.GetProperty("caller").GetProperty("mrenclave").GetString());
        Assert.Equal(SkrEnvironment.Hex("signer"), released.GetProperty("caller").GetProperty("mrsigner").GetString());
        Assert.Contains("RSA_AES_KEY_WRAP_256", released.GetProperty("reason").GetString(), StringComparison.Ordinal);

        JsonElement refused = lines[5];
        Assert.Equal(SkrEnvironment.Hex("stranger"), refused.GetProperty("caller").GetProperty("mrenclave").GetString());
        Assert.StartsWith("ReleasePolicyNotSatisfied: ", refused.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("RequestTooLarge: ", lines[6].GetProperty("reason").GetString(), StringComparison.Ordinal);

        // No key material in any encoding: not the AES key, not the RSA private exponent or primes.
        RSAParameters rsa = releasedRsa.Rsa.ExportParameters(true);
        foreach (byte[] secret in new[] { aes, rsa.D!, rsa.P!, rsa.Q! })
        {
            Assert.DoesNotContain(Base64UrlEncoder.Encode(secret), log, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToBase64String(secret), log, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToHexStringLower(secret), log, StringComparison.OrdinalIgnoreCase);
        }

        Assert.DoesNotContain("ciphertext", log, StringComparison.Ordinal);
        Assert.DoesNotContain("key_hsm", log, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(broker.Server.AuditLogPath));
    }

    [Fact]
    public async Task A_broker_on_the_simulation_TEE_starts_only_when_allowed()
    {
        using SimulationTee tee = environment.BrokerTee();
        string data = Path.Combine(environment.StateDirectory, "no-sim-" + Guid.NewGuid().ToString("N"));
        ArgumentException refused = await Assert.ThrowsAsync<ArgumentException>(() => Hosting.KeyBrokerServer.StartAsync(new Uri("https://127.0.0.1:0"), data, new KeyBrokerOptions { Tee = tee }, Ct));
        Assert.Contains("simulation TEE", refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(data, "keys")));
        await Assert.ThrowsAsync<ArgumentException>(() => Hosting.KeyBrokerServer.StartAsync(new Uri("http://127.0.0.1:0"), data, new KeyBrokerOptions { Tee = tee, AllowSimulation = true }, Ct));
        Assert.Throws<ArgumentException>(() => new TrustedAuthority(new Uri("http://127.0.0.1:8443")));
    }

    private static int FreePort() => Confide.Tests.LoopbackPorts.Next();
}
