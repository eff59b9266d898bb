using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace Confide.Ledger.Governance.Requests;

/// <summary>
/// Produces signed governance requests with a member's EC key and certificate, as CCF's
/// <c>ccf_cose_sign1</c> does: for clients, tools and tests.
/// </summary>
public sealed class GovernanceRequestSigner
{
    private readonly ECDsa _key;

    /// <summary>A signer for the member holding <paramref name="key"/>, identified by <paramref name="certificate"/>.</summary>
    /// <exception cref="ArgumentException">The certificate's key is not an EC key or not <paramref name="key"/>'s.</exception>
    public GovernanceRequestSigner(ECDsa key, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(certificate);
        using ECDsa certificateKey = certificate.GetECDsaPublicKey() ?? throw new ArgumentException("The member certificate does not hold an EC key.", nameof(certificate));
        if (!certificateKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            throw new ArgumentException("The key is not the certificate's.", nameof(key));
        }

        _key = key;
        MemberId = GovernanceMaps.IdOf(certificate);
        CertificatePem = certificate.ExportCertificatePem();
    }

    /// <summary>The member id this signer's requests carry as <c>kid</c>.</summary>
    public string MemberId { get; }

    /// <summary>The member certificate, PEM.</summary>
    public string CertificatePem { get; }

    /// <summary>Signs <paramref name="payload"/> as a <paramref name="type"/> message created at <paramref name="createdAt"/>.</summary>
    public byte[] Sign(GovernanceMessageType type, ReadOnlySpan<byte> payload, DateTimeOffset createdAt, string? proposalId = null)
    {
        if (type.RequiresProposalId() != (proposalId is not null))
        {
            throw new ArgumentException(type.RequiresProposalId() ? $"A {type.ToWireName()} names its proposal." : $"A {type.ToWireName()} names no proposal.", nameof(proposalId));
        }

        var headers = new CoseHeaderMap
        {
            [CoseHeaderLabel.KeyIdentifier] = CoseHeaderValue.FromBytes(Encoding.ASCII.GetBytes(MemberId)),
            [CoseHeaders.MessageType] = CoseHeaderValue.FromString(type.ToWireName()),
            [CoseHeaders.CreatedAt] = CreatedAtValue(createdAt),
        };
        if (proposalId is not null)
        {
            headers[CoseHeaders.ProposalId] = CoseHeaderValue.FromString(proposalId);
        }

        // The signer adds alg (ES256/384/512) from the hash, which follows the curve as CCF's clients do.
        var signer = new CoseSigner(_key, HashFor(_key), headers);
        return CoseSign1Message.SignEmbedded(payload.ToArray(), signer);
    }

    /// <summary>A proposal: <paramref name="proposalJson"/> is <c>{"actions": [{"name", "args"}, ...]}</c>.</summary>
    public byte[] SignProposal(string proposalJson, DateTimeOffset createdAt) =>
        Sign(GovernanceMessageType.Proposal, Encoding.UTF8.GetBytes(proposalJson), createdAt);

    /// <summary>A ballot: <paramref name="ballotScript"/> is a module exporting <c>vote(proposal, proposerId)</c>.</summary>
    public byte[] SignBallot(string proposalId, string ballotScript, DateTimeOffset createdAt) =>
        Sign(GovernanceMessageType.Ballot, Encoding.UTF8.GetBytes(new JsonObject { ["ballot"] = ballotScript }.ToJsonString()), createdAt, proposalId);

    /// <summary>A withdrawal of the signer's own proposal.</summary>
    public byte[] SignWithdrawal(string proposalId, DateTimeOffset createdAt) =>
        Sign(GovernanceMessageType.Withdrawal, [], createdAt, proposalId);

    /// <summary>A request for a fresh state digest to acknowledge.</summary>
    public byte[] SignStateDigestUpdate(DateTimeOffset createdAt) =>
        Sign(GovernanceMessageType.StateDigest, [], createdAt);

    /// <summary>An acknowledgement of <paramref name="stateDigest"/>.</summary>
    public byte[] SignAck(string stateDigest, DateTimeOffset createdAt) =>
        Sign(GovernanceMessageType.Ack, Encoding.UTF8.GetBytes(new JsonObject { ["stateDigest"] = stateDigest }.ToJsonString()), createdAt);

    private static CoseHeaderValue CreatedAtValue(DateTimeOffset createdAt)
    {
        // CoseHeaderValue has no 64-bit factory; created_at outgrows an int32 in 2038.
        var writer = new CborWriter();
        writer.WriteInt64(createdAt.ToUnixTimeSeconds());
        return CoseHeaderValue.FromEncodedValue(writer.Encode());
    }

    private static HashAlgorithmName HashFor(ECDsa key) => key.KeySize switch
    {
        <= 256 => HashAlgorithmName.SHA256,
        <= 384 => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };
}
