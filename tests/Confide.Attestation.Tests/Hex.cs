using System.Buffers.Binary;

namespace Confide.Attestation.Tests;

/// <summary>expected.json stores byte strings as lower- or upper-case hex; compare in one case.</summary>
internal static class Hex
{
    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>The hex of a u64 as it is stored in a quote (little-endian).</summary>
    public static string OfLittleEndian(ulong value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return Of(bytes);
    }

    public static byte[] Parse(string hex) => Convert.FromHexString(hex);

    public static void Equal(string? expectedHex, ReadOnlySpan<byte> actual, string field)
    {
        Assert.NotNull(expectedHex);
        Assert.True(
            string.Equals(expectedHex, Of(actual), StringComparison.OrdinalIgnoreCase),
            $"{field}: expected {expectedHex.ToLowerInvariant()}, got {Of(actual)}");
    }
}
