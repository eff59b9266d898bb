using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Confide.Ledger.Governance.Requests;

/// <summary>
/// A signed governance request as CCF takes it (<c>Content-Type: application/cose</c>): a tagged
/// COSE_Sign1 with an embedded payload, signed ES256/ES384/ES512 by a member, whose protected header
/// carries <c>alg</c>, <c>kid</c> (the member id: hex SHA-256 of the member certificate's DER, as a
/// byte string), <c>ccf.gov.msg.type</c>, <c>ccf.gov.msg.created_at</c> (seconds since the epoch)
/// and, for ballots and withdrawals, <c>ccf.gov.msg.proposal_id</c>.
/// </summary>
/// <remarks>
/// <see cref="Parse"/> only checks the shape; nothing is trusted until <see cref="Verify"/> has
/// checked the signature against the certificate the store holds for <see cref="MemberId"/>.
/// </remarks>
public sealed class GovernanceRequest
{
    private readonly CoseSign1Message _message;

    private GovernanceRequest(CoseSign1Message message, byte[] envelope, GovernanceMessageType type, long createdAt, string memberId, string? proposalId)
    {
        _message = message;
        Envelope = envelope;
        MessageType = type;
        CreatedAt = createdAt;
        MemberId = memberId;
        ProposalId = proposalId;
    }

    /// <summary>The request as received (what CCF records in <c>public:ccf.gov.cose_history</c>).</summary>
    public ReadOnlyMemory<byte> Envelope { get; }

    /// <summary><c>ccf.gov.msg.type</c>.</summary>
    public GovernanceMessageType MessageType { get; }

    /// <summary><c>ccf.gov.msg.created_at</c>: seconds since the Unix epoch, as signed.</summary>
    public long CreatedAt { get; }

    /// <summary><c>kid</c>: the signing member's id (lowercase hex SHA-256 of its certificate).</summary>
    public string MemberId { get; }

    /// <summary><c>ccf.gov.msg.proposal_id</c> (ballots and withdrawals), else null.</summary>
    public string? ProposalId { get; }

    /// <summary>The signed payload.</summary>
    public ReadOnlyMemory<byte> Payload => _message.Content!.Value;

    /// <summary>The payload as UTF-8 text.</summary>
    public string PayloadText => Encoding.UTF8.GetString(Payload.Span);

    /// <summary>The raw signature (IEEE P1363 r‖s): what CCF hashes to recognise a replayed proposal.</summary>
    public ReadOnlyMemory<byte> Signature => _message.Signature;

    /// <summary>
    /// Decodes <paramref name="envelope"/> and checks it carries every header its type needs. Does
    /// not verify the signature (<see cref="Verify"/>).
    /// </summary>
    /// <exception cref="GovernanceException"><see cref="GovernanceErrorCode.Malformed"/>, saying what is wrong.</exception>
    public static GovernanceRequest Parse(ReadOnlySpan<byte> envelope)
    {
        byte[] bytes = envelope.ToArray();

        // CCF refuses an untagged COSE_Sign1 (tag 18 encodes as 0xD2); .NET would accept one.
        if (bytes.Length == 0 || bytes[0] != 0xD2)
        {
            throw Malformed("the body is not a tagged COSE_Sign1 (CBOR tag 18)");
        }

        CoseSign1Message message;
        try
        {
            message = CoseMessage.DecodeSign1(bytes);
        }
        catch (CryptographicException ex)
        {
            throw Malformed($"the body is not a COSE_Sign1 message ({ex.Message})", ex);
        }

        if (message.Content is null)
        {
            throw Malformed("the payload is detached; governance requests embed it");
        }

        CoseHeaderMap headers = message.ProtectedHeaders;
        int algorithm = ReadAlgorithm(headers);
        if (algorithm is not (CoseHeaders.ES256 or CoseHeaders.ES384 or CoseHeaders.ES512))
        {
            throw Malformed($"alg {algorithm} is not ES256, ES384 or ES512");
        }

        string memberId = ReadKeyId(headers);
        string typeName = ReadString(headers, CoseHeaders.MessageType, required: true)!;
        if (!GovernanceMessageTypes.TryParse(typeName, out GovernanceMessageType type))
        {
            throw Malformed($"ccf.gov.msg.type '{typeName}' is not a governance message type");
        }

        long createdAt = ReadCreatedAt(headers);
        string? proposalId = ReadString(headers, CoseHeaders.ProposalId, required: type.RequiresProposalId());
        return new GovernanceRequest(message, bytes, type, createdAt, memberId, proposalId);
    }

