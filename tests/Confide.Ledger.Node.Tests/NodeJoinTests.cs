using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Confide.Attestation.Verification;
using Confide.Ledger.Node.Hosting;
using Confide.Tee;
using Confide.Tee.Simulation;

namespace Confide.Ledger.Node.Tests;

/// <summary>The join protocol's checks on their own: every malformed or unbound request is a typed refusal.</summary>
public sealed class NodeJoinTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("confide-node-join-").FullName;
    private readonly SimulatedPlatform _platform;
    private readonly QuoteVerifier _verifier;

    public NodeJoinTests()
    {
        _platform = SimulatedPlatform.OpenOrCreate(Path.Combine(_root, "platform"));
        var options = new QuoteVerifierOptions();
        options.SimulationRoots.Add(_platform.RootCertificate);
        _verifier = new QuoteVerifier(options);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_well_formed_request_passes_and_its_secrets_open_only_with_the_joiners_exchange_key()
    {
        (JsonObject request, ECDiffieHellman exchange, string codeId) = await RequestAsync();
        using (exchange)
        using (VerifiedJoin joiner = NodeJoin.Verify(request, _verifier, new VerificationPolicy { AllowSimulation = true }, new HashSet<string> { codeId }))
        {
            Assert.Equal(codeId, joiner.CodeId);
            JsonObject sealedSecrets = NodeJoin.SealSecrets(joiner.ExchangeKey, "the ledger secret"u8);
            Assert.Equal("the ledger secret"u8.ToArray(), NodeJoin.OpenSecrets(exchange, sealedSecrets));

            using var other = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
            Assert.Equal(NodeJoinError.Malformed, Assert.Throws<NodeJoinException>(() => NodeJoin.OpenSecrets(other, sealedSecrets)).Error);
        }
    }

    [Theory]
    [InlineData("quote", "not base64 !", NodeJoinError.Malformed)]
    [InlineData("quote", "AAAA", NodeJoinError.EvidenceRefused)]
    [InlineData("node_public_key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", NodeJoinError.Malformed)]
    [InlineData("exchange_public_key", null, NodeJoinError.Malformed)]
    [InlineData("rpc_address", "", NodeJoinError.Malformed)]
    [InlineData("rpc_address", "https://127.0.0.1:8000", NodeJoinError.Malformed)]
    [InlineData("node_to_node_address", "node_1:7000", NodeJoinError.Malformed)]
    [InlineData("node_to_node_address", null, NodeJoinError.Malformed)]
    [InlineData("collateral", "{\"not\": \"collateral\"}", NodeJoinError.Malformed)]
    public async Task A_malformed_field_is_a_typed_refusal(string field, string? value, NodeJoinError expected)
    {
        (JsonObject request, ECDiffieHellman exchange, string codeId) = await RequestAsync();
        using (exchange)
        {
            request[field] = value;
            NodeJoinException refused = Assert.Throws<NodeJoinException>(() => NodeJoin.Verify(request, _verifier, new VerificationPolicy { AllowSimulation = true }, new HashSet<string> { codeId }));
            Assert.Equal(expected, refused.Error);
        }
    }

    [Theory]
    [InlineData("node-1.ledger:8000", "node-1.ledger:7000", new[] { "node-1.ledger" })]
    [InlineData("Node-1.Ledger:8000", "10.1.0.5:7000", new[] { "node-1.ledger", "10.1.0.5" })]
    [InlineData("[::1]:8000", "127.0.0.1:7000", new[] { "::1", "127.0.0.1" })]
    public async Task The_joiners_certificate_names_the_hosts_of_both_its_addresses(string rpc, string nodeToNode, string[] names)
    {
        (JsonObject request, ECDiffieHellman exchange, string codeId) = await RequestAsync();
        using (exchange)
        {
            request["rpc_address"] = rpc;
            request["node_to_node_address"] = nodeToNode;
            using VerifiedJoin joiner = NodeJoin.Verify(request, _verifier, new VerificationPolicy { AllowSimulation = true }, new HashSet<string> { codeId });
            Assert.Equal(names, joiner.HostNames);
        }
    }

    [Fact]
    public async Task Simulated_evidence_is_refused_unless_allowed_and_a_p384_node_key_is_refused()
    {
        (JsonObject request, ECDiffieHellman exchange, string codeId) = await RequestAsync();
        using (exchange)
        {
            Assert.Equal(NodeJoinError.EvidenceRefused, Assert.Throws<NodeJoinException>(() => NodeJoin.Verify(request, _verifier, new VerificationPolicy(), new HashSet<string> { codeId })).Error);
            using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
            request["node_public_key"] = p384.ExportSubjectPublicKeyInfoPem();
            Assert.Contains("P-256", Assert.Throws<NodeJoinException>(() => NodeJoin.Verify(request, _verifier, new VerificationPolicy { AllowSimulation = true }, new HashSet<string> { codeId })).Message, StringComparison.Ordinal);
        }
    }

    public void Dispose()
    {
        _platform.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private async Task<(JsonObject Request, ECDiffieHellman Exchange, string CodeId)> RequestAsync()
    {
        var identity = new TeeIdentity(TeeKind.Simulation, SHA256.HashData("ledger code"u8), SHA256.HashData("signer"u8), 4, 1, false);
        using var tee = new SimulationTee(_platform, identity);
        using ECDsa nodeKey = ServiceIdentity.CreateNodeKey();
        var exchange = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        TeeEvidence evidence = await tee.GetEvidenceAsync(NodeJoin.ReportData(nodeKey, exchange), Ct);
        return (NodeJoin.CreateRequest(nodeKey, exchange, evidence.Data, evidence.CollateralJson, "127.0.0.1:8000", "127.0.0.1:7000"), exchange, identity.UniqueIdHex);
    }
}
