using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Confide.Ledger.Recovery;

/// <summary>
/// Shamir k-of-n secret sharing over F_p, p = 2^31 − 1, limb by limb, as CCF's
/// <c>src/crypto/sharing.cpp</c>: each of the 10 limbs of the secret is the constant term of its own
/// random polynomial of degree k − 1, and share i (x = i, 1-based) holds that polynomial's value at x
/// for every limb. Any k shares recover the secret by Lagrange interpolation at 0; fewer reveal nothing.
/// </summary>
public static class SecretSharing
{
    /// <summary>The field modulus p = 2^31 − 1.</summary>
    public const uint Prime = PrimeField.Prime;

    /// <summary>
    /// The largest share count (and share index). CCF's sharing code has no bound of its own (x is a
    /// uint32); its default constitution bounds the recovery threshold to 1..254.
    /// </summary>
    public const int MaxShares = 255;

    /// <summary>
    /// Splits <paramref name="secret"/> into <paramref name="shareCount"/> shares, x = 1..n, any
    /// <paramref name="threshold"/> of which recover it. Coefficients above the constant term are uniform
    /// in [0, p) and are zeroed once the shares are computed.
    /// </summary>
    /// <exception cref="SecretSharingException">n outside 1..255, or k outside 1..n.</exception>
    public static Share[] Split(SharingSecret secret, int shareCount, int threshold)
    {
        if (shareCount is < 1 or > MaxShares)
        {
            throw new SecretSharingException(SecretSharingError.InvalidShareCount, $"The share count {shareCount} is outside 1..{MaxShares}.");
        }

        if (threshold < 1 || threshold > shareCount)
        {
            throw new SecretSharingException(SecretSharingError.InvalidThreshold, $"The threshold {threshold} is outside 1..{shareCount} (the share count).");
        }

        var ys = new uint[shareCount][];
        for (int s = 0; s < shareCount; s++)
        {
            ys[s] = new uint[SharingSecret.LimbCount];
        }

        var coefficients = new uint[threshold];
        bool computed = false;
        try
        {
            for (int limb = 0; limb < SharingSecret.LimbCount; limb++)
            {
                coefficients[0] = secret.Limbs[limb];
                PrimeField.FillUniform(coefficients.AsSpan(1));
                for (int s = 0; s < shareCount; s++)
                {
                    ys[s][limb] = Evaluate(coefficients, (uint)(s + 1));
                }
            }

            computed = true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(coefficients.AsSpan()));
            if (!computed)
            {
                foreach (uint[] y in ys)
                {
                    CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(y.AsSpan()));
                }
            }
        }

        var shares = new Share[shareCount];
        for (int s = 0; s < shareCount; s++)
        {
            shares[s] = Share.Adopt((uint)(s + 1), ys[s]);
        }

        return shares;
    }

    /// <summary>
    /// Recovers the secret from the first <paramref name="threshold"/> of <paramref name="shares"/>, as
    /// CCF does (shares beyond the threshold are ignored, but must not repeat an x). This does not
    /// authenticate anything: k shares of another sharing, or of another threshold, give another value;
    /// only the key derived from it failing to unwrap tells.
    /// </summary>
    /// <exception cref="SecretSharingException">A threshold outside 1..255, fewer shares than it, or a repeated x.</exception>
    public static SharingSecret Combine(IReadOnlyList<Share> shares, int threshold)
    {
        if (threshold is < 1 or > MaxShares)
        {
            throw new SecretSharingException(SecretSharingError.InvalidThreshold, $"The threshold {threshold} is outside 1..{MaxShares}.");
        }

        if (shares.Count < threshold)
        {
            throw new SecretSharingException(SecretSharingError.InsufficientShares, $"{shares.Count} share(s) given, {threshold} needed.");
        }

        EnsureDistinct(shares);

        uint[] lagrange = LagrangeAtZero(shares, threshold);
        var limbs = new uint[SharingSecret.LimbCount];
        for (int limb = 0; limb < limbs.Length; limb++)
        {
            uint value = 0;
            for (int i = 0; i < threshold; i++)
            {
                value = PrimeField.Add(value, PrimeField.Multiply(lagrange[i], shares[i].Y[limb]));
            }

            limbs[limb] = value;
        }

        return SharingSecret.Adopt(limbs);
    }

    /// <summary>Horner's rule: c0 + x(c1 + x(c2 + ...)).</summary>
    private static uint Evaluate(ReadOnlySpan<uint> coefficients, uint x)
    {
        uint value = 0;
        for (int i = coefficients.Length - 1; i >= 0; i--)
        {
            value = PrimeField.Add(PrimeField.Multiply(value, x), coefficients[i]);
        }

        return value;
    }

    /// <summary>
    /// λ_i = Π_{j≠i} x_j / (x_j − x_i) for the first <paramref name="count"/> shares, so that
    /// f(0) = Σ λ_i · f(x_i) for any polynomial f of degree below count. Only public x values are involved.
    /// </summary>
    private static uint[] LagrangeAtZero(IReadOnlyList<Share> shares, int count)
    {
        var lagrange = new uint[count];
        for (int i = 0; i < count; i++)
        {
            uint numerator = 1;
            uint denominator = 1;
            for (int j = 0; j < count; j++)
            {
                if (i != j)
                {
                    numerator = PrimeField.Multiply(numerator, shares[j].X);
                    denominator = PrimeField.Multiply(denominator, PrimeField.Subtract(shares[j].X, shares[i].X));
                }
            }

            lagrange[i] = PrimeField.Multiply(numerator, PrimeField.Inverse(denominator));
        }

        return lagrange;
    }

    private static void EnsureDistinct(IReadOnlyList<Share> shares)
    {
        var seen = new HashSet<uint>();
        foreach (Share share in shares)
        {
            if (!seen.Add(share.X))
            {
                throw new SecretSharingException(SecretSharingError.DuplicateShare, $"Two shares have x = {share.X}.");
            }
        }
    }
}
