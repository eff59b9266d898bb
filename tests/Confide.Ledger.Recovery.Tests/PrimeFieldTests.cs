using System.Numerics;

namespace Confide.Ledger.Recovery.Tests;

/// <summary><see cref="PrimeField"/> against <see cref="BigInteger"/> arithmetic mod 2^31 − 1, at the edges.</summary>
public sealed class PrimeFieldTests
{
    private const uint P = PrimeField.Prime;

    private static readonly uint[] Edges = [0, 1, 2, 254, 255, 256, P / 2, P - 2, P - 1];

    public static TheoryData<ulong> ReduceInputs =>
    [
        0, 1, P - 1, P, (ulong)P + 1, 2UL * P, (2UL * P) - 1, (2UL * P) + 1, 1UL << 32,
        (ulong)(P - 1) * (P - 1), (ulong)uint.MaxValue * uint.MaxValue, ulong.MaxValue, ulong.MaxValue - 1, ulong.MaxValue - P,
        (ulong)P * P, ((ulong)P * P) - 1, ((ulong)P * P) + 1,
    ];

    [Theory]
    [MemberData(nameof(ReduceInputs))]
    public void Reduce_IsTheRemainderModP(ulong value) => Assert.Equal((uint)(value % P), PrimeField.Reduce(value));

    [Fact]
    public void Reduce_MatchesRemainder_OnRandomValues()
    {
        var random = new Random(31);
        for (int i = 0; i < 100_000; i++)
        {
            ulong value = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 33);
            Assert.Equal((uint)(value % P), PrimeField.Reduce(value));
        }
    }

    [Fact]
    public void AddSubtractMultiply_MatchBigInteger_OnElementsNearTheEdges()
    {
        foreach (uint a in Edges)
        {
            foreach (uint b in Edges)
            {
                Assert.Equal(Mod(new BigInteger(a) + b), PrimeField.Add(a, b));
                Assert.Equal(Mod(new BigInteger(a) - b), PrimeField.Subtract(a, b));
                Assert.Equal(Mod(new BigInteger(a) * b), PrimeField.Multiply(a, b));
            }
        }
    }

    [Fact]
    public void Inverse_TimesTheElement_IsOne()
    {
        uint[] elements = [.. Enumerable.Range(1, 255).Select(i => (uint)i), P / 2, P - 2, P - 1];
        foreach (uint a in elements)
        {
            Assert.Equal(1u, PrimeField.Multiply(a, PrimeField.Inverse(a)));
        }

        Assert.Equal(P - 1, PrimeField.Inverse(P - 1)); // −1 is its own inverse
    }

    [Fact]
    public void Inverse_OfZero_Throws()
    {
        Assert.Throws<DivideByZeroException>(() => PrimeField.Inverse(0));
        Assert.Throws<DivideByZeroException>(() => PrimeField.Inverse(P));
    }

    [Fact]
    public void FillUniform_StaysBelowP_AndCoversBothHalves()
    {
        var values = new uint[20_000];
        PrimeField.FillUniform(values);

        Assert.All(values, v => Assert.True(v < P));
        Assert.Contains(values, v => v < P / 2);
        Assert.Contains(values, v => v >= P / 2);
        Assert.True(values.Distinct().Count() > values.Length - 10, "31-bit values should almost never repeat");
    }

    private static uint Mod(BigInteger value) => (uint)(((value % P) + P) % P);
}
