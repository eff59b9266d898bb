namespace Confide.Attestation.Quotes;

/// <summary>
/// Why a quote (or a structure inside or around it) could not be decoded.
/// Values are explicit so that they stay stable in logs and persisted diagnostics.
/// </summary>
public enum QuoteFormatError
{
    /// <summary>The input ends inside a fixed-size field.</summary>
    Truncated = 1,

    /// <summary>The input is larger than <see cref="Quote.MaxSize"/> (or the evidence limit).</summary>
    TooLarge = 2,

    /// <summary>The header version is not 3, 4 or 5.</summary>
    UnsupportedVersion = 3,

    /// <summary>The attestation key type is not 2 (ECDSA-256 with P-256).</summary>
    UnsupportedAttestationKeyType = 4,

    /// <summary>The TEE type is neither SGX nor TDX, or is TDX in a version 3 quote.</summary>
    UnsupportedTeeType = 5,

    /// <summary>The v5 body descriptor names a body type other than 1, 2 or 3.</summary>
    UnsupportedBodyType = 6,

    /// <summary>The v5 body type contradicts the header's TEE type (for example an SGX body in a TDX quote).</summary>
    BodyTypeMismatch = 7,

    /// <summary>The v5 body size is not the size of its body type, or a TD report has a length that is neither 1.0 nor 1.5.</summary>
    BodySizeMismatch = 8,

    /// <summary>signature_data_len declares more bytes than the input still holds.</summary>
    SignatureDataLengthOutOfRange = 9,

    /// <summary>The fields inside the signature data do not exactly fill signature_data_len.</summary>
    SignatureDataLengthMismatch = 10,

    /// <summary>The certification data type is not allowed at that place (unknown, or 6 where 1–5 is required, or not 6 where 6 is required).</summary>
    UnsupportedCertificationDataType = 11,

    /// <summary>A certification data size declares more bytes than its enclosing region holds.</summary>
    CertificationDataTruncated = 12,

    /// <summary>The fields inside QE report certification data (type 6) do not exactly fill its declared size.</summary>
    CertificationDataLengthMismatch = 13,

    /// <summary>Type-5 certification data is not PEM text (a byte outside printable ASCII, or a NUL before the end).</summary>
    InvalidPckCertificateChain = 14,

    /// <summary>An Open Enclave report header has the wrong version, report type or report size.</summary>
    InvalidOpenEnclaveHeader = 15,

    /// <summary>The SGX PCK certificate extension is not valid DER or misses / repeats a required entry.</summary>
    InvalidPckExtension = 16,

    /// <summary>The certificate carries no SGX PCK extension (OID 1.2.840.113741.1.13.1).</summary>
    PckExtensionMissing = 17,
}
