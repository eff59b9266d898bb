using System.Text.Json;

namespace Confide.KeyRelease.Release;

/// <summary>
/// Key Vault's <c>KeyReleaseParameters</c>: <c>{"target": attestation token, "nonce", "enc"}</c>.
/// <c>enc</c> defaults to <c>CKM_RSA_AES_KEY_WRAP</c> (what Microsoft's SKR sidecar sends).
/// </summary>
public sealed record ReleaseRequest(string Target, string? Nonce, KeyWrapAlgorithm Encryption)
{
    /// <summary>Longest nonce accepted.</summary>
    public const int MaxNonceLength = 1024;

    /// <exception cref="KeyBrokerException">Not JSON, not an object, a missing target, an unknown enc or property (BadParameter).</exception>
    public static ReleaseRequest Parse(ReadOnlySpan<byte> body)
    {
        JsonElement root = RequestJson.Parse(body);
        string? target = null;
        string? nonce = null;
        KeyWrapAlgorithm encryption = KeyWrapAlgorithm.CkmRsaAesKeyWrap;
        foreach (JsonProperty property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "target":
                    target = RequestJson.String(property.Value, "target");
                    break;
                case "nonce":
                    nonce = RequestJson.String(property.Value, "nonce");
                    if (nonce.Length is 0 or > MaxNonceLength)
                    {
                        throw KeyBrokerException.BadParameter($"'nonce' must be 1 to {MaxNonceLength} characters.");
                    }

                    break;
                case "enc":
                    string name = RequestJson.String(property.Value, "enc");
                    if (!KeyWrap.TryParse(name, out encryption))
                    {
                        throw KeyBrokerException.BadParameter($"'enc' '{name}' is not supported; use one of {string.Join(", ", KeyWrap.Names)}.");
                    }

                    break;
                default:
                    throw KeyBrokerException.BadParameter($"'{property.Name}' is not a release parameter; the body is {{\"target\", \"nonce\", \"enc\"}}.");
            }
        }

        return string.IsNullOrEmpty(target)
            ? throw KeyBrokerException.BadParameter("'target' is required: the attestation token of the environment the key is released to.")
            : new ReleaseRequest(target, nonce, encryption);
    }
}

/// <summary>Reading request bodies: JSON objects, typed fields, precise errors.</summary>
internal static class RequestJson
{
    /// <exception cref="KeyBrokerException">Not JSON, or not an object (BadParameter).</exception>
    public static JsonElement Parse(ReadOnlySpan<byte> body)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
            JsonElement root = document.RootElement.Clone();
            return root.ValueKind == JsonValueKind.Object ? root : throw KeyBrokerException.BadParameter("The request body must be a JSON object.");
        }
        catch (JsonException ex)
        {
            throw KeyBrokerException.BadParameter($"The request body is not valid JSON: {ex.Message}");
        }
    }

    public static string String(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw KeyBrokerException.BadParameter($"'{name}' must be a string.");

    public static bool Boolean(JsonElement value, string name) =>
        value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : throw KeyBrokerException.BadParameter($"'{name}' must be true or false.");

    public static int Integer(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int number) ? number : throw KeyBrokerException.BadParameter($"'{name}' must be an integer.");
}
