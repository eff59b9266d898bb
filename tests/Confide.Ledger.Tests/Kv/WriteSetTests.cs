using System.Buffers.Binary;
using System.Text;
using Confide.Ledger.Kv;

namespace Confide.Ledger.Tests.Kv;

/// <summary>
/// <see cref="WriteSet"/> order and <see cref="WriteSetCodec"/>: the same changes made in any order
/// serialise to the same bytes, the bytes have CCF's layout, and only the canonical form decodes.
/// </summary>
public sealed class WriteSetTests
{
    [Fact]
    public void SameChangesInAnyOrder_SerialiseToIdenticalBytes()
    {
        var first = new Store();
        Transaction a = first.BeginTransaction();
        a.GetMap("public:b").PutString("y", "2");
        a.GetMap("zeta").PutString("k2", "v2");
        a.GetMap("public:a").PutString("x", "1");
        a.GetMap("zeta").PutString("k1", "v1");
        a.GetMap("zeta").Remove("k0");

        var second = new Store();
        Transaction b = second.BeginTransaction();
        b.GetMap("zeta").Remove("k0");
        b.GetMap("zeta").PutString("k1", "v1");
        b.GetMap("public:a").PutString("x", "1");
        b.GetMap("zeta").PutString("k2", "v2");
        b.GetMap("public:b").PutString("y", "2");

        WriteSet left = a.TryCommit().WriteSet!;
        WriteSet right = b.TryCommit().WriteSet!;

        Assert.Equal(["public:a", "public:b", "zeta"], left.Maps.Select(map => map.Name));
        foreach (SecurityDomain domain in Enum.GetValues<SecurityDomain>())
        {
            Assert.Equal(WriteSetCodec.EncodeDomain(left, domain), WriteSetCodec.EncodeDomain(right, domain));
        }
    }

    [Fact]
    public void LastOperationOnAKeyWins()
    {
        WriteSet writeSet = new WriteSetBuilder()
            .Put("m", "k"u8, "v"u8)
            .Remove("m", "k"u8)
            .Remove("m", "j"u8)
            .Put("m", "j"u8, "w"u8)
            .Build();

        MapChanges map = writeSet.Find("m")!;
        Assert.Equal(["j"], map.Writes.Select(write => Encoding.UTF8.GetString(write.Key.Span)));
        Assert.Equal(["k"], map.Removes.Select(key => Encoding.UTF8.GetString(key.Span)));
    }

    [Fact]
    public void Keys_AreOrderedByUnsignedBytes_PrefixFirst()
    {
        WriteSet writeSet = new WriteSetBuilder()
            .Put("m", [0x80], "a"u8)
            .Put("m", [0x01, 0x00], "b"u8)
            .Put("m", [0x01], "c"u8)
            .Build();

        Assert.Equal([[0x01], [0x01, 0x00], [0x80]], writeSet.Find("m")!.Writes.Select(write => write.Key.ToArray()));
    }

    [Fact]
    public void EncodeDomain_HasCcfRawLayout()
    {
        WriteSet writeSet = new WriteSetBuilder().Put("public:t", "k"u8, "val"u8).Remove("public:t", "r"u8).Build();

        byte[] bytes = WriteSetCodec.EncodeDomain(writeSet, SecurityDomain.Public);

        byte[] expected =
        [
            .. U64(8), .. "public:t"u8,
            .. U64(0), // read version
            .. U64(0), // read count
            .. U64(1), .. U64(1), .. "k"u8, .. U64(3), .. "val"u8,
            .. U64(1), .. U64(1), .. "r"u8,
        ];
        Assert.Equal(expected, bytes);
        Assert.Empty(WriteSetCodec.EncodeDomain(writeSet, SecurityDomain.Private));
    }

    [Fact]
    public void DecodeDomain_RoundTrips()
    {
        WriteSet writeSet = new WriteSetBuilder()
            .Put("a", "1"u8, "x"u8).Put("a", "2"u8, ""u8).Remove("a", "3"u8)
            .Remove("b", "gone"u8)
            .Build();
        byte[] bytes = WriteSetCodec.EncodeDomain(writeSet, SecurityDomain.Private);

        var decoded = new WriteSetBuilder();
        Assert.True(WriteSetCodec.TryDecodeDomain(bytes, SecurityDomain.Private, decoded, out string? error, out _), error);

        Assert.Equal(bytes, WriteSetCodec.EncodeDomain(decoded.Build(), SecurityDomain.Private));
    }

    public static TheoryData<string, byte[]> NonCanonical => new()
    {
        { "truncated name", [.. U64(100), .. "m"u8] },
        { "wrong domain", [.. Map("public:m", [.. U64(1), .. U64(1), .. "k"u8, .. U64(0)], [.. U64(0)])] },
        { "reads recorded", [.. U64(1), .. "m"u8, .. U64(0), .. U64(1), .. U64(0), .. U64(0)] },
        { "huge write count", [.. U64(1), .. "m"u8, .. U64(0), .. U64(0), .. U64(ulong.MaxValue)] },
        { "huge key length", [.. Map("m", [.. U64(1), .. U64(ulong.MaxValue - 3), .. "k"u8], [])] },
        { "keys out of order", [.. Map("m", [.. U64(2), .. Kv("b"), .. Kv("a")], [.. U64(0)])] },
        { "repeated key", [.. Map("m", [.. U64(2), .. Kv("a"), .. Kv("a")], [.. U64(0)])] },
        { "written and removed", [.. Map("m", [.. U64(1), .. Kv("a")], [.. U64(1), .. U64(1), .. "a"u8])] },
        { "empty map", [.. Map("m", [.. U64(0)], [.. U64(0)])] },
        { "maps out of order", [.. Map("n", [.. U64(1), .. Kv("a")], [.. U64(0)]), .. Map("m", [.. U64(1), .. Kv("a")], [.. U64(0)])] },
        { "invalid UTF-8 name", [.. U64(1), 0xFF, .. U64(0), .. U64(0), .. U64(1), .. Kv("a"), .. U64(0)] },
    };

    [Theory]
    [MemberData(nameof(NonCanonical))]
    public void DecodeDomain_RejectsNonCanonicalOrDamagedBytes(string what, byte[] bytes)
    {
        bool decoded = WriteSetCodec.TryDecodeDomain(bytes, SecurityDomain.Private, new WriteSetBuilder(), out string? error, out _);

        Assert.False(decoded, what);
        Assert.False(string.IsNullOrEmpty(error));
    }

    private static byte[] U64(ulong value)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return bytes;
    }

    private static byte[] Kv(string key) => [.. U64((ulong)key.Length), .. Encoding.UTF8.GetBytes(key), .. U64(1), (byte)'v'];

    private static byte[] Map(string name, byte[] writes, byte[] removes) =>
        [.. U64((ulong)Encoding.UTF8.GetByteCount(name)), .. Encoding.UTF8.GetBytes(name), .. U64(0), .. U64(0), .. writes, .. removes];
}
