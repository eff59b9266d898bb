using System.Security.Cryptography;
using System.Text.Json;

namespace Confide.AttestationService.Tokens;

/// <summary>How the caller's runtime / init-time data is to be read (MAA's <c>dataType</c>).</summary>
public enum RuntimeDataType
{
    Binary,
    Json,
}

/// <summary>
/// Runtime data bound into the evidence: Azure Attestation requires SHA-256 of the data to be the
/// first 32 bytes of the report data, and exposes the data as <c>x-ms-sgx-ehd</c> (Binary) or as
/// the parsed object <c>x-ms-runtime</c> (JSON).
/// </summary>
public sealed record RuntimeData(byte[] Data, RuntimeDataType DataType)
{
    /// <summary>True when SHA-256(<see cref="Data"/>) is the first half of <paramref name="reportData"/>.</summary>
    public bool IsBoundTo(ReadOnlySpan<byte> reportData) =>
        reportData.Length >= 32 && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Data), reportData[..32]);

    /// <summary>
    /// For init-time data: true when SHA-256(<see cref="Data"/>) is the first 32 bytes of the
    /// enclave's CONFIGID, which the enclave's launcher set (Azure Attestation's rule for SGX).
    /// </summary>
    public bool IsBoundToConfigId(ReadOnlySpan<byte> configId) => IsBoundTo(configId);

    /// <summary>The data as a JSON value, for <see cref="RuntimeDataType.Json"/>.</summary>
    /// <exception cref="JsonException">The data is not JSON.</exception>
    public JsonElement ParseJson()
    {
        using JsonDocument document = JsonDocument.Parse(Data, new JsonDocumentOptions { MaxDepth = 32 });
        return document.RootElement.Clone();
    }
}
