namespace Confide.Ledger.Consensus.Tests;

/// <summary>The engine-entry format of grouped appends: round trip, and every malformed shape refused.</summary>
public sealed class AppendBatchTests
{
    [Fact]
    public void Payloads_round_trip_in_order_including_empty_ones()
    {
        ReadOnlyMemory<byte>[] payloads = ["first"u8.ToArray(), ReadOnlyMemory<byte>.Empty, new byte[70_000]];
        byte[] content = AppendBatch.Encode(payloads);

        List<ReadOnlyMemory<byte>> decoded = AppendBatch.Decode(content, 7);

        Assert.Equal(payloads.Select(p => p.ToArray()), decoded.Select(p => p.ToArray()));
    }

    [Fact]
    public void Every_truncation_and_a_trailing_byte_are_refused()
    {
        byte[] content = AppendBatch.Encode(["one"u8.ToArray(), "two"u8.ToArray()]);
        for (int length = 0; length < content.Length; length++)
        {
            Assert.Throws<InvalidDataException>(() => AppendBatch.Decode(content.AsMemory(0, length), 3));
        }

        Assert.Throws<InvalidDataException>(() => AppendBatch.Decode(content.Append((byte)0).ToArray(), 3));
    }

    [Fact]
    public void A_wrong_version_or_an_overlong_count_or_length_is_refused_with_the_index()
    {
        byte[] content = AppendBatch.Encode(["payload"u8.ToArray()]);

        byte[] version = [.. content];
        version[0] = 2;
        Assert.Contains("index 9", Assert.Throws<InvalidDataException>(() => AppendBatch.Decode(version, 9)).Message);

        byte[] count = [.. content];
        count[1] = 0xFF;
        count[4] = 0xFF;
        Assert.Throws<InvalidDataException>(() => AppendBatch.Decode(count, 9));

        byte[] length = [.. content];
        length[8] = 0x7F;
        Assert.Throws<InvalidDataException>(() => AppendBatch.Decode(length, 9));
    }
}
