using System.Security.Cryptography;

namespace Confide.Ledger.Recovery.Tests;

/// <summary>
/// End to end: five recovery members with RSA-2048 keys, threshold three; members decrypt their own
/// shares, any three recover the exact ledger secret, two do not, and altered or foreign shares are refused.
/// </summary>
public sealed class RecoveryTests
{
    private const int Threshold = 3;

    private static readonly RSA[] MemberKeys = [.. Enumerable.Range(0, 5).Select(_ => RSA.Create(2048))];

    private static readonly RecoveryMember[] Members =
        [.. MemberKeys.Select((key, i) => new RecoveryMember($"member{i}", key.ExportSubjectPublicKeyInfoPem()))];

    [Fact]
    public void AnyThreeMembers_RecoverTheExactLedgerSecret()
    {
        byte[] ledgerSecret = RandomNumberGenerator.GetBytes(32);
        RecoveryIssuance issuance = RecoveryShares.Issue(ledgerSecret, Members, Threshold);
        byte[][] decrypted = DecryptAll(issuance);

        Assert.Equal(Threshold, issuance.Threshold);
        Assert.Equal([1u, 2, 3, 4, 5], issuance.Shares.Select(s => s.X));
        Assert.All(issuance.Shares, s => Assert.Equal(256, s.EncryptedShare.Length));

        foreach (int[] trio in Trios(5))
        {
            using var session = new RecoverySession(issuance);
            Assert.Equal(3, session.StillNeeded);
            Assert.Equal(2, session.Submit(decrypted[trio[0]]));
            Assert.Equal(1, session.Submit(decrypted[trio[1]]));
            Assert.Equal(0, session.Submit(decrypted[trio[2]]));

            Assert.True(session.IsComplete);
            Assert.Equal(ledgerSecret, session.RecoverLedgerSecret());
        }
    }

    [Fact]
    public void TwoMembers_DoNotRecover()
    {
        byte[] ledgerSecret = RandomNumberGenerator.GetBytes(32);
        RecoveryIssuance issuance = RecoveryShares.Issue(ledgerSecret, Members, Threshold);
        byte[][] decrypted = DecryptAll(issuance);

        using var session = new RecoverySession(issuance);
        session.Submit(decrypted[0]);
        session.Submit(decrypted[3]);

        Assert.Equal(1, session.StillNeeded);
        Assert.False(session.IsComplete);
        Assert.Equal(RecoveryError.NotEnoughShares, Assert.Throws<RecoveryException>(session.RecoverLedgerSecret).Error);

        // Interpolating the two as if the threshold were two gives a key that does not unwrap.
        using Share a = Share.Parse(decrypted[0]);
        using Share b = Share.Parse(decrypted[3]);
        using SharingSecret guess = SecretSharing.Combine([a, b], 2);
        RecoveryException e = Assert.Throws<RecoveryException>(() => LedgerSecretWrapping.Unwrap(WrappingKey.Derive(guess), issuance.WrappedLedgerSecret.Span));
        Assert.Equal(RecoveryError.UnwrapFailed, e.Error);
    }

    [Fact]
    public void AlteredShare_IsRefusedOnSubmission()
    {
        RecoveryIssuance issuance = RecoveryShares.Issue(RandomNumberGenerator.GetBytes(32), Members, Threshold);
        byte[][] decrypted = DecryptAll(issuance);
        using var session = new RecoverySession(issuance);

        for (int i = 4; i < Share.SerializedSize; i += 4)
        {
            byte[] altered = (byte[])decrypted[1].Clone();
            altered[i] ^= 0x01; // stays below p: the low bit of a limb
            Assert.Equal(RecoveryError.NotOfThisIssuance, Assert.Throws<RecoveryException>(() => session.Submit(altered)).Error);
        }

        byte[] otherIndex = (byte[])decrypted[1].Clone();
        otherIndex[0] = 3; // share 2's limbs presented as share 3
        Assert.Equal(RecoveryError.NotOfThisIssuance, Assert.Throws<RecoveryException>(() => session.Submit(otherIndex)).Error);

        byte[] outOfRange = (byte[])decrypted[1].Clone();
        outOfRange[7] |= 0x80; // a limb at least 2^31
        Assert.Equal(RecoveryError.MalformedShare, Assert.Throws<RecoveryException>(() => session.Submit(outOfRange)).Error);

        Assert.Equal(RecoveryError.NotOfThisIssuance, Assert.Throws<RecoveryException>(() => session.Submit(SixthShare(decrypted))).Error);
        Assert.Equal(0, session.SubmittedCount);
    }

