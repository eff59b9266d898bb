using Confide.Tee.Simulation;
using Confide.Tee.Tests.Support;

namespace Confide.Tee.Tests;

/// <summary>
/// <see cref="SimulationTee.DeriveSealKey"/> behaves like EGETKEY: deterministic, bound to the
/// identity the policy names (MRENCLAVE, or MRSIGNER + product id), to the security version and
/// key id, and refusing versions above the enclave's own.
/// </summary>
public sealed class SimulationSealKeyTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private static readonly byte[] KeyId = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    [Theory]
    [InlineData(SealPolicy.Unique)]
    [InlineData(SealPolicy.Product)]
    public void SameIdentityPolicyKeyIdAndSvn_GiveTheSame256BitKey(SealPolicy policy)
    {
        byte[] first = Derive(Identities.Simulated(), policy);
        byte[] second = Derive(Identities.Simulated(), policy);

        Assert.Equal(32, first.Length);
        Assert.Equal(first, second);
        Assert.NotEqual(new byte[32], first);
    }

    [Fact]
    public void ReopenedPlatform_DerivesTheSameKeys()
    {
        using SimulatedPlatform reopened = SimulatedPlatform.OpenOrCreate(fixture.Platform.StateDirectory);
        using var tee = new SimulationTee(reopened, Identities.Simulated());

        Assert.Equal(Derive(Identities.Simulated(), SealPolicy.Product), tee.DeriveSealKey(new SealKeyRequest(SealPolicy.Product, 3, KeyId)));
    }

    [Theory]
    [InlineData(SealPolicy.Unique)]
    [InlineData(SealPolicy.Product)]
    public void KeyId_ChangesTheKey(SealPolicy policy)
    {
        byte[] otherKeyId = (byte[])KeyId.Clone();
        otherKeyId[31] ^= 1;

        Assert.NotEqual(Derive(Identities.Simulated(), policy), Derive(Identities.Simulated(), policy, keyId: otherKeyId));
    }

    [Theory]
    [InlineData(SealPolicy.Unique)]
    [InlineData(SealPolicy.Product)]
    public void DebugBuild_NeverDerivesTheProductionBuildsKey(SealPolicy policy)
    {
        TeeIdentity production = Identities.Simulated();
        TeeIdentity debug = production with { Debug = true };

        Assert.NotEqual(Derive(production, policy), Derive(debug, policy));
    }

    [Fact]
    public void ProductId_ChangesTheUniqueKeyToo_AsEgetkeyMixesIsvProdIdIntoEveryKey()
    {
        TeeIdentity identity = Identities.Simulated();

        Assert.NotEqual(Derive(identity, SealPolicy.Unique), Derive(identity with { ProductId = (ushort)(identity.ProductId + 1) }, SealPolicy.Unique));
    }

    [Fact]
    public void Policy_ChangesTheKey()
    {
        Assert.NotEqual(Derive(Identities.Simulated(), SealPolicy.Unique), Derive(Identities.Simulated(), SealPolicy.Product));
    }

    [Theory]
    [InlineData(SealPolicy.Unique)]
    [InlineData(SealPolicy.Product)]
    public void SecurityVersion_ChangesTheKey(SealPolicy policy)
    {
        TeeIdentity identity = Identities.Simulated(securityVersion: 3);

        Assert.NotEqual(Derive(identity, policy, svn: 3), Derive(identity, policy, svn: 2));
        Assert.NotEqual(Derive(identity, policy, svn: 2), Derive(identity, policy, svn: 0));
    }

    [Fact]
    public void UniqueKey_DependsOnMrEnclave()
    {
        Assert.NotEqual(
            Derive(Identities.Simulated(enclave: "enclave-a"), SealPolicy.Unique),
            Derive(Identities.Simulated(enclave: "enclave-b"), SealPolicy.Unique));
    }

    [Fact]
    public void ProductKey_IsIndependentOfMrEnclave()
    {
        Assert.Equal(
            Derive(Identities.Simulated(enclave: "enclave-a"), SealPolicy.Product),
            Derive(Identities.Simulated(enclave: "enclave-b"), SealPolicy.Product));
    }

    [Fact]
    public void ProductKey_DependsOnMrSigner()
    {
        Assert.NotEqual(
            Derive(Identities.Simulated(signer: "signer-a"), SealPolicy.Product),
            Derive(Identities.Simulated(signer: "signer-b"), SealPolicy.Product));
    }

    [Theory]
    [InlineData(8)]      // low byte differs
    [InlineData(0x0107)] // high byte differs: both bytes of the product id count
    public void ProductKey_DependsOnProductId(ushort otherProductId)
    {
        Assert.NotEqual(
            Derive(Identities.Simulated(productId: 7), SealPolicy.Product),
            Derive(Identities.Simulated(productId: otherProductId), SealPolicy.Product));
    }

    [Fact]
    public void ProductKey_ForAnOlderSvn_IsTheSameFromANewerVersionOfTheEnclave()
    {
        // Version 3 sealed with its own key; version 5 (new MRENCLAVE) derives the SVN-3 key.
        byte[] sealedByV3 = Derive(Identities.Simulated(enclave: "v3", securityVersion: 3), SealPolicy.Product, svn: 3);
        byte[] derivedByV5 = Derive(Identities.Simulated(enclave: "v5", securityVersion: 5), SealPolicy.Product, svn: 3);

        Assert.Equal(sealedByV3, derivedByV5);
    }

    [Fact]
    public void AnotherPlatform_DerivesOtherKeys()
    {
        using var temp = new TempDirectory();
        using SimulatedPlatform other = SimulatedPlatform.OpenOrCreate(temp.Combine("state"));
        using var tee = new SimulationTee(other, Identities.Simulated());

        Assert.NotEqual(Derive(Identities.Simulated(), SealPolicy.Product), tee.DeriveSealKey(new SealKeyRequest(SealPolicy.Product, 3, KeyId)));
    }

    [Theory]
    [InlineData(SealPolicy.Unique)]
    [InlineData(SealPolicy.Product)]
    public void SvnAboveTheIdentitys_IsAnInvalidRequest(SealPolicy policy)
    {
        using SimulationTee tee = fixture.Tee(Identities.Simulated(securityVersion: 3));

        TeeException error = Assert.Throws<TeeException>(() => tee.DeriveSealKey(new SealKeyRequest(policy, 4, KeyId)));

        Assert.Equal(TeeError.InvalidRequest, error.Error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    public void KeyIdOfWrongLength_IsAnInvalidRequest(int length)
    {
        using SimulationTee tee = fixture.Tee(Identities.Simulated());

        TeeException error = Assert.Throws<TeeException>(() => tee.DeriveSealKey(new SealKeyRequest(SealPolicy.Product, 3, new byte[length])));

        Assert.Equal(TeeError.InvalidRequest, error.Error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(255)]
    public void UnknownPolicy_IsAnInvalidRequest(byte policy)
    {
        using SimulationTee tee = fixture.Tee(Identities.Simulated());

        TeeException error = Assert.Throws<TeeException>(() => tee.DeriveSealKey(new SealKeyRequest((SealPolicy)policy, 3, KeyId)));

        Assert.Equal(TeeError.InvalidRequest, error.Error);
    }

    [Fact]
    public void SimulationTee_RefusesIdentitiesThatAreNotSimulatedSgxOnes()
    {
        TeeIdentity good = Identities.Simulated();

        Assert.Throws<ArgumentException>(() => new SimulationTee(fixture.Platform, good with { Kind = TeeKind.SgxGramine }));
        Assert.Throws<ArgumentException>(() => new SimulationTee(fixture.Platform, good with { UniqueId = new byte[48] }));
        Assert.Throws<ArgumentException>(() => new SimulationTee(fixture.Platform, good with { SignerId = [] }));
    }

    private byte[] Derive(TeeIdentity identity, SealPolicy policy, ushort? svn = null, byte[]? keyId = null)
    {
        using SimulationTee tee = fixture.Tee(identity);
        return tee.DeriveSealKey(new SealKeyRequest(policy, svn ?? identity.SecurityVersion, keyId ?? KeyId));
    }
}
