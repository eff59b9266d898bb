using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Confide.Ledger.Recovery;

/// <summary>
/// Arithmetic in the prime field F_p with p = 2^31 − 1 (a Mersenne prime), on elements held in
/// <see cref="uint"/> and combined in <see cref="ulong"/>. Every operation reduces its result, and the
/// reduction has no data-dependent branch, so the arithmetic on secret limbs does not leak their values
/// through timing. Only <see cref="Inverse"/> (used on public x coordinates) is not constant-time.
/// </summary>
internal static class PrimeField
{
    /// <summary>The modulus p = 2^31 − 1.</summary>
    public const uint Prime = 0x7FFF_FFFF;

    /// <summary>
    /// <paramref name="value"/> mod p, for any 64-bit value. Since 2^31 ≡ 1 (mod p), folding the high
    /// bits onto the low 31 keeps the value mod p: two folds bring any 64-bit value to at most p + 7, and
    /// one conditional subtraction (by multiplication with 0 or 1, not a branch) finishes.
    /// </summary>
    public static uint Reduce(ulong value)
    {
        value = (value & Prime) + (value >> 31); // < 2^34
        value = (value & Prime) + (value >> 31); // <= p + 7
        ulong atLeastPrime = (value + 1) >> 31;  // 1 exactly when value >= p
        return (uint)(value - (atLeastPrime * Prime));
    }

    /// <summary>(a + b) mod p, for elements below 2^32.</summary>
    public static uint Add(uint a, uint b) => Reduce((ulong)a + b);

    /// <summary>(a − b) mod p, for a below 2^32 and b at most p.</summary>
    public static uint Subtract(uint a, uint b) => Reduce((ulong)a + Prime - b);

    /// <summary>(a · b) mod p, for elements below 2^32.</summary>
    public static uint Multiply(uint a, uint b) => Reduce((ulong)a * b);

    /// <summary>
    /// The multiplicative inverse of a non-zero element, as a^(p−2) (Fermat). Square-and-multiply
    /// branches on the exponent only, which is public; this is used on x coordinates, never on secrets.
    /// </summary>
    public static uint Inverse(uint a)
    {
        uint element = Reduce(a);
        if (element == 0)
        {
            throw new DivideByZeroException("Zero has no inverse in F_p.");
        }

        uint result = 1;
        for (uint exponent = Prime - 2; exponent != 0; exponent >>= 1)
        {
            if ((exponent & 1) != 0)
            {
                result = Multiply(result, element);
            }

            element = Multiply(element, element);
        }

        return result;
    }

    /// <summary>
    /// Fills <paramref name="destination"/> with elements uniform in [0, p): 31 random bits each, drawn
    /// again when all 31 are set (the single value 2^31 − 1 = p), which happens with probability 2^−31.
    /// </summary>
    public static void FillUniform(Span<uint> destination)
    {
        RandomNumberGenerator.Fill(MemoryMarshal.AsBytes(destination));
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] &= Prime;
            while (destination[i] == Prime)
            {
                destination[i] = NextRaw() & Prime;
            }
        }
    }

    private static uint NextRaw()
    {
        Span<uint> one = stackalloc uint[1];
        RandomNumberGenerator.Fill(MemoryMarshal.AsBytes(one));
        return one[0];
    }
}
