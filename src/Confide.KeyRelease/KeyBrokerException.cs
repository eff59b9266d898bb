using Microsoft.AspNetCore.Http;

namespace Confide.KeyRelease;

/// <summary>
/// A refused key-broker operation: an Azure-Key-Vault-style error code (see docs/key-release.md)
/// and the HTTP status it is answered with. Every refusal is one of these, never a 500.
/// </summary>
public sealed class KeyBrokerException(int status, string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    public static KeyBrokerException BadParameter(string message) => new(StatusCodes.Status400BadRequest, KeyBrokerErrorCodes.BadParameter, message);

    public static KeyBrokerException NotFound(string message) => new(StatusCodes.Status404NotFound, KeyBrokerErrorCodes.KeyNotFound, message);

    public static KeyBrokerException Forbidden(string code, string message) => new(StatusCodes.Status403Forbidden, code, message);
}

/// <summary>The error codes the broker answers with (docs/key-release.md, "Errors").</summary>
public static class KeyBrokerErrorCodes
{
    /// <summary>400: malformed JSON, a missing or invalid field, an invalid release policy, an unsupported api-version.</summary>
    public const string BadParameter = "BadParameter";

    /// <summary>401: a management call without a valid administrator bearer token.</summary>
    public const string Unauthorized = "Unauthorized";

    /// <summary>403: an authenticated caller who is not an administrator (no policy admits it).</summary>
    public const string Forbidden = "Forbidden";

    /// <summary>404: no key (or key version) of that name.</summary>
    public const string KeyNotFound = "KeyNotFound";

    /// <summary>409: a new version would change an immutable release policy.</summary>
    public const string PolicyImmutable = "ReleasePolicyImmutable";

    /// <summary>413: the request body exceeds the broker's limit.</summary>
    public const string RequestTooLarge = "RequestTooLarge";

    /// <summary>403: the attestation token is malformed, not RS256, badly signed, expired or not yet valid.</summary>
    public const string InvalidToken = "InvalidAttestationToken";

    /// <summary>403: the token's issuer is not one of the broker's trusted attestation authorities.</summary>
    public const string UntrustedAuthority = "UntrustedAttestationAuthority";

    /// <summary>403: the authority's signing keys could not be fetched, so the token cannot be verified.</summary>
    public const string AuthorityUnavailable = "AttestationAuthorityUnavailable";

    /// <summary>403: the key's release policy is not met by the token (wrong authority or claims).</summary>
    public const string PolicyNotSatisfied = "ReleasePolicyNotSatisfied";

    /// <summary>403: the request has no nonce, or one that is not the token's <c>nonce</c> claim.</summary>
    public const string NonceMismatch = "NonceMismatch";

    /// <summary>403: the nonce (and so the token) was already used for a release.</summary>
    public const string NonceReplayed = "NonceReplayed";

    /// <summary>403: the key is not exportable; it can never be released.</summary>
    public const string KeyNotExportable = "KeyNotExportable";

    /// <summary>403: the audit log could not be written, so the operation is refused.</summary>
    public const string AuditUnavailable = "AuditLogUnavailable";

    /// <summary>403: the token carries no usable RSA encryption key in <c>x-ms-runtime.keys</c>.</summary>
    public const string NoWrappingKey = "NoWrappingKey";
}
