using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Confide.Ledger.Kv;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Tests.Ledger;

/// <summary>
/// <see cref="LedgerEntry"/>: the byte layout, round trips with and without the secret, that private
/// data never appears in the clear, and that every damaged, foreign or garbage input is refused with a
/// <see cref="LedgerFormatException"/> and nothing else.
/// </summary>
public sealed class LedgerEntryTests : IDisposable
{
    private static readonly TxId Id = new(3, 17);
    private static readonly byte[] PrivateKeyMarker = "private-key-7f3a9c"u8.ToArray();
    private static readonly byte[] PrivateValueMarker = "private-value-91be44"u8.ToArray();

    private readonly LedgerSecret _secret = LedgerSecret.Generate();

    private static WriteSet SampleWriteSet() => new WriteSetBuilder()
        .Put("records", PrivateKeyMarker, PrivateValueMarker)
        .Remove("records", "old-private"u8)
        .Put("public:records", "42"u8, "public value"u8)
        .Remove("public:records", "41"u8)
        .Build();

    [Fact]
    public void Create_ThenParseWithSecret_RoundTrips()
    {
        WriteSet writeSet = SampleWriteSet();
        Sha256Hash claims = Sha256Hash.Compute("claims"u8);

        LedgerEntry created = LedgerEntry.Create(Id, writeSet, _secret, claims, EntryFlags.ForceChunkAfter);
        LedgerEntry parsed = LedgerEntry.Parse(created.Bytes, _secret);

        Assert.Equal(Id, parsed.TxId);
        Assert.Equal(EntryFlags.ForceChunkAfter, parsed.Flags);
        Assert.Equal(EntryType.WriteSetWithCommitEvidenceAndClaims, parsed.EntryType);
        Assert.Equal(claims, parsed.ClaimsDigest);
        Assert.True(parsed.IsPrivateDomainDecrypted);
        Assert.Equal(CommitEvidence.Create(_secret, Id).Value, parsed.CommitEvidence!.Value);
        Assert.Equal(created.CommitEvidenceDigest, parsed.CommitEvidenceDigest);
        foreach (SecurityDomain domain in Enum.GetValues<SecurityDomain>())
        {
            Assert.Equal(WriteSetCodec.EncodeDomain(writeSet, domain), WriteSetCodec.EncodeDomain(parsed.WriteSet, domain));
        }

        Assert.Equal(created.ComputeLeaf(), parsed.ComputeLeaf());
        Assert.Equal(parsed.GetLeafComponents().ComputeLeaf(), parsed.ComputeLeaf());
    }

    [Fact]
    public void Parse_WithoutSecret_ReadsThePublicMapsOnly()
    {
        LedgerEntry created = LedgerEntry.Create(Id, SampleWriteSet(), _secret);

        LedgerEntry parsed = LedgerEntry.Parse(created.Bytes);

        Assert.False(parsed.IsPrivateDomainDecrypted);
        Assert.Null(parsed.CommitEvidence);
        Assert.Equal(["public:records"], parsed.WriteSet.Maps.Select(map => map.Name));
        Assert.True(parsed.PrivateDomainLength > 0);
        Assert.Equal(created.ComputeLeaf(), parsed.ComputeLeaf()); // the leaf needs no secret
        Assert.Throws<InvalidOperationException>(() => parsed.GetLeafComponents());
    }

    [Fact]
    public void Bytes_HaveTheDocumentedLayout()
    {
        Sha256Hash claims = Sha256Hash.Compute("claims"u8);
        LedgerEntry entry = LedgerEntry.Create(Id, SampleWriteSet(), _secret, claims, EntryFlags.ForceChunkAfter);
        byte[] bytes = entry.Bytes.ToArray();
        ulong publicLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(36));
        byte[] publicMaps = WriteSetCodec.EncodeDomain(SampleWriteSet(), SecurityDomain.Public);
        byte[] privateMaps = WriteSetCodec.EncodeDomain(SampleWriteSet(), SecurityDomain.Private);

