using System.Buffers.Binary;

namespace Confide.Ledger.Recovery.Tests;

/// <summary>The 44-byte share layout of CCF's <c>Share::serialise</c> and its strict parsing.</summary>
public sealed class ShareEncodingTests
{
    private const uint P = SecretSharing.Prime;

    [Fact]
    public void Layout_IsXThenTenLimbs_EachUInt32LittleEndian()
    {
        using var share = new Share(0xFE, [0x7FFF_FFFE, 1, 2, 3, 4, 5, 6, 7, 8, 0x0A0B_0C0D]);

        byte[] bytes = share.ToBytes();

        Assert.Equal(44, bytes.Length);
        Assert.Equal(Convert.FromHexString(
            "FE000000" + "FEFFFF7F" + "01000000" + "02000000" + "03000000" + "04000000" +
            "05000000" + "06000000" + "07000000" + "08000000" + "0D0C0B0A"), bytes);
    }

    [Fact]
    public void RoundTrip_OfEveryShareOfARandomSharing()
    {
        using SharingSecret secret = SharingSecret.CreateRandom();
        foreach (Share share in SecretSharing.Split(secret, SecretSharing.MaxShares, 4))
        {
            byte[] bytes = share.ToBytes();
            using Share parsed = Share.Parse(bytes);

            Assert.Equal(share.X, parsed.X);
            Assert.Equal(share.Y.ToArray(), parsed.Y.ToArray());
            Assert.Equal(bytes, parsed.ToBytes());
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(40)]
    [InlineData(43)]
    [InlineData(45)]
    [InlineData(88)]
    public void Parse_RefusesAnyOtherLength(int length)
    {
        SecretSharingException e = Assert.Throws<SecretSharingException>(() => Share.Parse(new byte[length]));
        Assert.Equal(SecretSharingError.InvalidLength, e.Error);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(256u)]
    [InlineData(0x0100_0001u)]
    [InlineData(uint.MaxValue)]
    public void Parse_RefusesAnIndexOutside1To255(uint x)
    {
        byte[] bytes = ValidBytes();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, x);

        SecretSharingException e = Assert.Throws<SecretSharingException>(() => Share.Parse(bytes));
        Assert.Equal(SecretSharingError.InvalidShareIndex, e.Error);
    }

    [Theory]
    [InlineData(0, P)]
    [InlineData(9, P)]
    [InlineData(4, P + 1)]
    [InlineData(9, uint.MaxValue)]
    [InlineData(0, 0x8000_0000u)]
    public void Parse_RefusesALimbThatIsNotAFieldElement(int limb, uint value)
    {
        byte[] bytes = ValidBytes();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4 + (4 * limb)), value);

        SecretSharingException e = Assert.Throws<SecretSharingException>(() => Share.Parse(bytes));
        Assert.Equal(SecretSharingError.LimbOutOfRange, e.Error);
    }

    [Fact]
    public void Parse_AcceptsTheEdges_X1And255_LimbsZeroAndPMinusOne()
    {
        byte[] bytes = new byte[Share.SerializedSize];
        foreach (uint x in new uint[] { 1, 255 })
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, x);
            for (int i = 0; i < 10; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4 + (4 * i)), i % 2 == 0 ? 0 : P - 1);
            }

            using Share share = Share.Parse(bytes);
            Assert.Equal(x, share.X);
            Assert.Equal(bytes, share.ToBytes());
        }
    }

    [Fact]
    public void Constructor_RefusesWhatParseRefuses()
    {
        Assert.Equal(SecretSharingError.InvalidShareIndex, Assert.Throws<SecretSharingException>(() => new Share(0, new uint[10])).Error);
        Assert.Equal(SecretSharingError.InvalidLength, Assert.Throws<SecretSharingException>(() => new Share(1, new uint[9])).Error);
        Assert.Equal(SecretSharingError.LimbOutOfRange, Assert.Throws<SecretSharingException>(() => new Share(1, [0, 0, 0, 0, 0, 0, 0, 0, 0, P])).Error);
    }

    private static byte[] ValidBytes()
    {
        using var share = new Share(3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        return share.ToBytes();
    }
}
