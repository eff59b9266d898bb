using System.Text.Json;
using System.Text.RegularExpressions;

namespace Confide.Enclave.Manifest;

/// <summary>
/// Strict reader for <c>enclave.json</c>: unknown fields, wrong types and out-of-range values are
/// errors, because a silently ignored typo in a security manifest is a policy the author did not get.
/// </summary>
internal static partial class ManifestReader
{
    private const int MaxListEntries = 4096;
    private const int MaxHeapSizeMiB = 1024 * 1024;

    public static EnclaveManifest Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new EnclaveManifestException(null, "The manifest must be a JSON object.");
        }

        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (Array.IndexOf(ManifestFields.All, property.Name) < 0)
            {
                throw new EnclaveManifestException(property.Name, "unknown field (check the spelling; fields are camelCase).");
            }
        }

        string name = RequiredString(root, ManifestFields.Name);
        if (name.Length is 0 or > 128)
        {
            throw new EnclaveManifestException(ManifestFields.Name, "must be 1 to 128 characters.");
        }

        string entry = RequiredString(root, ManifestFields.EntryAssembly);
        try
        {
            PackagePath.Validate(entry);
        }
        catch (ArgumentException ex)
        {
            throw new EnclaveManifestException(ManifestFields.EntryAssembly, ex.Message);
        }

        if (!entry.EndsWith(".dll", StringComparison.Ordinal))
        {
            throw new EnclaveManifestException(ManifestFields.EntryAssembly, $"'{entry}' must be a managed assembly (.dll).");
        }

        IReadOnlyList<string> trustedFiles = StringList(root, ManifestFields.TrustedFiles, required: true);
        if (trustedFiles.Count == 0)
        {
            throw new EnclaveManifestException(ManifestFields.TrustedFiles, "must list at least the entry assembly.");
        }

        foreach (string pattern in trustedFiles)
        {
            try
            {
                PackagePath.Validate(pattern.Replace("**", "x", StringComparison.Ordinal).Replace('*', 'x'));
            }
            catch (ArgumentException ex)
            {
                throw new EnclaveManifestException(ManifestFields.TrustedFiles, $"pattern '{pattern}': {ex.Message}");
            }
        }

        IReadOnlyList<string> environment = StringList(root, ManifestFields.Environment, required: false);
        foreach (string variable in environment)
        {
            if (!EnvironmentName().IsMatch(variable))
            {
                throw new EnclaveManifestException(ManifestFields.Environment, $"'{variable}' is not a valid environment variable name.");
            }

            if (EnclaveEnvironment.IsReserved(variable))
            {
                throw new EnclaveManifestException(ManifestFields.Environment,
                    $"'{variable}' cannot be allow-listed: CONFIDE_* belongs to the runtime, and DOTNET_*, COMPlus_*, CORECLR_* and LD_* would let the host change how the enclave's code is loaded.");
            }
        }

        if (environment.Distinct(StringComparer.Ordinal).Count() != environment.Count)
        {
            throw new EnclaveManifestException(ManifestFields.Environment, "lists a variable twice.");
        }

        int heap = OptionalInt(root, ManifestFields.HeapSizeMiB, 256, 1, MaxHeapSizeMiB);

        return new EnclaveManifest
        {
            Name = name,
            EntryAssembly = entry,
            ProductId = (ushort)OptionalInt(root, ManifestFields.ProductId, 0, 0, ushort.MaxValue),
            SecurityVersion = (ushort)OptionalInt(root, ManifestFields.SecurityVersion, 0, 0, ushort.MaxValue),
            Debug = OptionalBool(root, ManifestFields.Debug, false),
            HeapSizeMiB = heap,
            TrustedFiles = trustedFiles,
            Environment = environment,
        };
    }

    private static string RequiredString(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out JsonElement value))
        {
            throw new EnclaveManifestException(field, "is required.");
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new EnclaveManifestException(field, $"must be a string, not {Describe(value)}.");
        }

        return value.GetString()!;
    }

    private static int OptionalInt(JsonElement root, string field, int fallback, int min, int max)
    {
        if (!root.TryGetProperty(field, out JsonElement value))
        {
            return fallback;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long number))
        {
            throw new EnclaveManifestException(field, $"must be an integer, not {Describe(value)}.");
        }

        if (number < min || number > max)
        {
            throw new EnclaveManifestException(field, $"{number} is out of range [{min}, {max}].");
        }

        return (int)number;
    }

    private static bool OptionalBool(JsonElement root, string field, bool fallback)
    {
        if (!root.TryGetProperty(field, out JsonElement value))
        {
            return fallback;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new EnclaveManifestException(field, $"must be true or false, not {Describe(value)}."),
        };
    }

    private static IReadOnlyList<string> StringList(JsonElement root, string field, bool required)
    {
        if (!root.TryGetProperty(field, out JsonElement value))
        {
            return required ? throw new EnclaveManifestException(field, "is required.") : [];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new EnclaveManifestException(field, $"must be an array of strings, not {Describe(value)}.");
        }

        if (value.GetArrayLength() > MaxListEntries)
        {
            throw new EnclaveManifestException(field, $"has more than {MaxListEntries} entries.");
        }

        var list = new List<string>();
        foreach (JsonElement item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(item.GetString()))
            {
                throw new EnclaveManifestException(field, $"entries must be non-empty strings, found {Describe(item)}.");
            }

            list.Add(item.GetString()!);
        }

        return list;
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{value.GetString()}\"",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        _ => value.ValueKind.ToString().ToLowerInvariant(),
    };

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex EnvironmentName();
}
