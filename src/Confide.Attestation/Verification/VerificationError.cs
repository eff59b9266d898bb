namespace Confide.Attestation.Verification;

/// <summary>Why a quote was not verified. Names follow the check that failed.</summary>
public enum VerificationError
{
    MalformedQuote,
    UnsupportedQuote,
    MissingCollateral,
    MalformedCollateral,
    UntrustedRoot,
    SimulationNotAllowed,
    InvalidCertificateChain,
    CertificateRevoked,
    InvalidCrl,
    CollateralNotYetValid,
    CollateralExpired,
    InvalidTcbInfoSignature,
    InvalidQeIdentitySignature,
    TcbInfoMismatch,
    QeIdentityMismatch,
    TdxModuleMismatch,
    InvalidQeReportSignature,
    QeReportDataMismatch,
    InvalidQuoteSignature,
    TcbLevelNotFound,
    QeTcbLevelNotFound,
    TcbStatusNotAccepted,
    DebugEnclave,
    ServiceTdNotAllowed,
    IdentityMismatch,
}

/// <summary>A quote that failed verification; <see cref="Error"/> says which check.</summary>
public sealed class QuoteVerificationException(VerificationError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public VerificationError Error { get; } = error;
}
