using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using System.Text;
using Confide.Ledger.Ledger;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Receipts;

/// <summary>
/// CCF's COSE ledger signature ("Dual" signing, <c>public:ccf.internal.cose_signatures</c>): a
/// COSE_Sign1 by the service identity over the Merkle root, the root itself detached. Protected
/// header: <c>alg</c>; <c>kid</c> = the hex SHA-256 of the service key's DER SubjectPublicKeyInfo;
/// <c>vds</c> (395) = 2, CCF_LEDGER_SHA256 (draft-birkholz-cose-receipts-ccf-profile); CWT claims
/// (15) <c>{iat, iss, sub}</c>; and <c>"ccf.v1": {"txid": "view.seqno"}</c>, the signature
/// transaction. A COSE receipt is this message with an inclusion proof added to its unprotected
/// header (<see cref="CoseReceipt"/>).
/// </summary>
public static class CoseLedgerSignature
{
    /// <summary>Verifiable data structure (draft-ietf-cose-merkle-tree-proofs), protected.</summary>
    public const int VdsLabel = 395;

    /// <summary>Verifiable data proofs, unprotected: <c>{-1: [inclusion proof, ...]}</c>.</summary>
    public const int VdpLabel = 396;

    /// <summary>The vds value of CCF's ledger tree: SHA-256 leaves of CCF's three components.</summary>
    public const int CcfLedgerSha256 = 2;

    /// <summary>The key of the inclusion proofs in the vdp map.</summary>
    public const int InclusionProofsKey = -1;

    /// <summary>CWT claims (RFC 9597), protected.</summary>
    public const int CwtClaimsLabel = 15;

    /// <summary>CCF's own protected header: <c>{"txid": "view.seqno"}</c>.</summary>
    public const string CcfHeader = "ccf.v1";

    /// <summary>CCF's default CWT subject of a ledger signature.</summary>
    public const string DefaultSubject = "ledger.signature";

    /// <summary>Signs <paramref name="root"/> as of signature transaction <paramref name="txId"/> with the service key.</summary>
    public static byte[] Create(ECDsa serviceKey, TxId txId, Sha256Hash root, DateTimeOffset issuedAt, string issuer, string subject = DefaultSubject)
    {
        ArgumentNullException.ThrowIfNull(serviceKey);
        ArgumentException.ThrowIfNullOrEmpty(issuer);
        ArgumentException.ThrowIfNullOrEmpty(subject);
        var headers = new CoseHeaderMap
        {
            [CoseHeaderLabel.KeyIdentifier] = CoseHeaderValue.FromBytes(KeyId(serviceKey.ExportSubjectPublicKeyInfo())),
            [new CoseHeaderLabel(VdsLabel)] = CoseHeaderValue.FromInt32(CcfLedgerSha256),
            [new CoseHeaderLabel(CwtClaimsLabel)] = CoseHeaderValue.FromEncodedValue(CwtClaims(issuedAt, issuer, subject)),
            [new CoseHeaderLabel(CcfHeader)] = CoseHeaderValue.FromEncodedValue(CcfClaims(txId)),
        };
        var signer = new CoseSigner(serviceKey, HashFor(serviceKey), headers);
        return CoseSign1Message.SignDetached(root.ToArray(), signer);
    }

    /// <summary>
    /// True when <paramref name="cose"/> is the signature of <paramref name="root"/> at
    /// <paramref name="txId"/> by <paramref name="serviceKey"/>: detached, CCF's headers, its kid that
    /// key's, its <c>ccf.v1.txid</c> this transaction (a signature copied from another one names
    /// another), and the signature over this root.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> cose, TxId txId, Sha256Hash root, ECDsa serviceKey)
    {
        ArgumentNullException.ThrowIfNull(serviceKey);
        try
        {
            // Parsed as a receipt with an empty proof: the same header checks as a receipt's.
            CoseReceipt parsed = CoseReceipt.Parse(CoseReceipt.Create(cose, new LeafComponents(Sha256Hash.Zero, "", Sha256Hash.Zero), new MerkleProof([])));
            return parsed.SignatureTxId == txId
                && CryptographicOperations.FixedTimeEquals(parsed.KeyId, KeyId(serviceKey.ExportSubjectPublicKeyInfo()))
                && CoseMessage.DecodeSign1(cose).VerifyDetached(serviceKey, root.ToArray());
        }
        catch (Exception ex) when (ex is CryptographicException or ReceiptVerificationException)
        {
            return false;
        }
    }

    /// <summary>The <c>kid</c> of a COSE ledger signature, or null when it does not parse.</summary>
    public static byte[]? ReadKeyId(ReadOnlySpan<byte> cose)
    {
        try
        {
            return CoseMessage.DecodeSign1(cose).ProtectedHeaders.TryGetValue(CoseHeaderLabel.KeyIdentifier, out CoseHeaderValue kid) ? kid.GetValueAsBytes() : null;
        }
        catch (Exception ex) when (ex is CryptographicException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>CCF's <c>kid</c>: the lower-case hex SHA-256 of the DER SubjectPublicKeyInfo, as bytes.</summary>
    public static byte[] KeyId(ReadOnlySpan<byte> subjectPublicKeyInfo) =>
        Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo)));

    /// <summary>The hash COSE pairs with the curve (ES256, ES384, ES512), as CCF's signers choose it.</summary>
    internal static HashAlgorithmName HashFor(ECDsa key) => key.KeySize switch
    {
        256 => HashAlgorithmName.SHA256,
        384 => HashAlgorithmName.SHA384,
        521 => HashAlgorithmName.SHA512,
        _ => throw new CryptographicException($"A {key.KeySize}-bit EC key has no COSE ECDSA algorithm."),
    };

    private static byte[] CwtClaims(DateTimeOffset issuedAt, string issuer, string subject)
    {
        var writer = new CborWriter(CborConformanceMode.Canonical, convertIndefiniteLengthEncodings: true);
        writer.WriteStartMap(3);
        writer.WriteInt32(1);
        writer.WriteTextString(issuer);
        writer.WriteInt32(2);
        writer.WriteTextString(subject);
        writer.WriteInt32(6);
        writer.WriteInt64(issuedAt.ToUnixTimeSeconds());
        writer.WriteEndMap();
        return writer.Encode();
    }

    private static byte[] CcfClaims(TxId txId)
    {
        var writer = new CborWriter();
        writer.WriteStartMap(1);
        writer.WriteTextString("txid");
        writer.WriteTextString(txId.ToString());
        writer.WriteEndMap();
        return writer.Encode();
    }
}
