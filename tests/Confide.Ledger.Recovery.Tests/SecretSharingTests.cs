namespace Confide.Ledger.Recovery.Tests;

/// <summary>
/// <see cref="SecretSharing"/>: every subset of k shares recovers the secret for every k ≤ n ≤ 10,
/// fewer than k do not, the field edges, and the typed refusals.
/// </summary>
public sealed class SecretSharingTests
{
    private const uint P = SecretSharing.Prime;

    [Fact]
    public void EverySubsetOfThresholdShares_RecoversTheSecret_ForEveryThresholdAndCountUpToTen()
    {
        for (int n = 1; n <= 10; n++)
        {
            for (int k = 1; k <= n; k++)
            {
                using SharingSecret secret = SharingSecret.CreateRandom();
                Share[] shares = SecretSharing.Split(secret, n, k);

                Assert.Equal(Enumerable.Range(1, n).Select(i => (uint)i), shares.Select(s => s.X));
                foreach (Share[] subset in Subsets(shares, k))
                {
                    using SharingSecret recovered = SecretSharing.Combine(subset, k);
                    Assert.True(recovered.FixedTimeEquals(secret), $"n={n} k={k} x={string.Join(',', subset.Select(s => s.X))}");

                    Array.Reverse(subset);
                    using SharingSecret reversed = SecretSharing.Combine(subset, k);
                    Assert.True(reversed.FixedTimeEquals(secret));
                }
            }
        }
    }

    [Fact]
    public void FewerThanThresholdShares_InterpolateToSomethingElse()
    {
        for (int n = 2; n <= 10; n++)
        {
            for (int k = 2; k <= n; k++)
            {
                using SharingSecret secret = SharingSecret.CreateRandom();
                Share[] shares = SecretSharing.Split(secret, n, k);

                foreach (Share[] subset in Subsets(shares, k - 1))
                {
                    using SharingSecret guess = SecretSharing.Combine(subset, k - 1);
                    Assert.False(guess.FixedTimeEquals(secret), $"n={n} k={k}: {k - 1} shares gave the secret");
                }

                SecretSharingException e = Assert.Throws<SecretSharingException>(() => SecretSharing.Combine(shares[..(k - 1)], k));
                Assert.Equal(SecretSharingError.InsufficientShares, e.Error);
            }
        }
    }

    [Fact]
    public void SharesBeyondTheThreshold_AreIgnored_AsInCcf()
    {
        using SharingSecret secret = SharingSecret.CreateRandom();
        Share[] shares = SecretSharing.Split(secret, 7, 3);

        using SharingSecret recovered = SecretSharing.Combine(shares, 3);
        Assert.True(recovered.FixedTimeEquals(secret));
    }

    [Fact]
    public void ThresholdOne_GivesEveryMemberTheSecretItself()
    {
        using SharingSecret secret = SharingSecret.CreateRandom();
        foreach (Share share in SecretSharing.Split(secret, 5, 1))
        {
            Assert.Equal(secret.Limbs.ToArray(), share.Y.ToArray());
        }
    }

    [Fact]
    public void LimbsAtTheEdgesOfTheField_SurviveTheLargestSharing_WithXUpTo255()
    {
        uint[] edges = [0, 1, 2, P - 1, P - 2, P / 2, 255, 256, P - 255, 0x4000_0000];
        using SharingSecret secret = SharingSecret.FromLimbs(edges);

        Share[] shares = SecretSharing.Split(secret, SecretSharing.MaxShares, SecretSharing.MaxShares);
        Assert.Equal(255u, shares[^1].X);
        Assert.All(shares, s => Assert.All(s.Y.ToArray(), y => Assert.True(y < P)));

        using SharingSecret all = SecretSharing.Combine(shares, SecretSharing.MaxShares);
        Assert.Equal(edges, all.Limbs.ToArray());
    }

    [Fact]
    public void SharesWithXOneAndTwoFiftyFive_Recover_AThresholdTwoSecret()
    {
        using SharingSecret secret = SharingSecret.FromLimbs([P - 1, P - 1, P - 1, P - 1, P - 1, 0, 0, 0, 0, 1]);
        Share[] shares = SecretSharing.Split(secret, SecretSharing.MaxShares, 2);

        using SharingSecret recovered = SecretSharing.Combine([shares[^1], shares[0]], 2);
        Assert.True(recovered.FixedTimeEquals(secret));
    }

