namespace Confide.Ledger.Kv;

/// <summary>
/// Where a map's writes go in the ledger. The domain is part of the map's name and can never change:
/// <c>public:foo</c> and <c>foo</c> are two different maps.
/// </summary>
public enum SecurityDomain
{
    /// <summary>Names starting with <c>public:</c>: written in the clear, integrity-protected only.</summary>
    Public,

    /// <summary>Every other name: encrypted under the ledger secret.</summary>
    Private,
}

/// <summary>Rules for map names.</summary>
public static class MapNames
{
    /// <summary>The prefix that puts a map in the public domain.</summary>
    public const string PublicPrefix = "public:";

    /// <summary>The domain a map name puts its map in.</summary>
    public static SecurityDomain DomainOf(string mapName)
    {
        ArgumentNullException.ThrowIfNull(mapName);
        return mapName.StartsWith(PublicPrefix, StringComparison.Ordinal) ? SecurityDomain.Public : SecurityDomain.Private;
    }

    /// <summary>True when <paramref name="mapName"/> is a usable map name (not empty).</summary>
    public static bool IsValid(string? mapName) => !string.IsNullOrEmpty(mapName);

    internal static void ThrowIfInvalid(string mapName, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(mapName, parameterName);
        if (mapName.Length == 0)
        {
            throw new ArgumentException("A map name cannot be empty.", parameterName);
        }
    }
}
