namespace Confide.Enclave.Manifest;

/// <summary>The JSON property names of <c>enclave.json</c>.</summary>
public static class ManifestFields
{
    public const string Name = "name";
    public const string EntryAssembly = "entryAssembly";
    public const string ProductId = "productId";
    public const string SecurityVersion = "securityVersion";
    public const string Debug = "debug";
    public const string HeapSizeMiB = "heapSizeMiB";
    public const string TrustedFiles = "trustedFiles";
    public const string Environment = "env";

    internal static readonly string[] All =
        [Name, EntryAssembly, ProductId, SecurityVersion, Debug, HeapSizeMiB, TrustedFiles, Environment];
}
