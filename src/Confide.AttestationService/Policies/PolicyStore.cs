using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Confide.Attestation.Policy;
using Confide.AttestationService.Tokens;
using Confide.Tee.Storage;

namespace Confide.AttestationService.Policies;

/// <summary>
/// The tenant's policies, one per attestation type, kept as the JWS they were set with in
/// <c>&lt;directory&gt;/&lt;Type&gt;.jws</c>. Writes are durable and atomic (a crash mid-write keeps
/// the previous policy); a stored policy that no longer parses stops the service from starting,
/// rather than falling back to the permissive default.
/// </summary>
public sealed class PolicyStore
{
    private readonly string? _directory;
    private readonly ConcurrentDictionary<AttestationType, StoredPolicy> _policies = new();
    private readonly Lock _writeLock = new();

    /// <param name="directory">Where policies persist; null keeps them in memory only.</param>
    /// <exception cref="InvalidDataException">A stored policy is not a valid policy JWS.</exception>
    public PolicyStore(string? directory)
    {
        _directory = directory;
        foreach (AttestationType type in AttestationTypes.All)
        {
            _policies[type] = Load(type) ?? Default(type);
        }
    }

    public StoredPolicy Get(AttestationType type) => _policies[type];

    /// <summary>Parses a policy JWS as <c>PUT /policies/{type}</c> receives it.</summary>
    /// <exception cref="PolicyManagementException">Not a JWS, no <c>AttestationPolicy</c>, or a policy syntax error.</exception>
    public static StoredPolicy ParsePolicyJws(AttestationType type, string compact)
    {
        Jws jws = ParseJws(compact);
        string text = PolicyText(jws);
        if (!AttestationPolicy.TryParse(text, out AttestationPolicy? policy, out PolicyParseException? error))
        {
            throw new PolicyManagementException("InvalidPolicy", $"The policy is not valid: {error!.Message}");
        }

        return new StoredPolicy(type, compact, text, policy, jws.Signer, IsDefault: false);
    }

    /// <summary>Parses a JWS, turning its faults into the management error.</summary>
    public static Jws ParseJws(string compact)
    {
        try
        {
            return Jws.Parse(compact.Trim());
        }
        catch (JwsException ex)
        {
            throw new PolicyManagementException("InvalidParameter", ex.Message);
        }
    }

    /// <summary>Makes <paramref name="policy"/> the one in force, durably, before it takes effect.</summary>
    public void Set(StoredPolicy policy)
    {
        lock (_writeLock)
        {
            if (_directory is not null)
            {
                Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                DurableFile.WriteAllBytes(PathOf(policy.Type), Encoding.UTF8.GetBytes(policy.Jws));
            }

            _policies[policy.Type] = policy;
        }
    }

    /// <summary>Returns <paramref name="type"/> to its default policy.</summary>
    public void Reset(AttestationType type)
    {
        lock (_writeLock)
        {
            if (_directory is not null)
            {
                DurableFile.Delete(PathOf(type));
            }

            _policies[type] = Default(type);
        }
    }

    private StoredPolicy? Load(AttestationType type)
    {
        if (_directory is null || !File.Exists(PathOf(type)))
        {
            return null;
        }

        try
        {
            return ParsePolicyJws(type, File.ReadAllText(PathOf(type)));
        }
        catch (PolicyManagementException ex)
        {
            throw new InvalidDataException($"The stored {type} policy '{PathOf(type)}' is not valid ({ex.Message}); fix or delete it.", ex);
        }
    }

    private static StoredPolicy Default(AttestationType type)
    {
        string text = type.DefaultPolicy();
        return new StoredPolicy(type, Jws.CreatePolicy(text), text, AttestationPolicy.Parse(text), Signer: null, IsDefault: true);
    }

    private static string PolicyText(Jws jws)
    {
        try
        {
            using JsonDocument payload = JsonDocument.Parse(jws.Payload);
            if (payload.RootElement.ValueKind == JsonValueKind.Object
                && payload.RootElement.TryGetProperty("AttestationPolicy", out JsonElement value)
                && value.ValueKind == JsonValueKind.String)
            {
                return Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(value.GetString()!));
            }
        }
        catch (Exception ex) when (ex is JsonException or FormatException or DecoderFallbackException)
        {
            throw new PolicyManagementException("InvalidParameter", $"The policy JWS payload is not {{\"AttestationPolicy\": <base64url policy text>}}: {ex.Message}");
        }

        throw new PolicyManagementException("InvalidParameter", "The policy JWS payload must be {\"AttestationPolicy\": <base64url of the policy text>}.");
    }

    private string PathOf(AttestationType type) => Path.Combine(_directory!, type + ".jws");
}

/// <summary>A policy or policy-certificate request the service refuses; <see cref="Code"/> is the Azure Attestation error code.</summary>
public sealed class PolicyManagementException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
