using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Confide.Testing;

/// <summary>
/// Access to the real DCAP quotes in <c>shared/testvectors/dcap</c>. One file, compiled into every
/// test project that reads the vectors.
/// </summary>
/// <remarks>
/// The vectors live beside the repository, not in it (here /work/shared next to /work/main; in
/// CI a copy of shared/ next to the clone), so the folder is found by walking up from the test
/// binary. When it is absent every test that needs it reports itself skipped with the reason,
/// rather than passing without having checked anything.
/// </remarks>
internal static class DcapVectors
{
    /// <summary>Every vector expected.json describes (Confide.Attestation.Tests checks the list is complete).</summary>
    public static readonly string[] Names =
    [
        "sgx_v3_phala",
        "sgx_v3_automata",
        "sgx_v3_debug",
        "tdx_v4_phala",
        "tdx_v4_near",
        "tdx_v4_automata",
        "tdx_v5_automata",
        "tdx_v5_notcb",
    ];

    private static readonly string[] RelativePath = ["shared", "testvectors", "dcap"];

    private static readonly Lazy<string?> LocatedDirectory = new(Locate);

    private static readonly Lazy<JsonElement> ExpectedRoot = new(() =>
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory, "expected.json")));
        return document.RootElement.Clone();
    });

    public static TheoryData<string> All => new(Names);

    /// <summary>The vector folder; skips the calling test when it cannot be found.</summary>
    public static string Directory => LocatedDirectory.Value ?? SkipBecauseAbsent();

    public static byte[] Quote(string name) => File.ReadAllBytes(Path.Combine(Directory, name + ".quote.bin"));

    /// <summary>The entry of expected.json's "vectors" array whose "name" is <paramref name="name"/>.</summary>
    public static JsonElement Expected(string name) =>
        ExpectedVectors().Single(v => v.GetProperty("name").GetString() == name);

    public static IEnumerable<JsonElement> ExpectedVectors() =>
        ExpectedRoot.Value.GetProperty("vectors").EnumerateArray();

    /// <summary>A hex field of expected.json's "fields" object for <paramref name="name"/>, decoded.</summary>
    public static byte[] ExpectedField(string name, string field) =>
        Convert.FromHexString(Expected(name).GetProperty("fields").GetProperty(field).GetString()!);

    public static string CollateralJson(string name) => File.ReadAllText(Path.Combine(Directory, name + ".collateral.json"));

    /// <summary>The real Intel SGX Root CA.</summary>
    public static X509Certificate2 IntelRootCertificate() =>
        X509CertificateLoader.LoadCertificate(File.ReadAllBytes(Path.Combine(Directory, "intel_sgx_root_ca.der")));

    private static string? Locate()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine([dir.FullName, .. RelativePath]);
            if (File.Exists(Path.Combine(candidate, "expected.json")))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string SkipBecauseAbsent()
    {
        Assert.Skip(
            $"DCAP test vectors not found: no '{string.Join('/', RelativePath)}/expected.json' in any parent of {AppContext.BaseDirectory}. "
            + "They are expected beside the repository (shared/ is a sibling of the clone).");
        return null!;
    }
}
