using System.Security.Cryptography;
using Confide.Enclave.Runtime;
using Confide.Tee;
using HelloEnclave.Contract;
using HelloEnclave.Enclave;

// Measure this package, bring up the TEE and connect to the host.
await using EnclaveContext enclave = await EnclaveRuntime.StartAsync();

// 'confide run <package> -- --self-test' runs the enclave as an application: no host calls it.
if (args is ["--self-test"])
{
    return await SelfTestAsync(enclave);
}

if (!enclave.IsHosted)
{
    Console.Error.WriteLine("hello-enclave serves ecalls to a host; launch it with EnclaveHost (see HelloEnclave.Host), 'confide demo', or 'confide run <package> -- --self-test'.");
    return 2;
}

// Serve the ecalls until the host hangs up. Everything the enclave does happens in HelloEnclaveCalls.
await enclave.ServeAsync<IHelloEnclave, IHelloHost>(host => new HelloEnclaveCalls(enclave, host));
return 0;

static async Task<int> SelfTestAsync(EnclaveContext enclave)
{
    TeeIdentity id = enclave.Identity;
    Console.WriteLine($"hello-enclave on {enclave.Tee.Kind}: mrenclave {id.UniqueIdHex}, mrsigner {id.SignerIdHex}, product {id.ProductId}, svn {id.SecurityVersion}");
    TeeEvidence evidence = await enclave.GetEvidenceAsync(SHA256.HashData("self-test"u8));
    byte[] blob = enclave.Sealer.Seal("self-test secret"u8);
    bool opened = enclave.Sealer.Unseal(blob).AsSpan().SequenceEqual("self-test secret"u8);
    Console.WriteLine($"evidence: {evidence.Format}, {evidence.Data.Length} bytes; sealed and unsealed: {opened}");
    return opened ? 0 : 1;
}
