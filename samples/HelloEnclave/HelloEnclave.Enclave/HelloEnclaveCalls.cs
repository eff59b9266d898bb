using System.Security.Cryptography;
using System.Text;
using System.Security.Cryptography.X509Certificates;
using Confide.AttestationService.Client;
using Confide.Enclave.Runtime;
using Confide.KeyRelease.Client;
using Confide.Tls.Verification;
using Confide.Tee;
using HelloEnclave.Contract;

namespace HelloEnclave.Enclave;

/// <summary>The trusted implementation of the ecalls.</summary>
internal sealed class HelloEnclaveCalls(EnclaveContext enclave, IHelloHost host) : IHelloEnclave
{
    public async Task<string> GreetAsync(string name, CancellationToken cancellationToken)
    {
        string greeting = Environment.GetEnvironmentVariable("HELLO_GREETING") ?? "Hello";
        string hostName = await host.GetHostNameAsync();
        await host.LogAsync($"greeting {name.Length} characters of name for host '{hostName}'");
        return $"{greeting}, {name}, from inside the enclave {enclave.Identity.UniqueIdHex[..16]}…";
    }

    public Task<byte[]> EchoAsync(byte[] payload, CancellationToken cancellationToken) => Task.FromResult(payload);

    public Task<EnclaveInfo> GetInfoAsync(CancellationToken cancellationToken)
    {
        TeeIdentity id = enclave.Identity;
        return Task.FromResult(new EnclaveInfo(enclave.Tee.Kind.ToString(), id.UniqueIdHex, id.SignerIdHex, id.ProductId, id.SecurityVersion, id.Debug, enclave.Tee.IsSimulated));
    }

    public async Task<EvidenceResult> GetEvidenceAsync(byte[] nonce, CancellationToken cancellationToken)
    {
        TeeEvidence evidence = await enclave.GetEvidenceAsync(SHA256.HashData(nonce), cancellationToken);
        return new EvidenceResult(evidence.Format.ToString(), evidence.Data, evidence.CollateralJson, evidence.IsSimulated);
    }

    public Task<byte[]> SealSecretAsync(string secret, bool uniqueToThisBuild, CancellationToken cancellationToken)
    {
        SealPolicy policy = uniqueToThisBuild ? SealPolicy.Unique : SealPolicy.Product;
        return Task.FromResult(enclave.Sealer.Seal(Encoding.UTF8.GetBytes(secret), policy, "hello-enclave secret"u8));
    }

    public Task<bool> CheckSecretAsync(byte[] sealedSecret, string candidate, CancellationToken cancellationToken)
    {
        byte[] secret = enclave.Sealer.Unseal(sealedSecret, "hello-enclave secret"u8);
        try
        {
            return Task.FromResult(CryptographicOperations.FixedTimeEquals(secret, Encoding.UTF8.GetBytes(candidate)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    public async Task<KeyReleaseOutcome> ReleaseKeyAsync(KeyReleaseRequest request, CancellationToken cancellationToken)
    {
        // Trust the attestation service by its TLS certificate, and the broker by its enclave,
        // which the attestation service vouches for in the broker's TLS certificate (token mode).
        byte[] pinned = X509Certificate2.CreateFromPem(request.AttestationTlsCertificatePem).RawData;
        using var attestationHttp = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned) },
        });
        using var attestation = new AttestationClient(new Uri(request.AttestationUrl), new AttestationClientOptions { HttpClient = attestationHttp });
        var brokerPolicy = new AttestedTlsPolicy { UniqueId = Convert.FromHexString(request.BrokerUniqueId) };
        brokerPolicy.TrustedAttestationServices.Add(attestation);
        var brokerVerifier = new AttestedCertificateVerifier(brokerPolicy);
        KeyReleaseClientOptions options = KeyReleaseClientOptions.ForAttestedBroker(new Uri(request.BrokerUrl), enclave.Tee, attestation, brokerVerifier);
        using (options.BrokerHttpClient)
        {
            using ReleasedKey key = await new KeyReleaseClient(options).ReleaseAsync(request.KeyName, cancellationToken: cancellationToken);
            string check = Convert.ToHexStringLower(HMACSHA256.HashData(key.SymmetricKey, "hello-enclave key check"u8));
            AttestedPeer broker = brokerVerifier.VerifiedPeers.First();
            return new KeyReleaseOutcome(key.KeyId, check, $"{broker.Kind}, unique id {broker.UniqueIdHex[..16]}…");
        }
    }
}
