namespace Confide.Attestation.Quotes;

/// <summary>
/// The single exception type the decoders in this namespace throw for malformed input.
/// Deriving from <see cref="FormatException"/> lets callers that only care about
/// "bad input" catch the framework type.
/// </summary>
/// <remarks>
/// <see cref="Offset"/> is a byte offset into the buffer the caller handed in (for
/// <see cref="Quote.ParseEvidence"/> that includes the Open Enclave header; for
/// <see cref="SgxPckExtensions.Decode"/> it is relative to the extension value).
/// </remarks>
public sealed class QuoteFormatException : FormatException
{
    public QuoteFormatException(QuoteFormatError error, int offset, string message)
        : base($"{message} (error {error}, offset {offset})")
    {
        Error = error;
        Offset = offset;
    }

    public QuoteFormatException(QuoteFormatError error, int offset, string message, Exception innerException)
        : base($"{message} (error {error}, offset {offset})", innerException)
    {
        Error = error;
        Offset = offset;
    }

    public QuoteFormatError Error { get; }

    /// <summary>Byte offset at which decoding failed (the start of the offending field).</summary>
    public int Offset { get; }

    /// <summary>
    /// True when the input is a plausible prefix of a valid structure, i.e. more bytes
    /// might have made it parse. A streaming reader can use this to tell "wait for more"
    /// from "reject".
    /// </summary>
    public bool IsTruncation => Error is QuoteFormatError.Truncated
        or QuoteFormatError.SignatureDataLengthOutOfRange
        or QuoteFormatError.CertificationDataTruncated;
}
