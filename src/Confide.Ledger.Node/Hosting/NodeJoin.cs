using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Attestation.Collateral;
using Confide.Attestation.Verification;
using Confide.Ledger.Consensus;

namespace Confide.Ledger.Node.Hosting;

/// <summary>
/// CCF's join protocol. A joining node sends its evidence — a quote whose report data is
/// SHA-256(its node key ‖ an ephemeral ECDH key) — to a trusted node; that node verifies the quote
/// (DCAP chain, TCB, debug) and that the code id (MRENCLAVE) is one the service allows, endorses the
/// node key with the service identity, and returns the service key and ledger secret encrypted to
/// the ephemeral key (ECDH P-384 + HKDF-SHA256 + AES-256-GCM): only the attested enclave can read them.
/// </summary>
public static class NodeJoin
{
    private static readonly byte[] SecretsLabel = "Confide ledger join secrets v1"u8.ToArray();

    /// <summary>What the joiner binds into its quote's report data.</summary>
    public static byte[] ReportData(ECDsa nodeKey, ECDiffieHellman exchangeKey) =>
        SHA256.HashData([.. nodeKey.ExportSubjectPublicKeyInfo(), .. exchangeKey.ExportSubjectPublicKeyInfo()]);

    /// <summary>The join request body.</summary>
    public static JsonObject CreateRequest(ECDsa nodeKey, ECDiffieHellman exchangeKey, byte[] quote, string? collateralJson, string rpcAddress, string nodeToNodeAddress) => new()
    {
        ["node_public_key"] = nodeKey.ExportSubjectPublicKeyInfoPem(),
        ["exchange_public_key"] = exchangeKey.ExportSubjectPublicKeyInfoPem(),
        ["quote"] = Convert.ToBase64String(quote),
        ["collateral"] = collateralJson,
        ["rpc_address"] = rpcAddress,
        ["node_to_node_address"] = nodeToNodeAddress,
    };

    /// <summary>
    /// Checks a join request: the quote verifies, binds both keys, and its code id is allowed.
    /// Returns the joiner's node key, exchange key and code id.
    /// </summary>
    /// <exception cref="NodeJoinException">The request is malformed, or the evidence does not pass.</exception>
    public static VerifiedJoin Verify(JsonObject request, QuoteVerifier verifier, VerificationPolicy policy, IReadOnlySet<string> allowedCodeIds)
    {
        ArgumentNullException.ThrowIfNull(request);
        EndPoint rpcAddress = AddressField(request, "rpc_address");
        EndPoint nodeToNodeAddress = AddressField(request, "node_to_node_address");
        string nodeKeyPem = Field(request, "node_public_key");
        string exchangeKeyPem = Field(request, "exchange_public_key");
        byte[] quote;
        try
        {
            quote = Convert.FromBase64String(Field(request, "quote"));
        }
        catch (FormatException)
        {
            throw new NodeJoinException(NodeJoinError.Malformed, "\"quote\" is not base64.");
        }

        ECDsa nodeKey = ECDsa.Create();
        ECDiffieHellman exchangeKey = ECDiffieHellman.Create();
        try
        {
            nodeKey.ImportFromPem(nodeKeyPem);
            exchangeKey.ImportFromPem(exchangeKeyPem);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            nodeKey.Dispose();
            exchangeKey.Dispose();
            throw new NodeJoinException(NodeJoinError.Malformed, $"A public key does not parse: {ex.Message}");
        }

        if (nodeKey.KeySize != 256 || exchangeKey.KeySize != 384)
        {
            nodeKey.Dispose();
            exchangeKey.Dispose();
            throw new NodeJoinException(NodeJoinError.Malformed, "The node key must be P-256 and the exchange key P-384.");
        }

        QuoteVerificationResult result;
        try
        {
            QuoteCollateral? collateral = request["collateral"]?.GetValue<string>() is { } json ? CollateralJson.Parse(json) : null;
            result = verifier.Verify(quote, collateral, policy);
        }
        catch (Exception ex) when (ex is CollateralException or FormatException or System.Text.Json.JsonException)
        {
            throw new NodeJoinException(NodeJoinError.Malformed, $"The collateral does not parse: {ex.Message}");
        }

        if (!result.Verified || result.Quote is null)
        {
            throw new NodeJoinException(NodeJoinError.EvidenceRefused, $"The joining node's quote does not verify: {result.Error}: {result.ErrorMessage}");
        }

        byte[] expected = ReportData(nodeKey, exchangeKey);
        if (!CryptographicOperations.FixedTimeEquals(result.Quote.ReportData.AsSpan(0, expected.Length), expected))
        {
            throw new NodeJoinException(NodeJoinError.EvidenceRefused, "The quote's report data does not bind the node key and exchange key of the request.");
        }

        string codeId = result.Quote.SgxBody is { } sgx ? Convert.ToHexStringLower(sgx.MrEnclave) : Convert.ToHexStringLower(result.Quote.TdBody!.MrTd);
        if (!allowedCodeIds.Contains(codeId))
        {
            throw new NodeJoinException(NodeJoinError.CodeNotAllowed, $"Code id {codeId} is not allowed to join this service (public:ccf.gov.nodes.code_ids).");
        }

        return new VerifiedJoin(nodeKey, exchangeKey, codeId, NodeAddress.Format(rpcAddress), NodeAddress.Format(nodeToNodeAddress))
        {
            HostNames = [.. new[] { NodeAddress.Host(rpcAddress), NodeAddress.Host(nodeToNodeAddress) }.Distinct(StringComparer.Ordinal)],
        };
    }