    [Fact]
    public void ShareOfAnotherIssuance_IsRefused_AndTheSessionStillRecovers()
    {
        byte[] ledgerSecret = RandomNumberGenerator.GetBytes(32);
        RecoveryIssuance issuance = RecoveryShares.Issue(ledgerSecret, Members, Threshold);
        RecoveryIssuance reissued = RecoveryShares.Issue(ledgerSecret, Members, Threshold);
        byte[][] current = DecryptAll(issuance);
        byte[][] stale = DecryptAll(reissued);

        using var session = new RecoverySession(issuance);
        session.Submit(current[0]);
        RecoveryException e = Assert.Throws<RecoveryException>(() => session.Submit(stale[1]));
        Assert.Equal(RecoveryError.NotOfThisIssuance, e.Error);

        session.Submit(current[1]);
        session.Submit(current[2]);
        Assert.Equal(ledgerSecret, session.RecoverLedgerSecret());
    }

    [Fact]
    public void Session_RefusesDuplicates_MalformedBytes_AndSharesPastTheThreshold()
    {
        RecoveryIssuance issuance = RecoveryShares.Issue(RandomNumberGenerator.GetBytes(32), Members, Threshold);
        byte[][] decrypted = DecryptAll(issuance);
        using var session = new RecoverySession(issuance);

        session.Submit(decrypted[4]);
        Assert.Equal(RecoveryError.DuplicateShare, Assert.Throws<RecoveryException>(() => session.Submit(decrypted[4])).Error);
        Assert.Equal(RecoveryError.MalformedShare, Assert.Throws<RecoveryException>(() => session.Submit(decrypted[3].AsSpan(0, 43))).Error);
        Assert.Equal(RecoveryError.MalformedShare, Assert.Throws<RecoveryException>(() => session.Submit([])).Error);
        Assert.Equal(1, session.SubmittedCount);

        session.Submit(decrypted[3]);
        session.Submit(decrypted[2]);
        Assert.Equal(RecoveryError.AlreadyComplete, Assert.Throws<RecoveryException>(() => session.Submit(decrypted[1])).Error);
    }

    [Fact]
    public void AlteredWrappedLedgerSecret_FailsOnTheGcmTag()
    {
        RecoveryIssuance issued = RecoveryShares.Issue(RandomNumberGenerator.GetBytes(32), Members, Threshold);
        byte[] wrapped = issued.WrappedLedgerSecret.ToArray();
        wrapped[40] ^= 0x80;
        var altered = new RecoveryIssuance(issued.IssuanceId, issued.Threshold, wrapped, issued.Shares);

        byte[][] decrypted = DecryptAll(issued);
        using var session = new RecoverySession(altered);
        session.Submit(decrypted[0]);
        session.Submit(decrypted[1]);
        session.Submit(decrypted[2]);

        Assert.Equal(RecoveryError.UnwrapFailed, Assert.Throws<RecoveryException>(session.RecoverLedgerSecret).Error);
    }

    [Fact]
    public void DecryptShare_RefusesAnotherMembersKey_AndAlteredCiphertext()
    {
        RecoveryIssuance issuance = RecoveryShares.Issue(RandomNumberGenerator.GetBytes(32), Members, Threshold);
        byte[] encrypted = issuance.ShareFor("member0").EncryptedShare.ToArray();

        Assert.Equal(44, RecoveryShares.DecryptShare(encrypted, MemberKeys[0]).Length);
        Assert.Equal(44, RecoveryShares.DecryptShare(encrypted, MemberKeys[0].ExportPkcs8PrivateKeyPem()).Length);
        Assert.Equal(RecoveryError.ShareDecryptionFailed, Assert.Throws<RecoveryException>(() => RecoveryShares.DecryptShare(encrypted, MemberKeys[1])).Error);

        encrypted[100] ^= 0x01;
        Assert.Equal(RecoveryError.ShareDecryptionFailed, Assert.Throws<RecoveryException>(() => RecoveryShares.DecryptShare(encrypted, MemberKeys[0])).Error);

        Assert.Equal(RecoveryError.InvalidMemberKey, Assert.Throws<RecoveryException>(() => RecoveryShares.DecryptShare(encrypted, "not a key")).Error);
        Assert.Equal(RecoveryError.UnknownMember, Assert.Throws<RecoveryException>(() => issuance.ShareFor("member9")).Error);
    }

