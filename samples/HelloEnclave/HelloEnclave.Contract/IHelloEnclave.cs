namespace HelloEnclave.Contract;

/// <summary>The ecalls: what the host may ask of the enclave (the EDL <c>trusted</c> block).</summary>
public interface IHelloEnclave
{
    /// <summary>Greets; makes an ocall to log on the host on the way.</summary>
    Task<string> GreetAsync(string name, CancellationToken cancellationToken);

    /// <summary>Returns the payload unchanged (for measuring the boundary's cost).</summary>
    Task<byte[]> EchoAsync(byte[] payload, CancellationToken cancellationToken);

    /// <summary>Identity of the enclave as its TEE reports it.</summary>
    Task<EnclaveInfo> GetInfoAsync(CancellationToken cancellationToken);

    /// <summary>Evidence whose report data is SHA-256(nonce), so the verifier knows it is fresh.</summary>
    Task<EvidenceResult> GetEvidenceAsync(byte[] nonce, CancellationToken cancellationToken);

    /// <summary>Seals a secret inside the enclave; the host only ever holds the sealed blob.</summary>
    Task<byte[]> SealSecretAsync(string secret, bool uniqueToThisBuild, CancellationToken cancellationToken);

    /// <summary>Unseals inside the enclave and compares; the plaintext never leaves.</summary>
    Task<bool> CheckSecretAsync(byte[] sealedSecret, string candidate, CancellationToken cancellationToken);

    /// <summary>
    /// Gets a key from a key broker over attested TLS (the broker's enclave checked first), after
    /// attesting with the attestation service; the key stays inside. Returns only a check value.
    /// </summary>
    Task<KeyReleaseOutcome> ReleaseKeyAsync(KeyReleaseRequest request, CancellationToken cancellationToken);
}

/// <summary>The ocalls: what the enclave may ask of the host (the EDL <c>untrusted</c> block).</summary>
public interface IHelloHost
{
    Task LogAsync(string message);

    /// <summary>Host information. Untrusted: the enclave must treat it as a claim.</summary>
    Task<string> GetHostNameAsync();
}

public sealed record EnclaveInfo(string Tee, string UniqueId, string SignerId, ushort ProductId, ushort SecurityVersion, bool Debug, bool Simulated);

public sealed record EvidenceResult(string Format, byte[] Evidence, string? Collateral, bool Simulated);

/// <summary>
/// Where the broker and the attestation service are and how to trust them. In production these
/// belong in the enclave's measured configuration; the demo's host passes them.
/// </summary>
public sealed record KeyReleaseRequest(string BrokerUrl, string BrokerUniqueId, string AttestationUrl, string AttestationTlsCertificatePem, string KeyName);

/// <summary>The released key's id and HMAC-SHA256(key, "hello-enclave key check"): proof of possession, not the key.</summary>
public sealed record KeyReleaseOutcome(string KeyId, string KeyCheck, string BrokerVerifiedAs);
