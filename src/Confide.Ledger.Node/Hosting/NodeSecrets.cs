using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Ledger.Ledger;
using Confide.Ledger.Node.Http;
using Confide.Tee;
using Confide.Tee.Sealing;
using Confide.Tee.Storage;

namespace Confide.Ledger.Node.Hosting;

/// <summary>
/// What a node keeps across restarts: its key and endorsed certificate, the service identity (key
/// included: any trusted node endorses joiners), the ledger secret, and the service's genesis. The
/// keys and the secret are sealed to the node's enclave identity; the certificates are public.
/// </summary>
internal sealed class NodeSecrets : IDisposable
{
    private const string PublicFile = "node.json";
    private const string SealedFile = "node-secrets.sealed";
    private static readonly byte[] SealingContext = "Confide ledger node secrets v1"u8.ToArray();

    public NodeSecrets(ECDsa nodeKey, X509Certificate2 nodeCertificate, ServiceIdentity service, LedgerSecret ledgerSecret, ServiceGenesis? genesis, NodeHistory? history = null)
    {
        NodeKey = nodeKey;
        NodeCertificate = nodeCertificate;
        Service = service;
        LedgerSecret = ledgerSecret;
        Genesis = genesis;
        History = history ?? NodeHistory.None;
    }

    public ECDsa NodeKey { get; }

    public X509Certificate2 NodeCertificate { get; }

    public ServiceIdentity Service { get; }

    public LedgerSecret LedgerSecret { get; }

    public ServiceGenesis? Genesis { get; }

    /// <summary>The service's past recoveries, as this node knows them.</summary>
    public NodeHistory History { get; }

    public static bool Exist(string directory) => File.Exists(Path.Combine(directory, SealedFile));

    public void Save(string directory, ITee tee)
    {
        var publicPart = new JsonObject
        {
            ["node_certificate"] = NodeCertificate.ExportCertificatePem(),
            ["service_certificate"] = Service.Certificate.ExportCertificatePem(),
            ["genesis"] = Genesis?.ToJson(),
            ["history"] = History.ToJson(),
        };
        byte[] secrets = SerializeSecrets(NodeKey.ExportPkcs8PrivateKey(), Service.Key.ExportPkcs8PrivateKey(), LedgerSecret.Export());
        try
        {
            byte[] sealedBlob = new EnclaveSealer(tee).Seal(secrets, SealPolicy.Product, SealingContext);
            DurableFile.WriteAllBytes(Path.Combine(directory, SealedFile), sealedBlob);
            DurableFile.WriteAllBytes(Path.Combine(directory, PublicFile), System.Text.Encoding.UTF8.GetBytes(publicPart.ToJsonString()));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secrets);
        }
    }

    /// <exception cref="SealingException">The secrets were sealed by another enclave identity, or altered.</exception>
    public static NodeSecrets Load(string directory, ITee tee)
    {
        JsonObject publicPart = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, PublicFile)))!.AsObject();
        byte[] secrets = new EnclaveSealer(tee).Unseal(File.ReadAllBytes(Path.Combine(directory, SealedFile)), SealingContext);
        try
        {
            (byte[] nodeKey, byte[] serviceKey, byte[] ledgerSecret) = DeserializeSecrets(secrets);
            var node = ECDsa.Create();
            node.ImportPkcs8PrivateKey(nodeKey, out _);
            var serviceEcdsa = ECDsa.Create();
            serviceEcdsa.ImportPkcs8PrivateKey(serviceKey, out _);
            var service = ServiceIdentity.FromKey(serviceEcdsa, X509Certificate2.CreateFromPem((string)publicPart["service_certificate"]!));
            X509Certificate2 certificate = WithKey(X509Certificate2.CreateFromPem((string)publicPart["node_certificate"]!), node);
            ServiceGenesis? genesis = publicPart["genesis"] is JsonObject g ? ServiceGenesis.FromJson(g) : null;
            return new NodeSecrets(node, certificate, service, LedgerSecret.FromBytes(ledgerSecret), genesis, NodeHistory.FromJson(publicPart["history"] as JsonObject));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secrets);
        }
    }

    /// <summary>The service key and ledger secret, as a joiner receives them.</summary>
    public static byte[] SerializeSecrets(byte[] nodeKey, byte[] serviceKey, byte[] ledgerSecret)
    {
        byte[] result = [.. Prefixed(nodeKey), .. Prefixed(serviceKey), .. Prefixed(ledgerSecret)];
        CryptographicOperations.ZeroMemory(nodeKey);
        CryptographicOperations.ZeroMemory(serviceKey);
        CryptographicOperations.ZeroMemory(ledgerSecret);
        return result;
    }

    public static (byte[] NodeKey, byte[] ServiceKey, byte[] LedgerSecret) DeserializeSecrets(ReadOnlySpan<byte> data)
    {
        byte[] a = Take(ref data), b = Take(ref data), c = Take(ref data);
        if (!data.IsEmpty)
        {
            throw new InvalidDataException("Trailing bytes after the node secrets.");
        }

        return (a, b, c);
    }

    public static X509Certificate2 WithKey(X509Certificate2 certificate, ECDsa key)
    {
        using (certificate)
        {
            using X509Certificate2 withKey = certificate.CopyWithPrivateKey(key);
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        }
    }

    public void Dispose()
    {
        NodeKey.Dispose();
        NodeCertificate.Dispose();
        Service.Dispose();
        LedgerSecret.Dispose();
    }

    private static byte[] Prefixed(byte[] value) => [.. BitConverter.GetBytes(value.Length), .. value];

    private static byte[] Take(ref ReadOnlySpan<byte> data)
    {
        if (data.Length < 4 || BitConverter.ToInt32(data) is var length && (length < 0 || length > data.Length - 4))
        {
            throw new InvalidDataException("The node secrets are truncated.");
        }

        byte[] value = data.Slice(4, length).ToArray();
        data = data[(4 + length)..];
        return value;
    }
}
