using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Confide.Attestation.Quotes;

namespace Confide.Tee.Simulation;

/// <summary>
/// Assembles an SGX ECDSA quote, version 3, byte for byte as Intel's quoting enclave does
/// (dcap.md §1): header ‖ report body, signed by the attestation key; then the QE report, whose
/// report data binds the attestation key, signed by the PCK key; then the PCK certificate chain as
/// certification data type 5. Only the keys are simulated.
/// </summary>
internal static class SimulatedQuoteBuilder
{
    private const ushort CertificationDataPckChain = 5;
    private const int EcdsaSize = 64;

    /// <summary>QE authentication data: 32 bytes 00..1F, as every real quote we have seen carries.</summary>
    private static readonly byte[] QeAuthData = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    public static byte[] Build(SimulatedPlatform platform, SgxReportBody enclaveReport)
    {
        var header = new QuoteHeader
        {
            Version = 3,
            AttestationKeyType = QuoteHeader.EcdsaP256KeyType,
            TeeType = TeeType.Sgx,
            QeSvn = platform.QeSvn,
            PceSvn = platform.PceSvn,
            QeVendorId = QuoteHeader.IntelQeVendorId.ToArray(),
            UserData = [.. platform.QeId, 0, 0, 0, 0],
        };

        byte[] attestationKey = RawPublicKey(platform.AttestationKey);
        SgxReportBody qeReport = BuildQeReport(platform, attestationKey);
        byte[] qeReportBytes = qeReport.ToArray();
        byte[] pemChain = Encoding.ASCII.GetBytes(
            platform.PckCertificate.ExportCertificatePem() + "\n"
            + platform.PckCaCertificate.ExportCertificatePem() + "\n"
            + platform.RootCertificate.ExportCertificatePem() + "\n\0");

        int signedLength = QuoteHeader.Size + SgxReportBody.Size;
        int signatureDataLength = EcdsaSize + EcdsaSize + SgxReportBody.Size + EcdsaSize + 2 + QeAuthData.Length + 2 + 4 + pemChain.Length;
        byte[] quote = new byte[signedLength + 4 + signatureDataLength];
        Span<byte> span = quote;
        header.WriteTo(span);
        enclaveReport.WriteTo(span[QuoteHeader.Size..]);

        int offset = signedLength;
        BinaryPrimitives.WriteUInt32LittleEndian(span[offset..], (uint)signatureDataLength);
        offset += 4;
        platform.AttestationKey.SignData(quote.AsSpan(0, signedLength), span.Slice(offset, EcdsaSize), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        offset += EcdsaSize;
        attestationKey.CopyTo(span[offset..]);
        offset += EcdsaSize;
        qeReportBytes.CopyTo(span[offset..]);
        offset += SgxReportBody.Size;
        platform.PckKey.SignData(qeReportBytes, span.Slice(offset, EcdsaSize), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        offset += EcdsaSize;
        BinaryPrimitives.WriteUInt16LittleEndian(span[offset..], (ushort)QeAuthData.Length);
        offset += 2;
        QeAuthData.CopyTo(span[offset..]);
        offset += QeAuthData.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(span[offset..], CertificationDataPckChain);
        offset += 2;
        BinaryPrimitives.WriteUInt32LittleEndian(span[offset..], (uint)pemChain.Length);
        offset += 4;
        pemChain.CopyTo(span[offset..]);
        return quote;
    }

    private static SgxReportBody BuildQeReport(SimulatedPlatform platform, byte[] attestationKey)
    {
        byte[] reportData = new byte[SgxReportBody.ReportDataSize];
        SHA256.HashData([.. attestationKey, .. QeAuthData]).CopyTo(reportData, 0);
        return new SgxReportBody
        {
            CpuSvn = platform.TcbComponents,
            Flags = (ulong)(SgxAttributeFlags.Initted | SgxAttributeFlags.Mode64Bit | SgxAttributeFlags.ProvisionKey),
            Xfrm = 0xE7,
            MrEnclave = SimulatedCollateral.QeMrEnclave,
            MrSigner = SimulatedCollateral.QeMrSigner,
            IsvProdId = SimulatedCollateral.QeProductId,
            IsvSvn = platform.QeSvn,
            ReportData = reportData,
        };
    }

    private static byte[] RawPublicKey(ECDsa key)
    {
        ECParameters parameters = key.ExportParameters(includePrivateParameters: false);
        return [.. parameters.Q.X!, .. parameters.Q.Y!];
    }
}
