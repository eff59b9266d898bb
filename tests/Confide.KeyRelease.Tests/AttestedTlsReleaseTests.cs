using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Confide.AttestationService.Client;
using Confide.KeyRelease.Client;
using Confide.Tee.Simulation;
using Confide.Tls.Verification;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Tests;

/// <summary>Releases over attested TLS: the enclave checks the broker's enclave before asking, and the release's signer with it.</summary>
public sealed class AttestedTlsReleaseTests(SkrEnvironment environment)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(BrokerTlsMode.AttestedToken)]
    [InlineData(BrokerTlsMode.AttestedEvidence)]
    public async Task An_enclave_releases_a_key_from_a_broker_it_verified_over_attested_tls(BrokerTlsMode mode)
    {
        await using BrokerHost broker = await BrokerHost.StartAsync(environment, tlsMode: mode);
        byte[] secret = RandomNumberGenerator.GetBytes(32);
        await broker.ImportKeyAsync("model-key", new JsonObject
        {
            ["key"] = new JsonObject { ["kty"] = "oct-HSM", ["k"] = Base64UrlEncoder.Encode(secret) },
            ["attributes"] = new JsonObject { ["exportable"] = true },
            ["release_policy"] = broker.EnclavePolicy(),
        });

        using SimulationTee tee = environment.Enclave();
        using AttestationClient attestation = environment.Attestation();
        AttestedCertificateVerifier brokerVerifier = environment.BrokerVerifier();
        var client = new KeyReleaseClient(KeyReleaseClientOptions.ForAttestedBroker(new Uri(broker.Url), tee, attestation, brokerVerifier));
        using ReleasedKey released = await client.ReleaseAsync("model-key", cancellationToken: Ct);
        Assert.Equal(secret, released.SymmetricKey.ToArray());
        // Token mode: the TLS certificate's token also lists the signing key. Evidence mode: the
        // signing certificate's own quote (MAA's extension, a legacy raw quote) is verified too.
        AttestedCertificateKind[] expected = mode == BrokerTlsMode.AttestedToken
            ? [AttestedCertificateKind.AttestationToken]
            : [AttestedCertificateKind.DiceEvidence, AttestedCertificateKind.LegacyQuote];
        Assert.All(brokerVerifier.VerifiedPeers, p => Assert.Equal(SkrEnvironment.Hash("broker code"), p.UniqueId));
        Assert.Equal(expected, brokerVerifier.VerifiedPeers.Select(p => p.Kind).Order());

        // An enclave that expects another broker enclave never sends its token.
        AttestedCertificateVerifier other = environment.BrokerVerifier("another broker");
        var refusing = new KeyReleaseClient(KeyReleaseClientOptions.ForAttestedBroker(new Uri(broker.Url), tee, attestation, other));
        Exception refused = await Assert.ThrowsAnyAsync<Exception>(() => refusing.ReleaseAsync("model-key", cancellationToken: Ct));
        Assert.Contains("unique id", Flatten(refused), StringComparison.Ordinal);
    }

    private static string Flatten(Exception exception)
    {
        var text = new System.Text.StringBuilder();
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            text.Append(e.Message).Append(" | ");
        }

        return text.ToString();
    }
}
