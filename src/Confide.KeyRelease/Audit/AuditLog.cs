using System.Text.Json;
using Confide.KeyRelease.Release;

namespace Confide.KeyRelease.Audit;

/// <summary>Who asked: an enclave (its token's issuer and measurements) or an administrator (the bearer token's subject).</summary>
public sealed record AuditCaller(string? Issuer = null, string? MrEnclave = null, string? MrSigner = null, string? MrTd = null, string? Subject = null)
{
    public static readonly AuditCaller Unknown = new();

    /// <summary>The enclave behind a verified token: issuer, SGX MRENCLAVE/MRSIGNER, TDX MRTD (those present).</summary>
    public static AuditCaller FromToken(VerifiedToken token) => new(
        token.Issuer,
        Claim(token.Claims, "x-ms-sgx-mrenclave"),
        Claim(token.Claims, "x-ms-sgx-mrsigner"),
        Claim(token.Claims, "tdx_mrtd"));

    private static string? Claim(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

/// <summary>One audited operation. It never holds key material: names, versions, identities and reasons only.</summary>
public sealed record AuditEntry(string Operation, string? Key, string? Version, AuditCaller Caller, bool Allowed, string Reason);

/// <summary>
/// The broker's audit trail: every release and refusal, every administrative change, one JSON
/// object per line appended to <c>audit.log</c> (owner-only) and flushed to disk before the
/// operation's answer is sent. A line that cannot be written fails the operation: no key leaves
/// unrecorded.
/// </summary>
public sealed class AuditLog : IDisposable
{
    private readonly FileStream _file;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    public AuditLog(string path, TimeProvider time)
    {
        Path = path;
        _time = time;
        _file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
    }

    public string Path { get; }

    /// <exception cref="KeyBrokerException">The line could not be written (AuditLogUnavailable).</exception>
    public void Append(AuditEntry entry)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("operation", entry.Operation);
            WriteIfPresent(json, "key", entry.Key);
            WriteIfPresent(json, "version", entry.Version);
            json.WriteStartObject("caller");
            WriteIfPresent(json, "issuer", entry.Caller.Issuer);
            WriteIfPresent(json, "mrenclave", entry.Caller.MrEnclave);
            WriteIfPresent(json, "mrsigner", entry.Caller.MrSigner);
            WriteIfPresent(json, "mrtd", entry.Caller.MrTd);
            WriteIfPresent(json, "subject", entry.Caller.Subject);
            json.WriteEndObject();
            json.WriteString("decision", entry.Allowed ? "allowed" : "denied");
            json.WriteString("reason", entry.Reason);
            json.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        lock (_lock)
        {
            try
            {
                _file.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
                _file.Flush(flushToDisk: true);
            }
            catch (IOException ex)
            {
                throw KeyBrokerException.Forbidden(KeyBrokerErrorCodes.AuditUnavailable, $"The audit log cannot be written ({ex.Message}); the operation is refused.");
            }
        }
    }

    public void Dispose() => _file.Dispose();

    private static void WriteIfPresent(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}
