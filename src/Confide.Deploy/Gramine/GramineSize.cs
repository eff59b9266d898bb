using System.Globalization;
using System.Numerics;

namespace Confide.Deploy.Gramine;

/// <summary>
/// Sizes as Gramine's manifest writes them: a number of bytes, or a number with a K, M or G suffix
/// (KiB, MiB, GiB). <c>sgx.enclave_size</c> must be a power of two.
/// </summary>
public static class GramineSize
{
    private const long KiB = 1024;
    private const long MiB = 1024 * KiB;
    private const long GiB = 1024 * MiB;

    /// <summary>Parses <c>8G</c>, <c>512M</c>, <c>4096K</c> or a plain byte count; false for anything else.</summary>
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        (string digits, long unit) = text[^1] switch
        {
            'G' => (text[..^1], GiB),
            'M' => (text[..^1], MiB),
            'K' => (text[..^1], KiB),
            _ => (text, 1L),
        };
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit)
            || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long count))
        {
            return false;
        }

        try
        {
            bytes = checked(count * unit);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    /// <summary>The largest unit that divides <paramref name="bytes"/> exactly: 4G, 512M, 64K, or bytes.</summary>
    public static string Format(long bytes) => bytes switch
    {
        > 0 when bytes % GiB == 0 => $"{bytes / GiB}G",
        > 0 when bytes % MiB == 0 => $"{bytes / MiB}M",
        > 0 when bytes % KiB == 0 => $"{bytes / KiB}K",
        _ => bytes.ToString(CultureInfo.InvariantCulture),
    };

    public static bool IsPowerOfTwo(long bytes) => bytes > 0 && BitOperations.IsPow2(bytes);

    /// <summary>The smallest power of two not below <paramref name="bytes"/>.</summary>
    public static long RoundUpToPowerOfTwo(long bytes) => (long)BitOperations.RoundUpToPowerOf2((ulong)Math.Max(bytes, 1));

    public static long FromMiB(long mib) => checked(mib * MiB);
}