    [Fact]
    public void EncryptedShares_AreOaepSha256_OfTheSerialisedShare()
    {
        RecoveryIssuance issuance = RecoveryShares.Issue(RandomNumberGenerator.GetBytes(32), Members, Threshold);
        for (int i = 0; i < Members.Length; i++)
        {
            byte[] plain = MemberKeys[i].Decrypt(issuance.Shares[i].EncryptedShare.Span, RSAEncryptionPadding.OaepSHA256);
            using Share share = Share.Parse(plain);
            Assert.Equal((uint)(i + 1), share.X);
        }
    }

    [Fact]
    public void Issue_RefusesBadMembersAndThresholds()
    {
        byte[] ledgerSecret = RandomNumberGenerator.GetBytes(32);
        using var weak = RSA.Create(1024);
        using var ec = ECDsa.Create();

        Assert.Equal(RecoveryError.WeakMemberKey, IssueError([Members[0], new RecoveryMember("weak", weak.ExportSubjectPublicKeyInfoPem())]));
        Assert.Equal(RecoveryError.InvalidMemberKey, IssueError([Members[0], new RecoveryMember("ec", ec.ExportSubjectPublicKeyInfoPem())]));
        Assert.Equal(RecoveryError.InvalidMemberKey, IssueError([Members[0], new RecoveryMember("garbage", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")]));
        Assert.Equal(RecoveryError.InvalidMemberKey, IssueError([Members[0], new RecoveryMember("private", MemberKeys[1].ExportPkcs8PrivateKeyPem())]));
        Assert.Equal(RecoveryError.InvalidMemberKey, IssueError([Members[0], new RecoveryMember("text", "hello")]));
        Assert.Equal(RecoveryError.InvalidMembers, IssueError([Members[0], Members[0] with { EncryptionPublicKeyPem = Members[1].EncryptionPublicKeyPem }]));
        Assert.Equal(RecoveryError.InvalidMembers, IssueError([Members[0], Members[1] with { Id = "" }]));
        Assert.Equal(RecoveryError.InvalidMembers, IssueError([]));

        Assert.Equal(SecretSharingError.InvalidThreshold, Assert.Throws<SecretSharingException>(() => RecoveryShares.Issue(ledgerSecret, Members, 6)).Error);
        Assert.Equal(SecretSharingError.InvalidThreshold, Assert.Throws<SecretSharingException>(() => RecoveryShares.Issue(ledgerSecret, Members, 0)).Error);
        Assert.Throws<ArgumentException>(() => RecoveryShares.Issue(new byte[16], Members, Threshold));

        RecoveryError IssueError(RecoveryMember[] members) =>
            Assert.Throws<RecoveryException>(() => RecoveryShares.Issue(ledgerSecret, members, 1)).Error;
    }

    [Fact]
    public void RsaPublicKeyInPkcs1Pem_IsAccepted()
    {
        byte[] ledgerSecret = RandomNumberGenerator.GetBytes(32);
        RecoveryMember pkcs1 = new("pkcs1", MemberKeys[0].ExportRSAPublicKeyPem());

        RecoveryIssuance issuance = RecoveryShares.Issue(ledgerSecret, [pkcs1], 1);
        using var session = new RecoverySession(issuance);
        session.Submit(RecoveryShares.DecryptShare(issuance.Shares[0].EncryptedShare.Span, MemberKeys[0]));

        Assert.Equal(ledgerSecret, session.RecoverLedgerSecret());
    }

    private static byte[][] DecryptAll(RecoveryIssuance issuance) =>
        [.. Members.Select((m, i) => RecoveryShares.DecryptShare(issuance.ShareFor(m.Id).EncryptedShare.Span, MemberKeys[i]))];

    /// <summary>A well-formed share with an index no member was issued (x = 6 of 5).</summary>
    private static byte[] SixthShare(byte[][] decrypted)
    {
        byte[] sixth = (byte[])decrypted[0].Clone();
        sixth[0] = 6;
        return sixth;
    }

    private static IEnumerable<int[]> Trios(int n)
    {
        for (int a = 0; a < n; a++)
        {
            for (int b = a + 1; b < n; b++)
            {
                for (int c = b + 1; c < n; c++)
                {
                    yield return [c, a, b];
                }
            }
        }
    }
}
