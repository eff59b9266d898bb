using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;

namespace Confide.KeyRelease.Policies;

/// <summary>
/// A key's release policy as Azure Key Vault carries it: <c>{"contentType": "application/json;
/// charset=utf-8", "data": base64url(policy JSON), "immutable": false}</c>, with the policy parsed.
/// The exact bytes are kept, so what is returned is what was given.
/// </summary>
public sealed class KeyReleasePolicy
{
    public const string DefaultContentType = "application/json; charset=utf-8";

    private readonly byte[] _data;

    private KeyReleasePolicy(string contentType, byte[] data, bool immutable, ReleasePolicy policy)
    {
        ContentType = contentType;
        _data = data;
        Immutable = immutable;
        Policy = policy;
    }

    public string ContentType { get; }

    /// <summary>The policy JSON, as given.</summary>
    public ReadOnlySpan<byte> Data => _data;

    /// <summary>An immutable policy can never change: every later version of the key must carry it unchanged.</summary>
    public bool Immutable { get; }

    public ReleasePolicy Policy { get; }

    /// <summary>A policy from its JSON text.</summary>
    /// <exception cref="ReleasePolicyException">The text is not a valid policy.</exception>
    public static KeyReleasePolicy Create(string policyJson, bool immutable = false) =>
        Create(DefaultContentType, Encoding.UTF8.GetBytes(policyJson), immutable);

    /// <summary>A policy from its parts, as stored.</summary>
    /// <exception cref="ReleasePolicyException">The data is not a valid policy.</exception>
    public static KeyReleasePolicy Create(string contentType, byte[] data, bool immutable) =>
        new(contentType, [.. data], immutable, ReleasePolicy.Parse(data));

    /// <summary>Reads the <c>release_policy</c> object of a request.</summary>
    /// <exception cref="ReleasePolicyException">Not the envelope, or its data is not a valid policy; the path says where.</exception>
    public static KeyReleasePolicy FromJson(JsonElement element, string path = "release_policy")
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ReleasePolicyException(path, "must be an object {\"contentType\", \"data\": base64url(policy JSON), \"immutable\"}.");
        }

        string contentType = DefaultContentType;
        byte[]? data = null;
        bool immutable = false;
        foreach (JsonProperty property in element.EnumerateObject())
        {
            switch (property.Name)
            {
                case "contentType" when property.Value.ValueKind == JsonValueKind.String:
                    contentType = property.Value.GetString()!;
                    if (!contentType.Split(';')[0].Trim().Equals("application/json", StringComparison.OrdinalIgnoreCase))
                    {
                        throw new ReleasePolicyException($"{path}.contentType", $"'{contentType}' is not supported; use \"{DefaultContentType}\".");
                    }

                    break;
                case "data" when property.Value.ValueKind == JsonValueKind.String:
                    try
                    {
                        data = Base64UrlEncoder.DecodeBytes(property.Value.GetString()!.TrimEnd('='));
                    }
                    catch (FormatException)
                    {
                        throw new ReleasePolicyException($"{path}.data", "is not base64url.");
                    }

                    break;
                case "immutable" when property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    immutable = property.Value.GetBoolean();
                    break;
                case "contentType" or "data" or "immutable":
                    throw new ReleasePolicyException($"{path}.{property.Name}", property.Name == "immutable" ? "must be a boolean." : "must be a string.");
                default:
                    throw new ReleasePolicyException($"{path}.{property.Name}", "unknown property; allowed: contentType, data, immutable.");
            }
        }

        if (data is null)
        {
            throw new ReleasePolicyException($"{path}.data", "required: the policy JSON, base64url-encoded.");
        }

        try
        {
            return Create(contentType, data, immutable);
        }
        catch (ReleasePolicyException ex)
        {
            // The grammar's paths are inside the decoded data.
            throw new ReleasePolicyException($"{path}.data{ex.Path[1..]}", ex.Problem);
        }
    }

    /// <summary>Whether <paramref name="other"/> is byte-for-byte this policy (same data, type and mutability).</summary>
    public bool SameAs(KeyReleasePolicy other) =>
        other.ContentType == ContentType && other.Immutable == Immutable && other.Data.SequenceEqual(Data);

    /// <summary>The envelope as responses carry it.</summary>
    public JsonObject ToJson() => new()
    {
        ["contentType"] = ContentType,
        ["data"] = Base64UrlEncoder.Encode(_data),
        ["immutable"] = Immutable,
    };
}