    [Fact]
    public void HandMadeLine_RecoversItsConstantTerm()
    {
        // f(x) = 5 + (p − 1)x, i.e. 5 − x: f(1) = 4, f(255) = 5 − 255 = p − 250.
        uint[] at1 = [4, 4, 4, 4, 4, 4, 4, 4, 4, 4];
        uint[] at255 = [P - 250, P - 250, P - 250, P - 250, P - 250, P - 250, P - 250, P - 250, P - 250, P - 250];

        using SharingSecret recovered = SecretSharing.Combine([new Share(1, at1), new Share(255, at255)], 2);
        Assert.All(recovered.Limbs.ToArray(), limb => Assert.Equal(5u, limb));
    }

    [Theory]
    [InlineData(0, 1, SecretSharingError.InvalidShareCount)]
    [InlineData(256, 2, SecretSharingError.InvalidShareCount)]
    [InlineData(-1, 1, SecretSharingError.InvalidShareCount)]
    [InlineData(5, 0, SecretSharingError.InvalidThreshold)]
    [InlineData(5, -2, SecretSharingError.InvalidThreshold)]
    [InlineData(5, 6, SecretSharingError.InvalidThreshold)]
    public void Split_RefusesBadCountsAndThresholds(int shareCount, int threshold, SecretSharingError expected)
    {
        using SharingSecret secret = SharingSecret.CreateRandom();
        SecretSharingException e = Assert.Throws<SecretSharingException>(() => SecretSharing.Split(secret, shareCount, threshold));
        Assert.Equal(expected, e.Error);
    }

    [Fact]
    public void Combine_RefusesDuplicatesAnywhere_TooFewShares_AndBadThresholds()
    {
        using SharingSecret secret = SharingSecret.CreateRandom();
        Share[] shares = SecretSharing.Split(secret, 5, 3);

        Assert.Equal(SecretSharingError.DuplicateShare, Assert.Throws<SecretSharingException>(() => SecretSharing.Combine([shares[0], shares[1], shares[0]], 3)).Error);
        Assert.Equal(SecretSharingError.DuplicateShare, Assert.Throws<SecretSharingException>(() => SecretSharing.Combine([shares[0], shares[1], shares[2], shares[1]], 3)).Error);
        Assert.Equal(SecretSharingError.InsufficientShares, Assert.Throws<SecretSharingException>(() => SecretSharing.Combine([], 1)).Error);
        Assert.Equal(SecretSharingError.InvalidThreshold, Assert.Throws<SecretSharingException>(() => SecretSharing.Combine(shares, 0)).Error);
        Assert.Equal(SecretSharingError.InvalidThreshold, Assert.Throws<SecretSharingException>(() => SecretSharing.Combine(shares, 256)).Error);
    }

    [Fact]
    public void Secrets_AreTenLimbsBelowP()
    {
        using SharingSecret secret = SharingSecret.CreateRandom();
        Assert.Equal(SharingSecret.LimbCount, secret.Limbs.Length);
        Assert.All(secret.Limbs.ToArray(), limb => Assert.True(limb < P));

        Assert.Equal(SecretSharingError.LimbOutOfRange, Assert.Throws<SecretSharingException>(() => SharingSecret.FromLimbs([0, 0, 0, 0, 0, 0, 0, 0, 0, P])).Error);
        Assert.Equal(SecretSharingError.InvalidLength, Assert.Throws<SecretSharingException>(() => SharingSecret.FromLimbs([1, 2, 3])).Error);
    }

    [Fact]
    public void Dispose_ZeroesSecretsAndShares()
    {
        SharingSecret secret = SharingSecret.FromLimbs([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        Share[] shares = SecretSharing.Split(secret, 3, 2);

        secret.Dispose();
        shares[0].Dispose();

        Assert.All(secret.Limbs.ToArray(), limb => Assert.Equal(0u, limb));
        Assert.All(shares[0].Y.ToArray(), y => Assert.Equal(0u, y));
    }

    private static IEnumerable<Share[]> Subsets(Share[] shares, int size)
    {
        for (int mask = 0; mask < 1 << shares.Length; mask++)
        {
            if (int.PopCount(mask) == size)
            {
                yield return [.. shares.Where((_, i) => (mask & (1 << i)) != 0)];
            }
        }
    }
}
