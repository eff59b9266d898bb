using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Confide.Attestation.Collateral;

namespace Confide.Tee.Simulation;

/// <summary>
/// Issues the collateral Intel's PCS would serve for a machine: TCB info (v3) for the platform's
/// FMSPC, the QE identity (v2), the root CA CRL and the PCK CA CRL, each signed like Intel's and
/// valid for 30 days as Intel's are. Verifiers check simulated quotes with it exactly as real ones.
/// </summary>
internal static class SimulatedCollateral
{
    public static readonly TimeSpan Validity = TimeSpan.FromDays(30);

    /// <summary>MRSIGNER of the simulated quoting enclave (not Intel's QE3 signer).</summary>
    public static readonly byte[] QeMrSigner = SHA256.HashData("Confide simulated quoting enclave signer"u8);

    /// <summary>MRENCLAVE of the simulated quoting enclave.</summary>
    public static readonly byte[] QeMrEnclave = SHA256.HashData("Confide simulated quoting enclave"u8);

    public const ushort QeProductId = 1;

    public static QuoteCollateral Issue(SimulatedPlatform platform, ECDsa tcbSigningKey, ECDsa rootKey, ECDsa pckCaKey, DateTimeOffset now)
    {
        DateTimeOffset issued = now.AddHours(-1);
        DateTimeOffset next = now + Validity;
        string tcbInfo = TcbInfoJson(platform, issued, next);
        string qeIdentity = QeIdentityJson(platform, issued, next);

        using X509Certificate2 rootWithKey = platform.RootCertificate.CopyWithPrivateKey(rootKey);
        using X509Certificate2 pckCaWithKey = platform.PckCaCertificate.CopyWithPrivateKey(pckCaKey);
        var crlBuilder = new CertificateRevocationListBuilder();
        byte[] rootCrl = crlBuilder.Build(rootWithKey, SimulatedPki.NewCrlNumber(now), next, HashAlgorithmName.SHA256, thisUpdate: issued);
        byte[] pckCrl = crlBuilder.Build(pckCaWithKey, SimulatedPki.NewCrlNumber(now), next, HashAlgorithmName.SHA256, thisUpdate: issued);

        string rootPem = platform.RootCertificate.ExportCertificatePem();
        string signingChain = platform.TcbSigningCertificate.ExportCertificatePem() + "\n" + rootPem + "\n";
        return new QuoteCollateral
        {
            PckCrlIssuerChain = platform.PckCaCertificate.ExportCertificatePem() + "\n" + rootPem + "\n",
            RootCaCrl = Convert.ToHexStringLower(rootCrl),
            PckCrl = Convert.ToHexStringLower(pckCrl),
            TcbInfoIssuerChain = signingChain,
            TcbInfo = tcbInfo,
            TcbInfoSignature = Convert.ToHexStringLower(tcbSigningKey.SignData(Encoding.UTF8.GetBytes(tcbInfo), HashAlgorithmName.SHA256)),
            QeIdentityIssuerChain = signingChain,
            QeIdentity = qeIdentity,
            QeIdentitySignature = Convert.ToHexStringLower(tcbSigningKey.SignData(Encoding.UTF8.GetBytes(qeIdentity), HashAlgorithmName.SHA256)),
        };
    }

    private static string TcbInfoJson(SimulatedPlatform platform, DateTimeOffset issued, DateTimeOffset next)
    {
        byte[] current = platform.TcbComponents;
        byte[] older = current.Select(svn => (byte)(svn > 0 ? svn - 1 : 0)).ToArray();
        return Json(writer =>
        {
            writer.WriteString("id", "SGX");
            writer.WriteNumber("version", 3);
            writer.WriteString("issueDate", Timestamp(issued));
            writer.WriteString("nextUpdate", Timestamp(next));
            writer.WriteString("fmspc", Convert.ToHexString(platform.Fmspc));
            writer.WriteString("pceId", "0000");
            writer.WriteNumber("tcbType", 0);
            writer.WriteNumber("tcbEvaluationDataNumber", 1);
            writer.WriteStartArray("tcbLevels");
            WriteTcbLevel(writer, current, platform.PceSvn, issued, "UpToDate", []);
            WriteTcbLevel(writer, older, (ushort)(platform.PceSvn - 1), issued.AddYears(-1), "OutOfDate", ["CONFIDE-SIM-0001"]);
            writer.WriteEndArray();
        });
    }

    private static void WriteTcbLevel(Utf8JsonWriter writer, byte[] components, ushort pceSvn, DateTimeOffset date, string status, string[] advisories)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("tcb");
        writer.WriteStartArray("sgxtcbcomponents");
        foreach (byte svn in components)
        {
            writer.WriteStartObject();
            writer.WriteNumber("svn", svn);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteNumber("pcesvn", pceSvn);
        writer.WriteEndObject();
        writer.WriteString("tcbDate", Timestamp(date));
        writer.WriteString("tcbStatus", status);
        if (advisories.Length > 0)
        {
            writer.WriteStartArray("advisoryIDs");
            foreach (string advisory in advisories)
            {
                writer.WriteStringValue(advisory);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static string QeIdentityJson(SimulatedPlatform platform, DateTimeOffset issued, DateTimeOffset next) => Json(writer =>
    {
        writer.WriteString("id", "QE");
        writer.WriteNumber("version", 2);
        writer.WriteString("issueDate", Timestamp(issued));
        writer.WriteString("nextUpdate", Timestamp(next));
        writer.WriteNumber("tcbEvaluationDataNumber", 1);
        writer.WriteString("miscselect", "00000000");
        writer.WriteString("miscselectMask", "FFFFFFFF");
        writer.WriteString("attributes", "11000000000000000000000000000000");
        writer.WriteString("attributesMask", "FBFFFFFFFFFFFFFF0000000000000000");
        writer.WriteString("mrsigner", Convert.ToHexString(QeMrSigner));
        writer.WriteNumber("isvprodid", QeProductId);
        writer.WriteStartArray("tcbLevels");
        writer.WriteStartObject();
        writer.WriteStartObject("tcb");
        writer.WriteNumber("isvsvn", platform.QeSvn);
        writer.WriteEndObject();
        writer.WriteString("tcbDate", Timestamp(issued));
        writer.WriteString("tcbStatus", "UpToDate");
        writer.WriteEndObject();
        writer.WriteEndArray();
    });

    private static string Json(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string Timestamp(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
