using System.Globalization;
using System.Text.Json;

namespace Confide.Attestation.Verification;

/// <summary>One TCB level of a TCB info: the minimum SVNs it requires and the status it grants.</summary>
internal sealed record TcbLevel(byte[] SgxComponents, ushort PceSvn, byte[]? TdxComponents, TcbStatus Status, string[] AdvisoryIds, DateTimeOffset TcbDate);

/// <summary>A TDX module identity (TDX_01, TDX_03, ...): its signer, attributes and per-SVN levels.</summary>
internal sealed record TdxModuleIdentity(string Id, byte[] MrSigner, byte[] Attributes, byte[] AttributesMask, IReadOnlyList<(ushort IsvSvn, TcbStatus Status, string[] Advisories)> Levels);

/// <summary>
/// Intel's TCB info (v2 for SGX, v3 for SGX and TDX), read from the exact text whose signature
/// was verified. Levels are kept sorted from the highest TCB down, as Intel's QVL keeps them.
/// </summary>
internal sealed class TcbInfo
{
    public required string Id { get; init; }

    public required int Version { get; init; }

    public required DateTimeOffset IssueDate { get; init; }

    public required DateTimeOffset NextUpdate { get; init; }

    public required byte[] Fmspc { get; init; }

    public required byte[] PceId { get; init; }

    public required int TcbEvaluationDataNumber { get; init; }

    public required IReadOnlyList<TcbLevel> Levels { get; init; }

    public TdxModuleIdentity? TdxModule { get; init; }

    public IReadOnlyList<TdxModuleIdentity> TdxModuleIdentities { get; init; } = [];

    public static TcbInfo Parse(string json)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
            JsonElement root = document.RootElement;
            int version = root.GetProperty("version").GetInt32();
            string id = version >= 3 ? root.GetProperty("id").GetString()! : "SGX";
            var levels = root.GetProperty("tcbLevels").EnumerateArray().Select(level => ParseLevel(level, version)).ToList();
            levels.Sort(CompareDescending);
            return new TcbInfo
            {
                Id = id,
                Version = version,
                IssueDate = Json.Date(root, "issueDate"),
                NextUpdate = Json.Date(root, "nextUpdate"),
                Fmspc = Json.Hex(root, "fmspc", 6),
                PceId = Json.Hex(root, "pceId", 2),
                TcbEvaluationDataNumber = root.TryGetProperty("tcbEvaluationDataNumber", out JsonElement number) ? number.GetInt32() : 0,
                Levels = levels,
                TdxModule = root.TryGetProperty("tdxModule", out JsonElement module) ? ParseModule(module, "TDX_00") : null,
                TdxModuleIdentities = root.TryGetProperty("tdxModuleIdentities", out JsonElement identities)
                    ? identities.EnumerateArray().Select(i => ParseModule(i, i.GetProperty("id").GetString()!)).ToList()
                    : [],
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new QuoteVerificationException(VerificationError.MalformedCollateral, $"The TCB info is malformed: {ex.Message}", ex);
        }
    }

    private static TcbLevel ParseLevel(JsonElement level, int version)
    {
        JsonElement tcb = level.GetProperty("tcb");
        byte[] sgx = new byte[16];
        byte[]? tdx = null;
        if (version >= 3)
        {
            int i = 0;
            foreach (JsonElement component in tcb.GetProperty("sgxtcbcomponents").EnumerateArray())
            {
                sgx[i++] = component.GetProperty("svn").GetByte();
            }

            if (tcb.TryGetProperty("tdxtcbcomponents", out JsonElement tdxComponents))
            {
                tdx = new byte[16];
                i = 0;
                foreach (JsonElement component in tdxComponents.EnumerateArray())
                {
                    tdx[i++] = component.GetProperty("svn").GetByte();
                }
            }
        }
        else
        {
            for (int i = 0; i < 16; i++)
            {
                sgx[i] = tcb.GetProperty($"sgxtcbcomp{i + 1:00}svn").GetByte();
            }
        }

        return new TcbLevel(sgx, tcb.GetProperty("pcesvn").GetUInt16(), tdx, TcbStatuses.Parse(level.GetProperty("tcbStatus").GetString()), Json.Advisories(level), Json.Date(level, "tcbDate"));
    }

    private static TdxModuleIdentity ParseModule(JsonElement module, string id)
    {
        var levels = module.TryGetProperty("tcbLevels", out JsonElement tcbLevels)
            ? tcbLevels.EnumerateArray()
                .Select(l => (l.GetProperty("tcb").GetProperty("isvsvn").GetUInt16(), TcbStatuses.Parse(l.GetProperty("tcbStatus").GetString()), Json.Advisories(l)))
                .OrderByDescending(l => l.Item1)
                .ToList()
            : [];
        return new TdxModuleIdentity(id, Json.Hex(module, "mrsigner", 48), Json.Hex(module, "attributes", 8), Json.Hex(module, "attributesMask", 8), levels);
    }

    // Intel keeps levels in a set ordered by SGX components, then PCESVN, then TDX components.
    private static int CompareDescending(TcbLevel a, TcbLevel b)
    {
        int order = b.SgxComponents.AsSpan().SequenceCompareTo(a.SgxComponents);
        if (order == 0)
        {
            order = b.PceSvn.CompareTo(a.PceSvn);
        }

        if (order == 0 && a.TdxComponents is not null && b.TdxComponents is not null)
        {
            order = b.TdxComponents.AsSpan().SequenceCompareTo(a.TdxComponents);
        }

        return order;
    }
}