        Assert.Equal(1, bytes[0]);
        Assert.Equal((byte)EntryFlags.ForceChunkAfter, bytes[1]);
        Assert.Equal(bytes.Length - 8, ReadUInt48(bytes.AsSpan(2, 6)));
        Assert.Equal(17, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(24))); // IV: seqno
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(32)));  // IV: view
        Assert.Equal((ulong)(1 + 8 + 32 + 32 + 8 + publicMaps.Length), publicLength);
        Assert.Equal(4, bytes[44]); // WriteSetWithCommitEvidenceAndClaims
        Assert.Equal(17, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(45)));
        Assert.Equal(claims.ToArray(), bytes[53..85]);
        Assert.Equal(CommitEvidence.Create(_secret, Id).Digest.ToArray(), bytes[85..117]);
        Assert.Equal(new byte[8], bytes[117..125]);
        Assert.Equal(publicMaps, bytes[125..(44 + (int)publicLength)]);
        Assert.Equal(privateMaps.Length, bytes.Length - 44 - (int)publicLength);
        Assert.Equal(Sha256Hash.Compute(bytes), entry.WriteSetDigest);
    }

    [Fact]
    public void PrivateKeysAndValues_NeverAppearInTheClear()
    {
        byte[] bytes = LedgerEntry.Create(Id, SampleWriteSet(), _secret).Bytes.ToArray();

        Assert.Equal(-1, bytes.AsSpan().IndexOf(PrivateKeyMarker));
        Assert.Equal(-1, bytes.AsSpan().IndexOf(PrivateValueMarker));
        Assert.Equal(-1, bytes.AsSpan().IndexOf("old-private"u8));
        Assert.NotEqual(-1, bytes.AsSpan().IndexOf("public value"u8));
    }

    [Fact]
    public void EveryFlippedBit_IsRefusedWithTheSecret()
    {
        byte[] bytes = LedgerEntry.Create(Id, SampleWriteSet(), _secret).Bytes.ToArray();

        for (int position = 0; position < bytes.Length; position++)
        {
            byte[] damaged = (byte[])bytes.Clone();
            damaged[position] ^= 0x01;

            Assert.False(LedgerEntry.TryParse(damaged, _secret, out _, out LedgerFormatException? error), $"byte {position}");
            Assert.NotNull(error);
        }
    }

    [Fact]
    public void PublicOnlyEntry_IsStillAuthenticated()
    {
        WriteSet publicOnly = new WriteSetBuilder().Put("public:records", "k"u8, "public value"u8).Build();
        byte[] bytes = LedgerEntry.Create(Id, publicOnly, _secret).Bytes.ToArray();
        Assert.Equal(0, LedgerEntry.Parse(bytes, _secret).PrivateDomainLength);

        bytes[bytes.AsSpan().IndexOf("public value"u8)] ^= 0x20; // still well-formed, now "Public value"
        Assert.Equal("Public value"u8.ToArray(), LedgerEntry.Parse(bytes).WriteSet.Find("public:records")!.Writes[0].Value.ToArray());

        LedgerFormatException error = Assert.Throws<LedgerFormatException>(() => LedgerEntry.Parse(bytes, _secret));
        Assert.Equal(LedgerFormatError.AuthenticationFailed, error.Error);
        Assert.Equal(17, error.Seqno);
    }

    [Fact]
    public void TamperedPublicValue_WithoutSecret_ChangesTheLeaf()
    {
        LedgerEntry entry = LedgerEntry.Create(Id, SampleWriteSet(), _secret);
        byte[] bytes = entry.Bytes.ToArray();
        int position = bytes.AsSpan().IndexOf("public value"u8);
        bytes[position] ^= 0x20;

        LedgerEntry tampered = LedgerEntry.Parse(bytes);

        Assert.NotEqual(entry.ComputeLeaf(), tampered.ComputeLeaf());
    }

    [Fact]
    public void WrongSecret_IsAnAuthenticationFailure()
    {
        byte[] bytes = LedgerEntry.Create(Id, SampleWriteSet(), _secret).Bytes.ToArray();
        using var other = LedgerSecret.Generate();

        LedgerFormatException error = Assert.Throws<LedgerFormatException>(() => LedgerEntry.Parse(bytes, other));

        Assert.Equal(LedgerFormatError.AuthenticationFailed, error.Error);
    }

    [Fact]
    public void HugePublicLength_IsAnErrorNotAnAllocation()
    {
        byte[] bytes = LedgerEntry.Create(Id, SampleWriteSet(), _secret).Bytes.ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(36), ulong.MaxValue);

        LedgerFormatException error = Assert.Throws<LedgerFormatException>(() => LedgerEntry.Parse(bytes));

        Assert.Equal(LedgerFormatError.LengthOutOfRange, error.Error);
        Assert.Equal(36, error.Offset);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(43)]
    [InlineData(44)]
    [InlineData(60)]
    public void TruncatedEntry_IsRefused(int length)
    {
        byte[] bytes = LedgerEntry.Create(Id, SampleWriteSet(), _secret).Bytes[..length].ToArray();
        if (length >= 8)
        {
            bytes[2] = (byte)(length - 8); // keep the size field consistent: the cut is deeper than the header
            bytes[3] = bytes[4] = bytes[5] = bytes[6] = bytes[7] = 0;
        }

        Assert.Throws<LedgerFormatException>(() => LedgerEntry.Parse(bytes));
    }

    [Fact]
    public void RandomGarbageAndMutations_OnlyEverGiveLedgerFormatException()
    {
        var random = new Random(1234);
        byte[] valid = LedgerEntry.Create(Id, SampleWriteSet(), _secret).Bytes.ToArray();
        for (int round = 0; round < 3000; round++)
        {
            byte[] input = round % 3 == 0 ? RandomBytes(random, random.Next(0, 300)) : Mutate(random, valid);
            if (round % 5 == 0 && input.Length >= 8)
            {
                // make the size field agree so that parsing goes deeper
                byte[] size = new byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(size, input.Length - 8);
                size.AsSpan(0, 6).CopyTo(input.AsSpan(2));
                input[0] = 1;
            }

            try
            {
                LedgerEntry.Parse(input, round % 2 == 0 ? _secret : null);
            }
            catch (LedgerFormatException)
            {
            }
        }
    }

    [Fact]
    public void ViewBeyondTheIv_IsRefusedAtCreation()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LedgerEntry.Create(new TxId(0x8000_0000L, 1), WriteSet.Empty, _secret));
    }

    [Fact]
    public void IsSignature_WhenTheSignaturesMapIsWritten()
    {
        WriteSet signature = new WriteSetBuilder().Put(InternalMaps.Signatures, InternalMaps.SingletonKey, "{}"u8).Build();

        Assert.True(LedgerEntry.Create(Id, signature, _secret).IsSignature);
        Assert.False(LedgerEntry.Create(Id, SampleWriteSet(), _secret).IsSignature);
    }

    public void Dispose() => _secret.Dispose();

    private static long ReadUInt48(ReadOnlySpan<byte> bytes)
    {
        Span<byte> eight = stackalloc byte[8];
        bytes.CopyTo(eight);
        return BinaryPrimitives.ReadInt64LittleEndian(eight);
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Mutate(Random random, byte[] valid)
    {
        byte[] copy = valid[..random.Next(0, valid.Length + 1)];
        for (int i = random.Next(1, 4); i > 0 && copy.Length > 0; i--)
        {
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        }

        return copy;
    }
}

