using Confide.Tests;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Confide.AttestationService.CompatTests;

/// <summary>Runs js/compat.js, which drives the official <c>@azure/attestation</c> client, and returns its per-step results.</summary>
internal static class JsClient
{
    private static readonly string Folder = typeof(JsClient).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "NpmFolder").Value!;

    /// <summary>Skips the calling test, with the reason, when Node.js or the installed client is missing.</summary>
    public static void RequireInstalled()
    {
        if (!NodeScript.IsInstalled)
        {
            Assert.Skip("Node.js is not installed: the @azure/attestation compatibility tests need it (node and npm on PATH).");
        }

        if (!File.Exists(Path.Combine(Folder, "node_modules", "@azure", "attestation", "package.json")))
        {
            Assert.Skip($"@azure/attestation is not installed in {Folder}: the build runs 'npm ci' there, which needs the npm registry.");
        }
    }

    /// <summary>Runs the steps against the service; one result object per step ({op, ok, value | error}).</summary>
    public static async Task<JsonArray> RunAsync(string url, string caPath, string adminToken, IEnumerable<JsonObject> steps, string workDirectory)
    {
        var job = new JsonObject
        {
            ["url"] = url,
            ["ca"] = caPath,
            ["adminToken"] = adminToken,
            ["steps"] = new JsonArray([.. steps]),
        };
        string jobPath = Path.Combine(workDirectory, $"job-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(jobPath, job.ToJsonString());

        (int exitCode, string stdout, string errors) = await NodeScript.RunAsync(Folder, "compat.js", [jobPath], TimeSpan.FromSeconds(120),
            start => start.Environment.Remove("NODE_TLS_REJECT_UNAUTHORIZED")); // the client must trust the service through its CA option only
        Assert.True(exitCode == 0, $"compat.js exited with {exitCode}: {errors}");
        return JsonNode.Parse(stdout)!.AsArray();
    }

    /// <summary>The value of a step that must have succeeded.</summary>
    public static JsonNode Value(JsonNode? result)
    {
        Assert.NotNull(result);
        Assert.True(result["ok"]!.GetValue<bool>(), $"{result["op"]} failed: {result["error"]?.ToJsonString()}");
        return result["value"]!;
    }

    /// <summary>The error of a step that must have failed.</summary>
    public static JsonNode Error(JsonNode? result)
    {
        Assert.NotNull(result);
        Assert.False(result["ok"]!.GetValue<bool>(), $"{result["op"]} should have failed but returned {result["value"]?.ToJsonString()}");
        return result["error"]!;
    }
}
