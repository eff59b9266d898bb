using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using System.Text;
using Confide.Ledger.Governance.Requests;
using Confide.Ledger.Governance.Tests.Support;

namespace Confide.Ledger.Governance.Tests.Requests;

/// <summary><see cref="GovernanceRequest"/> and <see cref="GovernanceRequestSigner"/>: CCF's signed COSE_Sign1 governance requests.</summary>
public sealed class GovernanceRequestTests
{
    private static readonly DateTimeOffset CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1_760_000_000);

    public static TheoryData<string> Curves => ["P-256", "P-384"];

    [Theory]
    [MemberData(nameof(Curves))]
    public void SignedProposal_ParsesAndVerifies(string curve)
    {
        using TestMember member = TestMember.Create("member", curve == "P-256" ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
        const string proposal = """{"actions":[{"name":"set_recovery_threshold","args":{"recovery_threshold":1}}]}""";

        var request = GovernanceRequest.Parse(member.Signer.SignProposal(proposal, CreatedAt));
        request.Verify(member.CertificatePem);

        Assert.Equal(GovernanceMessageType.Proposal, request.MessageType);
        Assert.Equal(CreatedAt.ToUnixTimeSeconds(), request.CreatedAt);
        Assert.Equal(member.Id, request.MemberId);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(member.Certificate.RawData)), request.MemberId);
        Assert.Null(request.ProposalId);
        Assert.Equal(proposal, request.PayloadText);
    }

    [Fact]
    public void SignedBallot_CarriesItsProposalId_AndTheAlgorithmOfTheCurve()
    {
        using TestMember member = TestMember.Create("member", ECCurve.NamedCurves.nistP384);

        byte[] envelope = member.Signer.SignBallot("ab12", "export function vote() { return true; }", CreatedAt);
        var request = GovernanceRequest.Parse(envelope);

        Assert.Equal(GovernanceMessageType.Ballot, request.MessageType);
        Assert.Equal("ab12", request.ProposalId);
        Assert.Contains("\"ballot\"", request.PayloadText, StringComparison.Ordinal);
        CoseSign1Message message = CoseMessage.DecodeSign1(envelope);
        Assert.Equal(-35, message.ProtectedHeaders[CoseHeaderLabel.Algorithm].GetValueAsInt32()); // ES384
        Assert.Equal(Encoding.ASCII.GetBytes(member.Id), message.ProtectedHeaders[CoseHeaderLabel.KeyIdentifier].GetValueAsBytes());
        Assert.Equal("ballot", message.ProtectedHeaders[new CoseHeaderLabel("ccf.gov.msg.type")].GetValueAsString());
    }

    [Fact]
    public void TamperedPayload_FailsVerification()
    {
        using TestMember member = TestMember.Create("member");
        byte[] envelope = member.Signer.SignProposal("""{"actions":[{"name":"remove_user","args":{"user_id":"aa"}}]}""", CreatedAt);
        int at = IndexOf(envelope, "aa"u8);
        envelope[at] = (byte)'b';

        var request = GovernanceRequest.Parse(envelope);

        GovernanceException refused = Assert.Throws<GovernanceException>(() => request.Verify(member.CertificatePem));
        Assert.Equal(GovernanceErrorCode.InvalidSignature, refused.Code);
    }

    [Fact]
    public void RequestSignedWithAnotherKey_FailsVerification()
    {
        using TestMember member = TestMember.Create("member");
        using TestMember impostor = TestMember.Create("impostor");
        byte[] envelope = Sign(impostor.Key, member.Id, "proposal", CreatedAt.ToUnixTimeSeconds(), proposalId: null, "{}"u8.ToArray());

        var request = GovernanceRequest.Parse(envelope);

        Assert.Equal(member.Id, request.MemberId);
        GovernanceException refused = Assert.Throws<GovernanceException>(() => request.Verify(member.CertificatePem));
        Assert.Equal(GovernanceErrorCode.InvalidSignature, refused.Code);
        Assert.Contains("does not verify", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_RefusesACertificateOtherThanTheOneKidNames()
    {
        using TestMember member = TestMember.Create("member");
        using TestMember other = TestMember.Create("other");
        var request = GovernanceRequest.Parse(member.Signer.SignWithdrawal("ab12", CreatedAt));

        GovernanceException refused = Assert.Throws<GovernanceException>(() => request.Verify(other.CertificatePem));

        Assert.Equal(GovernanceErrorCode.InvalidSignature, refused.Code);
        Assert.Contains("kid", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RefusesWhatIsNotAGovernanceRequest()
    {
        using TestMember member = TestMember.Create("member");
        byte[] valid = member.Signer.SignProposal("{}", CreatedAt);

        AssertMalformed([1, 2, 3], "tagged COSE_Sign1");
        AssertMalformed(valid[1..], "tagged COSE_Sign1"); // the same message without its tag
        AssertMalformed(Sign(member.Key, member.Id, "proposal", createdAt: null, proposalId: null, []), "created_at");
        AssertMalformed(Sign(member.Key, member.Id, "ballot", CreatedAt.ToUnixTimeSeconds(), proposalId: null, []), "proposal_id");
        AssertMalformed(Sign(member.Key, member.Id, "vote", CreatedAt.ToUnixTimeSeconds(), proposalId: null, []), "'vote'");
        AssertMalformed(Sign(member.Key, "not-a-member-id", "proposal", CreatedAt.ToUnixTimeSeconds(), proposalId: null, []), "kid");
    }

    [Fact]
    public void Signer_RefusesAKeyThatIsNotTheCertificates()
    {
        using TestMember member = TestMember.Create("member");
        using TestMember other = TestMember.Create("other");

        Assert.Throws<ArgumentException>(() => new GovernanceRequestSigner(other.Key, member.Certificate));
    }

    private static void AssertMalformed(byte[] envelope, string mentioning)
    {
        GovernanceException refused = Assert.Throws<GovernanceException>(() => GovernanceRequest.Parse(envelope));
        Assert.Equal(GovernanceErrorCode.Malformed, refused.Code);
        Assert.Contains(mentioning, refused.Message, StringComparison.Ordinal);
    }

    /// <summary>A COSE_Sign1 built by hand, for requests the signer refuses to make.</summary>
    internal static byte[] Sign(ECDsa key, string kid, string type, long? createdAt, string? proposalId, byte[] payload)
    {
        var headers = new CoseHeaderMap
        {
            [CoseHeaderLabel.KeyIdentifier] = CoseHeaderValue.FromBytes(Encoding.ASCII.GetBytes(kid)),
            [new CoseHeaderLabel("ccf.gov.msg.type")] = CoseHeaderValue.FromString(type),
        };
        if (createdAt is long seconds)
        {
            var writer = new CborWriter();
            writer.WriteInt64(seconds);
            headers[new CoseHeaderLabel("ccf.gov.msg.created_at")] = CoseHeaderValue.FromEncodedValue(writer.Encode());
        }

        if (proposalId is not null)
        {
            headers[new CoseHeaderLabel("ccf.gov.msg.proposal_id")] = CoseHeaderValue.FromString(proposalId);
        }

        return CoseSign1Message.SignEmbedded(payload, new CoseSigner(key, HashAlgorithmName.SHA256, headers));
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle)
    {
        int at = haystack.AsSpan().IndexOf(needle);
        Assert.True(at >= 0);
        return at;
    }
}
