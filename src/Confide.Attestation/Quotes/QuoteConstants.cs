namespace Confide.Attestation.Quotes;

/// <summary>Body types of the v5 body descriptor (u16 at offset 48).</summary>
public static class QuoteBodyTypes
{
    public const ushort SgxReport = 1;
    public const ushort TdReport10 = 2;
    public const ushort TdReport15 = 3;
}

/// <summary>Certification data types (sgx_ql_certification_data_t.cert_key_type).</summary>
public static class CertificationDataTypes
{
    public const ushort PpidCleartext = 1;
    public const ushort PpidRsa2048Encrypted = 2;
    public const ushort PpidRsa3072Encrypted = 3;
    public const ushort PckLeafCertificate = 4;

    /// <summary>PEM PCK leaf ‖ PCK CA ‖ root, usually NUL-terminated: what real quotes carry.</summary>
    public const ushort PckCertificateChain = 5;

    /// <summary>v4+: QE report ‖ QE report signature ‖ auth data ‖ nested certification data.</summary>
    public const ushort QeReportCertificationData = 6;

    public const ushort PlatformManifest = 7;
}
