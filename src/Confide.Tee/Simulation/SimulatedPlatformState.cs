using System.Text.Json.Serialization;

namespace Confide.Tee.Simulation;

/// <summary>
/// What a simulated SGX machine keeps: its TCB values, the keys of its PKI and of its quoting
/// enclave, and its seal secret. Persisted as one JSON file readable by its owner only.
/// </summary>
internal sealed record SimulatedPlatformState
{
    public const int CurrentVersion = 1;

    [JsonPropertyName("version")] public int Version { get; init; } = CurrentVersion;

    [JsonPropertyName("createdAt")] public DateTimeOffset CreatedAt { get; init; }

    [JsonPropertyName("fmspc")] public required byte[] Fmspc { get; init; }

    [JsonPropertyName("pceId")] public required byte[] PceId { get; init; }

    [JsonPropertyName("pceSvn")] public ushort PceSvn { get; init; }

    [JsonPropertyName("tcbComponents")] public required byte[] TcbComponents { get; init; }

    [JsonPropertyName("qeSvn")] public ushort QeSvn { get; init; }

    [JsonPropertyName("qeId")] public required byte[] QeId { get; init; }

    [JsonPropertyName("ppid")] public required byte[] Ppid { get; init; }

    [JsonPropertyName("rootKey")] public required byte[] RootKey { get; init; }

    [JsonPropertyName("rootCertificate")] public required byte[] RootCertificate { get; init; }

    [JsonPropertyName("pckCaKey")] public required byte[] PckCaKey { get; init; }

    [JsonPropertyName("pckCaCertificate")] public required byte[] PckCaCertificate { get; init; }

    [JsonPropertyName("pckKey")] public required byte[] PckKey { get; init; }

    [JsonPropertyName("pckCertificate")] public required byte[] PckCertificate { get; init; }

    [JsonPropertyName("tcbSigningKey")] public required byte[] TcbSigningKey { get; init; }

    [JsonPropertyName("tcbSigningCertificate")] public required byte[] TcbSigningCertificate { get; init; }

    [JsonPropertyName("attestationKey")] public required byte[] AttestationKey { get; init; }

    [JsonPropertyName("sealSecret")] public required byte[] SealSecret { get; init; }
}