/// <summary><see cref="CommitEvidence"/>, <see cref="LedgerSecret"/> and <see cref="TxId"/>.</summary>
public sealed class CommitEvidenceTests
{
    [Fact]
    public void Evidence_IsCcfsHmacDerivation_InCcfsFormat()
    {
        byte[] raw = RandomNumberGenerator.GetBytes(32);
        using var secret = LedgerSecret.FromBytes(raw);

        CommitEvidence evidence = CommitEvidence.Create(secret, new TxId(2, 662));

        byte[] commitSecret = HMACSHA256.HashData(raw, "Commit S"u8);
        byte[] nonce = HMACSHA256.HashData(commitSecret, "2.662"u8);
        Assert.Equal($"ce:2.662:{Convert.ToHexStringLower(nonce)}", evidence.Value);
        Assert.Equal(Sha256Hash.Compute(Encoding.UTF8.GetBytes(evidence.Value)), evidence.Digest);
    }

    [Fact]
    public void Evidence_IsDeterministicPerTxId_AndOnlyTheSecretProducesIt()
    {
        using var secret = LedgerSecret.Generate();
        using var other = LedgerSecret.Generate();
        CommitEvidence evidence = CommitEvidence.Create(secret, new TxId(2, 5));

        Assert.Equal(evidence.Value, CommitEvidence.Create(secret, new TxId(2, 5)).Value);
        Assert.NotEqual(evidence.Value, CommitEvidence.Create(secret, new TxId(3, 5)).Value);
        Assert.True(CommitEvidence.Parse(evidence.Value).IsProducedBy(secret));
        Assert.False(evidence.IsProducedBy(other));
    }

