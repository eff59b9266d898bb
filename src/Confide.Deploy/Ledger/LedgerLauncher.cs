using System.Net;
using System.Net.Sockets;
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
/// others <c>confide ledger join --target (node 0) --service-cert</c>. The ledger takes IP
/// addresses only (--node-address, --rpc-address, --peer, --target), so the pods' stable DNS
/// names (pod-N.headless) are resolved to their current addresses when the pod starts.
/// </summary>
public static class LedgerLauncher
{
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
    public static string PodHost(LedgerLauncherSettings settings, int ordinal) =>
        $"{settings.StatefulSet}-{ordinal}.{settings.HeadlessService}.{settings.Namespace}.svc.cluster.local";

    /// <summary>The <c>confide</c> arguments for the node at <paramref name="ordinal"/>, given every node's current address.</summary>
    public static IReadOnlyList<string> Arguments(LedgerLauncherSettings settings, int ordinal, IReadOnlyList<IPAddress> addresses, IEnumerable<string> memberCertificates)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(addresses);
        if (addresses.Count != settings.Replicas || ordinal < 0 || ordinal >= settings.Replicas)
        {
            throw new ArgumentException($"Node {ordinal} of {settings.Replicas} with {addresses.Count} addresses.");
        }

        string Node(int i) => new IPEndPoint(addresses[i], settings.NodePort).ToString();
        string Rpc(int i) => $"https://{new IPEndPoint(addresses[i], settings.RpcPort)}";

        var args = new List<string>
        {
            "ledger", ordinal == 0 ? "start" : "join",
            "--data-dir", settings.DataDirectory,
            "--node-address", Node(ordinal),
            "--rpc-address", Rpc(ordinal),
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

    /// <summary>
    /// Resolves every node's address (its own from <paramref name="ownAddress"/>), waiting until all
    /// resolve: the headless Service publishes not-ready pods, but a pod that is still being
    /// scheduled has no address yet.
    /// </summary>
    public static async Task<IReadOnlyList<IPAddress>> ResolveAsync(LedgerLauncherSettings settings, int ordinal, IPAddress ownAddress, Func<string, CancellationToken, Task<IPAddress?>> resolve, TimeSpan retryDelay, TimeSpan timeout, TextWriter log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(resolve);
        ArgumentNullException.ThrowIfNull(log);
        var addresses = new IPAddress?[settings.Replicas];
        addresses[ordinal] = ownAddress;
        DateTimeOffset deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            for (int i = 0; i < addresses.Length; i++)
            {
                addresses[i] ??= await resolve(PodHost(settings, i), cancellationToken);
            }

            int[] missing = [.. Enumerable.Range(0, addresses.Length).Where(i => addresses[i] is null)];
            if (missing.Length == 0)
            {
                return [.. addresses.Select(a => a!)];
            }

            if (DateTimeOffset.UtcNow >= deadline)
            {
                throw new TimeoutException($"Ledger nodes {string.Join(", ", missing)} have no address after {timeout.TotalSeconds:0} s ({PodHost(settings, missing[0])} does not resolve).");
            }

            await log.WriteLineAsync($"waiting for the addresses of ledger nodes {string.Join(", ", missing)}");
            await Task.Delay(retryDelay, cancellationToken);
        }
    }

    /// <summary>The system resolver, IPv4 first; null while the name does not resolve.</summary>
    public static async Task<IPAddress?> DnsResolveAsync(string host, CancellationToken cancellationToken)
    {
        try
        {
            IPAddress[] found = await Dns.GetHostAddressesAsync(host, cancellationToken);
            return found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? found.FirstOrDefault();
        }
        catch (SocketException)
        {
            return null;
        }
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