    /// <summary>
    /// Checks that <paramref name="memberCertificatePem"/> is the certificate <see cref="MemberId"/>
    /// names and that the signature verifies with its key.
    /// </summary>
    /// <exception cref="GovernanceException"><see cref="GovernanceErrorCode.InvalidSignature"/>.</exception>
    public void Verify(string memberCertificatePem)
    {
        ArgumentNullException.ThrowIfNull(memberCertificatePem);
        using X509Certificate2 certificate = LoadCertificate(memberCertificatePem);
        if (GovernanceMaps.IdOf(certificate) != MemberId)
        {
            throw new GovernanceException(GovernanceErrorCode.InvalidSignature, $"The request's kid {MemberId} is not the SHA-256 of the certificate it was checked against ({GovernanceMaps.IdOf(certificate)}).");
        }

        using ECDsa? key = certificate.GetECDsaPublicKey();
        if (key is null)
        {
            throw new GovernanceException(GovernanceErrorCode.InvalidSignature, $"Member {MemberId}'s certificate does not hold an EC key; governance requests are signed with ECDSA.");
        }

        bool valid;
        try
        {
            valid = _message.VerifyEmbedded(key);
        }
        catch (CryptographicException ex)
        {
            throw new GovernanceException(GovernanceErrorCode.InvalidSignature, $"The signature could not be checked with member {MemberId}'s key: {ex.Message}", ex);
        }

        if (!valid)
        {
            throw new GovernanceException(GovernanceErrorCode.InvalidSignature, $"The signature does not verify with member {MemberId}'s certificate.");
        }
    }

    private static X509Certificate2 LoadCertificate(string pem)
    {
        try
        {
            return X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new GovernanceException(GovernanceErrorCode.InvalidSignature, $"The member certificate does not parse: {ex.Message}", ex);
        }
    }

    private static int ReadAlgorithm(CoseHeaderMap headers)
    {
        if (!headers.TryGetValue(CoseHeaderLabel.Algorithm, out CoseHeaderValue value))
        {
            throw Malformed("the protected header has no alg");
        }

        try
        {
            return value.GetValueAsInt32();
        }
        catch (InvalidOperationException ex)
        {
            throw Malformed("alg is not an integer", ex);
        }
    }

    private static string ReadKeyId(CoseHeaderMap headers)
    {
        if (!headers.TryGetValue(CoseHeaderLabel.KeyIdentifier, out CoseHeaderValue value))
        {
            throw Malformed("the protected header has no kid");
        }

        byte[] kid;
        try
        {
            kid = value.GetValueAsBytes();
        }
        catch (InvalidOperationException ex)
        {
            throw Malformed("kid is not a byte string", ex);
        }

        // The member id travels as the ASCII of its hex, as CCF's clients put it.
        string id = Encoding.ASCII.GetString(kid);
        if (id.Length != 64 || !id.All(char.IsAsciiHexDigitLower))
        {
            throw Malformed("kid is not a member id (64 lowercase hex characters of a certificate's SHA-256)");
        }

        return id;
    }

    private static string? ReadString(CoseHeaderMap headers, CoseHeaderLabel label, bool required)
    {
        if (!headers.TryGetValue(label, out CoseHeaderValue value))
        {
            return required ? throw Malformed($"the protected header has no {LabelName(label)}") : null;
        }

        try
        {
            return value.GetValueAsString();
        }
        catch (InvalidOperationException ex)
        {
            throw Malformed($"{LabelName(label)} is not a text string", ex);
        }
    }

    private static long ReadCreatedAt(CoseHeaderMap headers)
    {
        if (!headers.TryGetValue(CoseHeaders.CreatedAt, out CoseHeaderValue value))
        {
            throw Malformed("the protected header has no ccf.gov.msg.created_at");
        }

        try
        {
            var reader = new CborReader(value.EncodedValue);
            if (reader.PeekState() != CborReaderState.UnsignedInteger)
            {
                throw Malformed("ccf.gov.msg.created_at is not an unsigned integer (seconds since the epoch)");
            }

            ulong seconds = reader.ReadUInt64();

            // CCF compares created_at as a 10-digit decimal string.
            return seconds <= 9_999_999_999 ? (long)seconds : throw Malformed($"ccf.gov.msg.created_at {seconds} is too large");
        }
        catch (CborContentException ex)
        {
            throw Malformed("ccf.gov.msg.created_at is not valid CBOR", ex);
        }
        catch (OverflowException ex)
        {
            throw Malformed("ccf.gov.msg.created_at does not fit in 64 bits", ex);
        }
    }

    private static string LabelName(CoseHeaderLabel label) =>
        label == CoseHeaders.MessageType ? "ccf.gov.msg.type"
        : label == CoseHeaders.ProposalId ? "ccf.gov.msg.proposal_id"
        : label == CoseHeaders.CreatedAt ? "ccf.gov.msg.created_at"
        : label.ToString() ?? "header";

    private static GovernanceException Malformed(string what, Exception? inner = null) =>
        new(GovernanceErrorCode.Malformed, $"Malformed governance request: {what}.", inner);
}
