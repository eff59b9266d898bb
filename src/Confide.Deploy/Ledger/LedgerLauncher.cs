using System.Text.Json;
using System.Text.Json.Serialization;

namespace Confide.Deploy.Ledger;

/// <summary>What the ledger StatefulSet tells each pod (a ConfigMap, <c>launcher.json</c>).</summary>
public sealed class LedgerLauncherSettings
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public required string StatefulSet { get; init; }

    public required string HeadlessService { get; init; }

    public required string Namespace { get; init; }

    public required int Replicas { get; init; }

    public required int RpcPort { get; init; }

    public required int NodePort { get; init; }

    public required string DataDirectory { get; init; }

    /// <summary>The TEE of <c>confide ledger start|join --tee</c>: simulation, sgx-gramine, tsm or auto.</summary>
    public required string Tee { get; init; }

    public bool AllowSimulation { get; init; }

    /// <summary>PCS/PCCS base URL for <c>--collateral</c>: where a node on a TEE with bare quotes (Gramine) gets their collateral.</summary>
    public string? Collateral { get; init; }

    /// <summary>Folder of the initial members' PEM certificates (node 0 only); null: none.</summary>
    public string? MemberCertificateDirectory { get; init; }

    /// <summary>The running service's certificate, which joiners pin (appears once the operator publishes it).</summary>
    public required string ServiceCertificate { get; init; }

    public IList<string> CodeIds { get; init; } = [];

    public IList<string> ExtraArgs { get; init; } = [];

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static LedgerLauncherSettings FromJson(string json) =>
        JsonSerializer.Deserialize<LedgerLauncherSettings>(json, Options) ?? throw new InvalidDataException("launcher.json is null.");
}

/// <summary>
/// Turns a StatefulSet pod into a ledger node: ordinal 0 runs <c>confide ledger start</c>, the
/// others <c>confide ledger join --target (node 0) --service-cert</c>. Every node is addressed by
/// its pod's stable DNS name (pod-N.headless.namespace.svc.cluster.local) in --node-address,
/// --rpc-address, --peer and --target: the consensus membership is static, and a rescheduled pod
/// keeps its name but not its IP. The servers listen on every interface of the pod.
/// </summary>
/// <remarks>
/// Nothing is resolved before the node starts. The name of a pod that has no address yet does not
/// resolve, and the consensus retries it; waiting for every name instead would keep a restarting
/// node out of a majority that does not need the missing one.
/// </remarks>
public static class LedgerLauncher
{
    /// <summary>Every IPv4 interface of the pod: the name's address is the pod's own, whatever it is this time.</summary>
    private const string AnyAddress = "0.0.0.0";

    /// <summary>The ordinal of a StatefulSet pod from its name (<c>confide-ledger-2</c> → 2).</summary>
    public static int Ordinal(string podName, string statefulSet)
    {
        ArgumentNullException.ThrowIfNull(podName);
        string prefix = statefulSet + "-";
        if (!podName.StartsWith(prefix, StringComparison.Ordinal) || !int.TryParse(podName.AsSpan(prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int ordinal))
        {
            throw new ArgumentException($"Pod name '{podName}' is not a pod of the StatefulSet '{statefulSet}' (<name>-<ordinal>).");
        }

        return ordinal;
    }

    /// <summary>The stable DNS name of pod <paramref name="ordinal"/>.</summary>
    public static string PodHost(LedgerLauncherSettings settings, int ordinal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return $"{settings.StatefulSet}-{ordinal}.{settings.HeadlessService}.{settings.Namespace}.svc.cluster.local";
    }

    /// <summary>The <c>confide</c> arguments for the node at <paramref name="ordinal"/>.</summary>
    public static IReadOnlyList<string> Arguments(LedgerLauncherSettings settings, int ordinal, IEnumerable<string> memberCertificates)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(memberCertificates);
        if (ordinal < 0 || ordinal >= settings.Replicas)
        {
            throw new ArgumentOutOfRangeException(nameof(ordinal), ordinal, $"Node {ordinal} is not one of the {settings.Replicas} nodes.");
        }

        string Node(int i) => $"{PodHost(settings, i)}:{settings.NodePort}";
        string Rpc(int i) => $"https://{PodHost(settings, i)}:{settings.RpcPort}";

        var args = new List<string>
        {
            "ledger", ordinal == 0 ? "start" : "join",
            "--data-dir", settings.DataDirectory,
            "--node-address", Node(ordinal),
            "--node-listen", $"{AnyAddress}:{settings.NodePort}",
            "--rpc-address", Rpc(ordinal),
            "--rpc-listen", $"{AnyAddress}:{settings.RpcPort}",
            "--tee", settings.Tee,
        };
        for (int i = 0; i < settings.Replicas; i++)
        {
            if (i != ordinal)
            {
                args.AddRange(["--peer", $"{Node(i)}={Rpc(i)}"]);
            }
        }

        if (settings.AllowSimulation)
        {
            args.Add("--allow-simulation");
        }

        if (settings.Collateral is { } collateral)
        {
            args.AddRange(["--collateral", collateral]);
        }

        if (ordinal == 0)
        {
            foreach (string certificate in memberCertificates)
            {
                args.AddRange(["--member-cert", certificate]);
            }

            foreach (string codeId in settings.CodeIds)
            {
                args.AddRange(["--code-id", codeId]);
            }
        }
        else
        {
            args.AddRange(["--target", Rpc(0), "--service-cert", settings.ServiceCertificate]);
        }

        args.AddRange(settings.ExtraArgs);
        return args;
    }

    /// <summary>Waits for a file that another party publishes (the service certificate a joiner pins).</summary>
    public static async Task WaitForFileAsync(string path, TimeSpan retryDelay, TextWriter log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(log);
        bool told = false;
        while (!File.Exists(path))
        {
            if (!told)
            {
                await log.WriteLineAsync($"waiting for {path}: publish the service certificate of node 0 (docs/deploy-aks.md, 'ledger')");
                told = true;
            }

            await Task.Delay(retryDelay, cancellationToken);
        }
    }
}