    [Theory]
    [InlineData("ce:2.5:")]
    [InlineData("ce:2.5:e423779b5314e92b79852c7b17888752d5e61e4f1ef3e79d9a06ef25cbfe274")]
    [InlineData("ce:2.5:E423779B5314E92B79852C7B17888752D5E61E4F1EF3E79D9A06EF25CBFE2744")]
    [InlineData("ce:25:e423779b5314e92b79852c7b17888752d5e61e4f1ef3e79d9a06ef25cbfe2744")]
    [InlineData("xx:2.5:e423779b5314e92b79852c7b17888752d5e61e4f1ef3e79d9a06ef25cbfe2744")]
    public void Parse_RejectsMalformedEvidence(string value)
    {
        Assert.False(CommitEvidence.TryParse(value, out _));
    }

    [Fact]
    public void Secret_IsZeroedAndUnusableAfterDispose()
    {
        var secret = LedgerSecret.Generate();
        secret.Dispose();

        Assert.Throws<ObjectDisposedException>(() => secret.Export());
        Assert.Throws<ObjectDisposedException>(() => CommitEvidence.Create(secret, new TxId(1, 1)));
    }

    [Theory]
    [InlineData("2.23", 2, 23)]
    [InlineData("0.0", 0, 0)]
    [InlineData("9223372036854775807.1", long.MaxValue, 1)]
    public void TxId_ParsesAndFormats(string text, long view, long seqno)
    {
        TxId id = TxId.Parse(text);

        Assert.Equal(new TxId(view, seqno), id);
        Assert.Equal(text, id.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("2")]
    [InlineData("2.")]
    [InlineData(".3")]
    [InlineData("-2.3")]
    [InlineData("2.+3")]
    [InlineData(" 2.3")]
    [InlineData("2.3.4")]
    [InlineData("9223372036854775808.1")]
    public void TxId_RejectsMalformedText(string text)
    {
        Assert.False(TxId.TryParse(text, out _));
    }

    [Fact]
    public void TxId_OrdersByViewThenSeqno()
    {
        Assert.True(new TxId(2, 18) < new TxId(3, 16));
        Assert.True(new TxId(2, 17) < new TxId(2, 18));
        Assert.Equal([new TxId(1, 9), new TxId(2, 1), new TxId(2, 3)], new[] { new TxId(2, 3), new TxId(1, 9), new TxId(2, 1) }.Order());
    }
}
