using System.Security.Cryptography;
using System.Text;
using Confide.Enclave.Runtime;
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
}