    /// <summary>Encrypts <paramref name="secrets"/> to the joiner's exchange key; returns the response members to add.</summary>
    public static JsonObject SealSecrets(ECDiffieHellman joinerExchangeKey, ReadOnlySpan<byte> secrets)
    {
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        byte[] key = DeriveKey(ephemeral, joinerExchangeKey.PublicKey);
        byte[] nonce = RandomNumberGenerator.GetBytes(12);
        byte[] ciphertext = new byte[secrets.Length];
        byte[] tag = new byte[16];
        using (var aes = new AesGcm(key, 16))
        {
            aes.Encrypt(nonce, secrets, ciphertext, tag);
        }

        CryptographicOperations.ZeroMemory(key);
        return new JsonObject
        {
            ["sender_exchange_public_key"] = ephemeral.ExportSubjectPublicKeyInfoPem(),
            ["sealed_secrets"] = Convert.ToBase64String([.. nonce, .. ciphertext, .. tag]),
        };
    }

    /// <summary>The joiner's side of <see cref="SealSecrets"/>.</summary>
    /// <exception cref="NodeJoinException">The secrets were altered or not for this key.</exception>
    public static byte[] OpenSecrets(ECDiffieHellman exchangeKey, JsonObject response)
    {
        using var sender = ECDiffieHellman.Create();
        sender.ImportFromPem(Field(response, "sender_exchange_public_key"));
        byte[] blob = Convert.FromBase64String(Field(response, "sealed_secrets"));
        if (blob.Length < 28)
        {
            throw new NodeJoinException(NodeJoinError.Malformed, "The sealed secrets are truncated.");
        }

        byte[] key = DeriveKey(exchangeKey, sender.PublicKey);
        byte[] plaintext = new byte[blob.Length - 28];
        try
        {
            using var aes = new AesGcm(key, 16);
            aes.Decrypt(blob.AsSpan(0, 12), blob.AsSpan(12, plaintext.Length), blob.AsSpan(blob.Length - 16), plaintext);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new NodeJoinException(NodeJoinError.Malformed, "The sealed secrets do not open with this node's exchange key.");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static byte[] DeriveKey(ECDiffieHellman own, ECDiffieHellmanPublicKey other)
    {
        byte[] shared = own.DeriveRawSecretAgreement(other);
        try
        {
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, salt: [], info: SecretsLabel);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    /// <summary>An address the joiner gives for itself: host:port, the host an IP address or a DNS name (its certificate will name it).</summary>
    private static EndPoint AddressField(JsonObject body, string name) =>
        NodeAddress.TryParse(Field(body, name), out EndPoint? address)
            ? address
            : throw new NodeJoinException(NodeJoinError.Malformed, $"\"{name}\" is not host:port (an IP address or a DNS name, and a port).");

    private static string Field(JsonObject body, string name) =>
        body[name] is JsonValue value && value.TryGetValue(out string? text) && text.Length > 0
            ? text
            : throw new NodeJoinException(NodeJoinError.Malformed, $"\"{name}\" is missing or not a string.");
}

/// <summary>A join request whose evidence passed.</summary>
public sealed record VerifiedJoin(ECDsa NodeKey, ECDiffieHellman ExchangeKey, string CodeId, string RpcAddress, string NodeToNodeAddress) : IDisposable
{
    /// <summary>The hosts of the joiner's two addresses: the names its endorsed certificate carries.</summary>
    public IReadOnlyList<string> HostNames { get; init; } = [];

    public void Dispose()
    {
        NodeKey.Dispose();
        ExchangeKey.Dispose();
    }
}

public enum NodeJoinError
{
    Malformed,
    EvidenceRefused,
    CodeNotAllowed,
    NotTrustedYet,
}

/// <summary>A join refused, with the reason.</summary>
public sealed class NodeJoinException(NodeJoinError error, string message) : Exception(message)
{
    public NodeJoinError Error { get; } = error;
}
