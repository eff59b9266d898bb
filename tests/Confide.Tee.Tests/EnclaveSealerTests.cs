using System.Buffers.Binary;
using System.Security.Cryptography;
using Confide.Tee.Sealing;
using Confide.Tee.Simulation;
using Confide.Tee.Tests.Support;

namespace Confide.Tee.Tests;

/// <summary>
/// <see cref="EnclaveSealer"/> on the simulation back-end: round trips, the identity rules of the
/// two policies, and that every damaged or foreign blob fails with a typed
/// <see cref="SealingException"/> naming the right reason.
/// </summary>
public sealed class EnclaveSealerTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    // Blob layout v1 (EnclaveSealer remarks): "CSLD" | u8 version | u8 policy | u16 svn |
    // 32 key id | 12 nonce | 16 key check | u32 length | ciphertext | 16 tag.
    private const int VersionOffset = 4;
    private const int PolicyOffset = 5;
    private const int SvnOffset = 6;
    private const int KeyIdOffset = 8;
    private const int NonceOffset = 40;
    private const int KeyCheckOffset = 52;
    private const int LengthOffset = 68;
    private const int HeaderSize = 72;

    private static readonly byte[] Secret = "the model weights key"u8.ToArray();

    public static TheoryData<SealPolicy> Policies => new(SealPolicy.Unique, SealPolicy.Product);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(1024 * 1024)]
    public void ByteArrayOverloads_RoundTrip(int length)
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());
        byte[] plaintext = RandomNumberGenerator.GetBytes(length);

        byte[] blob = sealer.Seal(plaintext);

        Assert.Equal(length + EnclaveSealer.Overhead, blob.Length);
        Assert.Equal(EnclaveSealer.GetSealedLength(length), blob.Length);
        Assert.Equal(plaintext, sealer.Unseal(blob));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(13)]
    [InlineData(1024 * 1024)]
    public void SpanOverloads_RoundTrip_AndReportTheLengthsWritten(int length)
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());
        byte[] plaintext = RandomNumberGenerator.GetBytes(length);
        byte[] blob = new byte[EnclaveSealer.GetSealedLength(length) + 10]; // larger than needed is fine

        int written = sealer.Seal(plaintext, SealPolicy.Unique, default, blob.AsSpan());
        byte[] opened = new byte[length + 5];
        int read = sealer.Unseal(blob.AsSpan(0, written), default, opened.AsSpan());

        Assert.Equal(EnclaveSealer.GetSealedLength(length), written);
        Assert.Equal(length, read);
        Assert.Equal(plaintext, opened[..read]);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(4096)] // beyond the stack buffer for header + associated data
    public void AssociatedData_RoundTrips_AndMustBeGivenAgainExactly(int aadLength)
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());
        byte[] associatedData = RandomNumberGenerator.GetBytes(aadLength);
        byte[] blob = sealer.Seal(Secret, SealPolicy.Product, associatedData);

        Assert.Equal(Secret, sealer.Unseal(blob, associatedData));

        byte[] wrong = (byte[])associatedData.Clone();
        wrong[^1] ^= 1;
        Assert.Equal(SealingError.Tampered, UnsealError(sealer, blob, wrong));
        Assert.Equal(SealingError.Tampered, UnsealError(sealer, blob, associatedData[..^1]));
        Assert.Equal(SealingError.Tampered, UnsealError(sealer, blob, []));
    }

    [Fact]
    public void AssociatedData_GivenOnlyAtUnseal_IsTampering()
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());

        Assert.Equal(SealingError.Tampered, UnsealError(sealer, sealer.Seal(Secret), "unexpected"u8.ToArray()));
    }

    [Fact]
    public void DefaultPolicy_IsProduct()
    {
        byte[] blob = Sealer(Identities.Simulated()).Seal(Secret);

        Assert.Equal((byte)SealPolicy.Product, blob[PolicyOffset]);

        // And it behaves as Product: another enclave build of the same product opens it.
        Assert.Equal(Secret, Sealer(Identities.Simulated(enclave: "enclave-b")).Unseal(blob));
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void Header_RecordsMagicVersionPolicySvnAndLength(SealPolicy policy)
    {
        byte[] blob = Sealer(Identities.Simulated(securityVersion: 0x0203)).Seal(Secret, policy);

        Assert.Equal("CSLD"u8.ToArray(), blob[..4]);
        Assert.Equal(EnclaveSealer.FormatVersion, blob[VersionOffset]);
        Assert.Equal((byte)policy, blob[PolicyOffset]);
        Assert.Equal(0x0203, BinaryPrimitives.ReadUInt16LittleEndian(blob.AsSpan(SvnOffset)));
        Assert.Equal((uint)Secret.Length, BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(LengthOffset)));
        Assert.Equal(HeaderSize, EnclaveSealer.HeaderSize);
    }

    [Fact]
    public void SealingTwice_GivesDifferentBlobs_WithFreshKeyIdAndNonce()
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());

        byte[] first = sealer.Seal(Secret);
        byte[] second = sealer.Seal(Secret);

        Assert.NotEqual(first.AsSpan(KeyIdOffset, 32).ToArray(), second.AsSpan(KeyIdOffset, 32).ToArray());
        Assert.NotEqual(first.AsSpan(NonceOffset, 12).ToArray(), second.AsSpan(NonceOffset, 12).ToArray());
        Assert.NotEqual(first.AsSpan(HeaderSize).ToArray(), second.AsSpan(HeaderSize).ToArray());
        Assert.Equal(sealer.Unseal(first), sealer.Unseal(second));
    }

    [Fact]
    public void UniqueBlob_OpensForTheSameMrEnclave_OnlyThere()
    {
        byte[] blob = Sealer(Identities.Simulated(enclave: "enclave-a")).Seal(Secret, SealPolicy.Unique);

        Assert.Equal(Secret, Sealer(Identities.Simulated(enclave: "enclave-a")).Unseal(blob));
        Assert.Equal(SealingError.WrongIdentity, UnsealError(Sealer(Identities.Simulated(enclave: "enclave-b")), blob));
    }

    [Fact]
    public void ProductBlob_OpensForANewerEnclaveOfTheSameSignerAndProduct()
    {
        byte[] blob = Sealer(Identities.Simulated(enclave: "v3", securityVersion: 3)).Seal(Secret, SealPolicy.Product);

        Assert.Equal(Secret, Sealer(Identities.Simulated(enclave: "v4", securityVersion: 4)).Unseal(blob));
        Assert.Equal(Secret, Sealer(Identities.Simulated(enclave: "v3-rebuilt", securityVersion: 3)).Unseal(blob));
    }

    [Fact]
    public void ProductBlob_DoesNotOpenForAnotherSignerOrProduct()
    {
        byte[] blob = Sealer(Identities.Simulated(signer: "signer-a", productId: 7)).Seal(Secret, SealPolicy.Product);

        Assert.Equal(SealingError.WrongIdentity, UnsealError(Sealer(Identities.Simulated(signer: "signer-b", productId: 7)), blob));
        Assert.Equal(SealingError.WrongIdentity, UnsealError(Sealer(Identities.Simulated(signer: "signer-a", productId: 8)), blob));
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void BlobSealedAtSvn3_DoesNotOpenAtSvn2(SealPolicy policy)
    {
        byte[] blob = Sealer(Identities.Simulated(securityVersion: 3)).Seal(Secret, policy);

        Assert.Equal(SealingError.SecurityVersionTooNew, UnsealError(Sealer(Identities.Simulated(securityVersion: 2)), blob));
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void BlobFromAnotherPlatform_IsWrongIdentity(SealPolicy policy)
    {
        using var temp = new TempDirectory();
        using SimulatedPlatform otherPlatform = SimulatedPlatform.OpenOrCreate(temp.Combine("state"));
        byte[] blob = new EnclaveSealer(new SimulationTee(otherPlatform, Identities.Simulated())).Seal(Secret, policy);

        Assert.Equal(SealingError.WrongIdentity, UnsealError(Sealer(Identities.Simulated()), blob));
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void FlippingAnyBitOfTheBlob_FailsWithTheErrorOfThatRegion(SealPolicy policy)
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated(securityVersion: 3));
        byte[] blob = sealer.Seal("small"u8, policy, "context"u8);
        Assert.Equal(HeaderSize + 5 + 16, blob.Length);

        for (int position = 0; position < blob.Length; position++)
        {
            foreach (byte mask in new byte[] { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF })
            {
                byte[] damaged = (byte[])blob.Clone();
                damaged[position] ^= mask;

                SealingError error = UnsealError(sealer, damaged, "context"u8.ToArray());

                SealingError[] allowed = ExpectedErrors(position, damaged);
                Assert.True(allowed.Contains(error), $"Byte {position} ^ 0x{mask:X2}: got {error}, expected one of {string.Join(", ", allowed)}.");
            }
        }
    }

    [Fact]
    public void SvnFieldRaised_IsSecurityVersionTooNew_AndLowered_IsWrongIdentity()
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated(securityVersion: 3));
        byte[] blob = sealer.Seal(Secret);

        byte[] raised = (byte[])blob.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(raised.AsSpan(SvnOffset), 4);
        byte[] lowered = (byte[])blob.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(lowered.AsSpan(SvnOffset), 2);

        Assert.Equal(SealingError.SecurityVersionTooNew, UnsealError(sealer, raised));
        Assert.Equal(SealingError.WrongIdentity, UnsealError(sealer, lowered));
    }

    [Fact]
    public void PolicyFieldSwapped_IsWrongIdentity_AndUnknown_IsUnsupportedPolicy()
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());
        byte[] blob = sealer.Seal(Secret, SealPolicy.Unique);

        byte[] swapped = (byte[])blob.Clone();
        swapped[PolicyOffset] = (byte)SealPolicy.Product;
        byte[] unknown = (byte[])blob.Clone();
        unknown[PolicyOffset] = 3;

        Assert.Equal(SealingError.WrongIdentity, UnsealError(sealer, swapped));
        Assert.Equal(SealingError.UnsupportedPolicy, UnsealError(sealer, unknown));
    }

    [Fact]
    public void TruncatingAtEveryLength_IsTruncated()
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());
        byte[] blob = sealer.Seal("small"u8);

        for (int length = 0; length < blob.Length; length++)
        {
            SealingError error = UnsealError(sealer, blob[..length]);
            Assert.True(error is SealingError.Truncated or SealingError.UnknownFormat, $"Length {length}: {error}");
        }

        Assert.Equal(SealingError.Truncated, UnsealError(sealer, [.. blob, 0]));
    }

    [Fact]
    public void RandomGarbage_FailsWithASealingException()
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());
        var random = new Random(20240601);

        for (int i = 0; i < 500; i++)
        {
            byte[] garbage = new byte[random.Next(0, 200)];
            random.NextBytes(garbage);
            if (i % 2 == 0 && garbage.Length >= HeaderSize)
            {
                // Half of them get past the cheap checks: right magic, version, policy and length.
                "CSLD"u8.CopyTo(garbage);
                garbage[VersionOffset] = 1;
                garbage[PolicyOffset] = (byte)(1 + (i % 4 == 0 ? 1 : 0));
                garbage[SvnOffset] = 0;
                garbage[SvnOffset + 1] = 0;
                BinaryPrimitives.WriteUInt32LittleEndian(garbage.AsSpan(LengthOffset), (uint)Math.Max(0, garbage.Length - EnclaveSealer.Overhead));
            }

            UnsealError(sealer, garbage);
        }
    }

    [Fact]
    public void HugeDeclaredLength_IsTruncated_NotAnOverflow()
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());
        byte[] blob = sealer.Seal(Secret);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(LengthOffset), uint.MaxValue);

        Assert.Equal(SealingError.Truncated, UnsealError(sealer, blob));
    }

    [Fact]
    public void SealIntoATooSmallDestination_IsInvalidLength()
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());
        byte[] destination = new byte[EnclaveSealer.GetSealedLength(Secret.Length) - 1];

        SealingException error = Assert.Throws<SealingException>(() => sealer.Seal(Secret, SealPolicy.Product, default, destination.AsSpan()));

        Assert.Equal(SealingError.InvalidLength, error.Error);
    }

    [Fact]
    public void UnsealIntoATooSmallDestination_IsInvalidLength()
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());
        byte[] blob = sealer.Seal(Secret);
        byte[] destination = new byte[Secret.Length - 1];

        SealingException error = Assert.Throws<SealingException>(() => sealer.Unseal(blob, default, destination.AsSpan()));

        Assert.Equal(SealingError.InvalidLength, error.Error);
    }

    [Fact]
    public void SealWithAnUnknownPolicy_IsUnsupportedPolicy()
    {
        SealingException error = Assert.Throws<SealingException>(() => Sealer(Identities.Simulated()).Seal(Secret, (SealPolicy)9));

        Assert.Equal(SealingError.UnsupportedPolicy, error.Error);
    }

    [Fact]
    public void TryUnseal_ReturnsThePlaintext_OrFalseWithTheError()
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());
        byte[] blob = sealer.Seal(Secret, SealPolicy.Product, "aad"u8);

        Assert.True(sealer.TryUnseal(blob, "aad"u8, out byte[]? plaintext, out SealingError? noError));
        Assert.Equal(Secret, plaintext);
        Assert.Null(noError);

        Assert.False(sealer.TryUnseal(blob, "other"u8, out byte[]? none, out SealingError? error));
        Assert.Null(none);
        Assert.Equal(SealingError.Tampered, error);

        Assert.False(sealer.TryUnseal(blob.AsSpan(0, 10), "aad"u8, out _, out SealingError? truncated));
        Assert.Equal(SealingError.Truncated, truncated);
    }

    [Fact]
    public void TamperedUnseal_LeavesNoPlaintextInTheDestination()
    {
        EnclaveSealer sealer = Sealer(Identities.Simulated());
        byte[] blob = sealer.Seal(Secret);
        blob[^1] ^= 1; // tag
        byte[] destination = new byte[Secret.Length];

        Assert.Throws<SealingException>(() => sealer.Unseal(blob, default, destination.AsSpan()));

        Assert.Equal(new byte[Secret.Length], destination);
    }

    [Fact]
    public void Constructor_RefusesNull()
    {
        Assert.Throws<ArgumentNullException>(() => new EnclaveSealer(null!));
    }

    /// <summary>
    /// Which errors a blob damaged at <paramref name="position"/> may give, by the field there.
    /// </summary>
    private static SealingError[] ExpectedErrors(int position, byte[] damaged) => position switch
    {
        < VersionOffset => [SealingError.UnknownFormat],
        VersionOffset => [SealingError.UnsupportedVersion],
        // Another known policy derives another key; an unknown one is refused outright.
        PolicyOffset => damaged[PolicyOffset] is 1 or 2 ? [SealingError.WrongIdentity] : [SealingError.UnsupportedPolicy],
        // A raised SVN is above the enclave's; a lowered one derives another key.
        < KeyIdOffset => BinaryPrimitives.ReadUInt16LittleEndian(damaged.AsSpan(SvnOffset)) > 3
            ? [SealingError.SecurityVersionTooNew]
            : [SealingError.WrongIdentity],
        < NonceOffset => [SealingError.WrongIdentity],
        < KeyCheckOffset => [SealingError.Tampered],
        < LengthOffset => [SealingError.WrongIdentity],
        < HeaderSize => [SealingError.Truncated],
        _ => [SealingError.Tampered], // ciphertext and tag
    };

    /// <summary>Unseals expecting failure; any outcome other than a <see cref="SealingException"/> fails the test.</summary>
    private static SealingError UnsealError(EnclaveSealer sealer, byte[] blob, byte[]? associatedData = null)
    {
        byte[]? opened = null;
        try
        {
            opened = sealer.Unseal(blob, associatedData);
        }
        catch (SealingException ex)
        {
            return ex.Error;
        }

        Assert.Fail($"A {blob.Length}-byte blob was expected to fail but unsealed to {opened!.Length} bytes.");
        return default;
    }

    private EnclaveSealer Sealer(TeeIdentity identity) => new(fixture.Tee(identity));
}
