using System.Globalization;
using System.Text.RegularExpressions;

namespace Confide.Inference.Models;

/// <summary>
/// One model version to serve: its name, its version (a positive integer, as in Triton's model
/// repository, so that "latest" is well defined) and the file it loads from: a CONFIDE-MODEL file,
/// or a plain <c>.onnx</c> file where plaintext models are allowed.
/// </summary>
public sealed partial record ModelDescriptor
{
    public ModelDescriptor(string name, string version, string path)
    {
        if (!IsValidName(name))
        {
            throw new ArgumentException($"Model name '{name}' is not allowed: use 1-128 letters, digits, '_', '-' and '.', starting with a letter or digit.", nameof(name));
        }

        if (!TryParseVersion(version, out _))
        {
            throw new ArgumentException($"Model version '{version}' of '{name}' is not a positive integer.", nameof(version));
        }

        ArgumentException.ThrowIfNullOrEmpty(path);
        Name = name;
        Version = version;
        Path = path;
    }

    public string Name { get; }

    public string Version { get; }

    public string Path { get; }

    /// <summary>
    /// The id (hex) of the key the file is encrypted under, read from its header by the repository
    /// before it asks the key provider. Null for plaintext models.
    /// </summary>
    public string? KeyId { get; init; }

    /// <summary>
    /// An operator-chosen name for the model's key, for providers that fetch keys by name (a key
    /// broker, say). Null: the provider decides (the sealed local provider finds keys by <see cref="KeyId"/>).
    /// </summary>
    public string? KeyName { get; init; }

    /// <summary>The version as a number, for ordering.</summary>
    public long VersionNumber => long.Parse(Version, CultureInfo.InvariantCulture);

    public override string ToString() => $"{Name} version {Version}";

    public static bool IsValidName(string? name) => name is not null && NamePattern().IsMatch(name);

    public static bool TryParseVersion(string? version, out long number)
    {
        number = 0;
        return version is not null && VersionPattern().IsMatch(version) && long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out number) && number > 0;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[1-9][0-9]{0,17}$")]
    private static partial Regex VersionPattern();
}
