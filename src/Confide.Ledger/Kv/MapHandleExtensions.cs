using System.Text;
using System.Text.Json;

namespace Confide.Ledger.Kv;

/// <summary>Conveniences for maps whose keys are UTF-8 strings and whose values are UTF-8 text or JSON.</summary>
public static class MapHandleExtensions
{
    /// <summary>Puts a UTF-8 key and a UTF-8 value.</summary>
    public static void PutString(this MapHandle map, string key, string value)
    {
        ArgumentNullException.ThrowIfNull(map);
        map.Put(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value));
    }

    /// <summary>The UTF-8 value under a UTF-8 key, or null.</summary>
    public static string? GetString(this MapHandle map, string key)
    {
        ArgumentNullException.ThrowIfNull(map);
        return map.TryGet(Encoding.UTF8.GetBytes(key), out ReadOnlyMemory<byte> value) ? Encoding.UTF8.GetString(value.Span) : null;
    }

    /// <summary>Removes a UTF-8 key.</summary>
    public static void Remove(this MapHandle map, string key)
    {
        ArgumentNullException.ThrowIfNull(map);
        map.Remove(Encoding.UTF8.GetBytes(key));
    }

    /// <summary>True when a UTF-8 key is present.</summary>
    public static bool Has(this MapHandle map, string key)
    {
        ArgumentNullException.ThrowIfNull(map);
        return map.Has(Encoding.UTF8.GetBytes(key));
    }

    /// <summary>Puts <paramref name="value"/> as UTF-8 JSON under a UTF-8 key.</summary>
    public static void PutJson<T>(this MapHandle map, string key, T value, JsonSerializerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        map.Put(Encoding.UTF8.GetBytes(key), JsonSerializer.SerializeToUtf8Bytes(value, options));
    }

    /// <summary>The JSON value under a UTF-8 key, deserialised, or default when absent.</summary>
    /// <exception cref="JsonException">The stored value is not JSON of that type.</exception>
    public static T? GetJson<T>(this MapHandle map, string key, JsonSerializerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        return map.TryGet(Encoding.UTF8.GetBytes(key), out ReadOnlyMemory<byte> value) ? JsonSerializer.Deserialize<T>(value.Span, options) : default;
    }
}
