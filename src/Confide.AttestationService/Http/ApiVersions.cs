namespace Confide.AttestationService.Http;

/// <summary>
/// The api-versions accepted: the GA contract both official SDKs send, the later ones, and the
/// preview Microsoft's own TDX client (Azure/cvm-attestation-tools) still sends to /attest/TdxVm.
/// </summary>
internal static class ApiVersions
{
    public static readonly IReadOnlySet<string> Supported = new HashSet<string>(StringComparer.Ordinal) { "2020-10-01", "2022-08-01", "2023-04-01-preview", "2025-06-01" };

    public static string? Problem(string? requested) => requested switch
    {
        null or "" => "The api-version query parameter is required.",
        _ when Supported.Contains(requested) => null,
        _ => $"api-version '{requested}' is not supported; use one of {string.Join(", ", Supported.Order(StringComparer.Ordinal))}.",
    };
}