/// <summary>Intel's QE identity (v2): what the quoting enclave must be, and its TCB levels.</summary>
internal sealed class QeIdentity
{
    public required string Id { get; init; }

    public required DateTimeOffset IssueDate { get; init; }

    public required DateTimeOffset NextUpdate { get; init; }

    public required byte[] MiscSelect { get; init; }

    public required byte[] MiscSelectMask { get; init; }

    public required byte[] Attributes { get; init; }

    public required byte[] AttributesMask { get; init; }

    public required byte[] MrSigner { get; init; }

    public required ushort IsvProdId { get; init; }

    public required IReadOnlyList<(ushort IsvSvn, TcbStatus Status, string[] Advisories)> Levels { get; init; }

    public static QeIdentity Parse(string json)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
            JsonElement root = document.RootElement;
            return new QeIdentity
            {
                Id = root.GetProperty("id").GetString()!,
                IssueDate = Json.Date(root, "issueDate"),
                NextUpdate = Json.Date(root, "nextUpdate"),
                MiscSelect = Json.Hex(root, "miscselect", 4),
                MiscSelectMask = Json.Hex(root, "miscselectMask", 4),
                Attributes = Json.Hex(root, "attributes", 16),
                AttributesMask = Json.Hex(root, "attributesMask", 16),
                MrSigner = Json.Hex(root, "mrsigner", 32),
                IsvProdId = root.GetProperty("isvprodid").GetUInt16(),
                Levels = root.GetProperty("tcbLevels").EnumerateArray()
                    .Select(l => (l.GetProperty("tcb").GetProperty("isvsvn").GetUInt16(), TcbStatuses.Parse(l.GetProperty("tcbStatus").GetString()), Json.Advisories(l)))
                    .OrderByDescending(l => l.Item1)
                    .ToList(),
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new QuoteVerificationException(VerificationError.MalformedCollateral, $"The QE identity is malformed: {ex.Message}", ex);
        }
    }
}

internal static class Json
{
    public static DateTimeOffset Date(JsonElement element, string name) =>
        DateTimeOffset.Parse(element.GetProperty(name).GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static byte[] Hex(JsonElement element, string name, int size)
    {
        byte[] bytes = Convert.FromHexString(element.GetProperty(name).GetString()!);
        return bytes.Length == size ? bytes : throw new FormatException($"'{name}' is {bytes.Length} bytes, expected {size}.");
    }

    public static string[] Advisories(JsonElement level) =>
        level.TryGetProperty("advisoryIDs", out JsonElement ids) ? ids.EnumerateArray().Select(a => a.GetString()!).ToArray() : [];
}
