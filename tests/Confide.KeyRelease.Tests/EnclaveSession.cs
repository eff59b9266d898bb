using System.Text.Json.Nodes;
using Confide.AttestationService.Client;
using Confide.AttestationService.Tokens;
using Confide.KeyRelease.Client;
using Confide.Tee.Simulation;

namespace Confide.KeyRelease.Tests;

/// <summary>
/// What an enclave does before a release, step by step (as <see cref="KeyReleaseClient"/> does),
/// for tests that shape the request themselves: a wrapping key, evidence binding it, a token.
/// </summary>
internal sealed class EnclaveSession : IDisposable
{
    private EnclaveSession(EnclaveWrappingKey key, string token, string nonce)
    {
        Key = key;
        Token = token;
        Nonce = nonce;
    }

    public EnclaveWrappingKey Key { get; }

    public string Token { get; }

    public string Nonce { get; }

    /// <summary>Attests <paramref name="tee"/> with a new wrapping key as JSON runtime data (or, with <paramref name="binary"/>, as Binary data: no x-ms-runtime).</summary>
    public static async Task<EnclaveSession> AttestAsync(SkrEnvironment environment, SimulationTee tee, string? nonce = null, bool binary = false)
    {
        var key = EnclaveWrappingKey.Create();
        nonce ??= Guid.NewGuid().ToString("N");
        byte[] quote = (await tee.GetEvidenceAsync(key.ReportData, TestContext.Current.CancellationToken)).Data;
        using AttestationClient client = environment.Attestation();
        AttestationResult result = await client.AttestSgxEnclaveAsync(quote, new RuntimeData(key.RuntimeData, binary ? RuntimeDataType.Binary : RuntimeDataType.Json), nonce, cancellationToken: TestContext.Current.CancellationToken);
        return new EnclaveSession(key, result.Token, nonce);
    }

    /// <summary>The release body: <c>{"target", "nonce", "enc"}</c>.</summary>
    public JsonObject Body(string enc = "RSA_AES_KEY_WRAP_256", string? nonce = null, string? token = null) =>
        new() { ["target"] = token ?? Token, ["nonce"] = nonce ?? Nonce, ["enc"] = enc };

    public void Dispose() => Key.Dispose();
}
