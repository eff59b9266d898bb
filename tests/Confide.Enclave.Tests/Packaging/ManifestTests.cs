using System.Text;
using Confide.Enclave.Manifest;

namespace Confide.Enclave.Tests.Packaging;

public sealed class ManifestTests
{
    private const string Valid = """
        {
          "name": "app", "entryAssembly": "App.dll", "productId": 3, "securityVersion": 4,
          "debug": true, "heapSizeMiB": 512, "trustedFiles": ["*.dll", "App.deps.json"], "env": ["A", "B_2"]
        }
        """;

    [Fact]
    public void A_valid_manifest_is_read_field_by_field()
    {
        EnclaveManifest manifest = EnclaveManifest.Parse(Encoding.UTF8.GetBytes(Valid));

        Assert.Equal("app", manifest.Name);
        Assert.Equal("App.dll", manifest.EntryAssembly);
        Assert.Equal(3, manifest.ProductId);
        Assert.Equal(4, manifest.SecurityVersion);
        Assert.True(manifest.Debug);
        Assert.Equal(512, manifest.HeapSizeMiB);
        Assert.Equal(["*.dll", "App.deps.json"], manifest.TrustedFiles);
        Assert.Equal(["A", "B_2"], manifest.Environment);
    }

    [Fact]
    public void Serialized_manifest_reads_back_equal()
    {
        EnclaveManifest manifest = EnclaveManifest.Parse(Encoding.UTF8.GetBytes(Valid));
        EnclaveManifest again = EnclaveManifest.Parse(manifest.ToJsonBytes());
        Assert.Equal(manifest.ToJsonBytes(), again.ToJsonBytes());
    }

    [Theory]
    [InlineData("\"productId\": 3", "\"productId\": 65536", "productId")]
    [InlineData("\"productId\": 3", "\"productId\": -1", "productId")]
    [InlineData("\"productId\": 3", "\"productId\": \"3\"", "productId")]
    [InlineData("\"securityVersion\": 4", "\"securityVersion\": 1.5", "securityVersion")]
    [InlineData("\"debug\": true", "\"debug\": 1", "debug")]
    [InlineData("\"heapSizeMiB\": 512", "\"heapSizeMiB\": 0", "heapSizeMiB")]
    [InlineData("\"entryAssembly\": \"App.dll\"", "\"entryAssembly\": \"../App.dll\"", "entryAssembly")]
    [InlineData("\"entryAssembly\": \"App.dll\"", "\"entryAssembly\": \"/abs/App.dll\"", "entryAssembly")]
    [InlineData("\"entryAssembly\": \"App.dll\"", "\"entryAssembly\": \"App.exe\"", "entryAssembly")]
    [InlineData("\"name\": \"app\",", "", "name")]
    [InlineData("\"trustedFiles\": [\"*.dll\", \"App.deps.json\"]", "\"trustedFiles\": []", "trustedFiles")]
    [InlineData("\"trustedFiles\": [\"*.dll\", \"App.deps.json\"]", "\"trustedFiles\": [\"../*.dll\"]", "trustedFiles")]
    [InlineData("\"trustedFiles\": [\"*.dll\", \"App.deps.json\"]", "\"trustedFiles\": [\"a\\\\b.dll\"]", "trustedFiles")]
    [InlineData("\"env\": [\"A\", \"B_2\"]", "\"env\": [\"A\", \"A\"]", "env")]
    [InlineData("\"env\": [\"A\", \"B_2\"]", "\"env\": [\"1A\"]", "env")]
    [InlineData("\"env\": [\"A\", \"B_2\"]", "\"env\": [\"CONFIDE_CHANNEL\"]", "env")]
    [InlineData("\"env\": [\"A\", \"B_2\"]", "\"env\": [\"DOTNET_STARTUP_HOOKS\"]", "env")]
    [InlineData("\"env\": [\"A\", \"B_2\"]", "\"env\": [\"LD_PRELOAD\"]", "env")]
    [InlineData("\"env\": [\"A\", \"B_2\"]", "\"env\": [\"COMPlus_EnableDiagnostics\"]", "env")]
    [InlineData("\"debug\": true", "\"debug\": true, \"heapSize\": 5", "heapSize")]
    public void A_bad_field_is_named_in_the_error(string original, string replacement, string field)
    {
        string json = Valid.Replace(original, replacement, StringComparison.Ordinal);
        Assert.NotEqual(Valid, json);

        var error = Assert.Throws<EnclaveManifestException>(() => EnclaveManifest.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(field, error.Field);
        Assert.Contains($"'{field}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"name\": ")]
    [InlineData("null")]
    public void Malformed_json_is_a_manifest_error(string json)
    {
        var error = Assert.Throws<EnclaveManifestException>(() => EnclaveManifest.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Null(error.Field);
    }

    [Fact]
    public void An_oversized_manifest_is_refused_without_parsing()
    {
        byte[] huge = new byte[EnclaveManifest.MaxSize + 1];
        huge.AsSpan().Fill((byte)' ');
        Assert.Throws<EnclaveManifestException>(() => EnclaveManifest.Parse(huge));
    }

    [Fact]
    public void Deeply_nested_json_is_refused_not_recursed_into()
    {
        string json = new string('[', 10_000) + new string(']', 10_000);
        Assert.Throws<EnclaveManifestException>(() => EnclaveManifest.Parse(Encoding.UTF8.GetBytes(json)));
    }
}
