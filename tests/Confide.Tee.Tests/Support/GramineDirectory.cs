using System.Buffers.Binary;
using System.Security.Cryptography;
using Confide.Attestation.Quotes;

namespace Confide.Tee.Tests.Support;

/// <summary>
/// A temporary directory laid out like Gramine's <c>/dev/attestation</c> (sdk.md §4.1), serving a
/// real quote from the DCAP vectors: <c>report</c> is that quote's 384-byte report body plus 48
/// zero bytes (key id and MAC of a real 432-byte REPORT), <c>quote</c> the quote itself, and
/// <c>keys/_sgx_mrenclave</c>, <c>keys/_sgx_mrsigner</c> 16 random bytes each. Being plain files,
/// <c>quote</c> does not follow <c>user_report_data</c>: it only matches the quote's own data.
/// </summary>
internal sealed class GramineDirectory : IDisposable
{
    private readonly TempDirectory _temp = new();

    public GramineDirectory(string vector = "sgx_v3_phala", string attestationType = "dcap")
    {
        Quote = DcapVectors.Quote(vector);
        Root = _temp.Combine("attestation");
        Directory.CreateDirectory(Path.Combine(Root, "keys"));

        MyTargetInfo = RandomNumberGenerator.GetBytes(512);
        Write("attestation_type", System.Text.Encoding.ASCII.GetBytes(attestationType));
        Write("my_target_info", MyTargetInfo);
        Write("target_info", new byte[512]);
        Write("user_report_data", new byte[64]);
        Write("report", [.. Quote.AsSpan(QuoteHeader.Size, SgxReportBody.Size), .. new byte[48]]);
        Write("quote", Quote);
        Write("keys/_sgx_mrenclave", RandomNumberGenerator.GetBytes(16));
        Write("keys/_sgx_mrsigner", RandomNumberGenerator.GetBytes(16));
    }

    public string Root { get; }

    /// <summary>The real quote the directory serves.</summary>
    public byte[] Quote { get; }

    public byte[] MyTargetInfo { get; }

    public string PathOf(string name) => Path.Combine(Root, name);

    public byte[] Read(string name) => File.ReadAllBytes(PathOf(name));

    public void Write(string name, byte[] content) => File.WriteAllBytes(PathOf(name), content);

    /// <summary>Rewrites the ISVSVN of <c>report</c> (body offset 258), as if the enclave had another version.</summary>
    public void SetReportSecurityVersion(ushort svn)
    {
        byte[] report = Read("report");
        BinaryPrimitives.WriteUInt16LittleEndian(report.AsSpan(258), svn);
        Write("report", report);
    }

    public void Dispose() => _temp.Dispose();
}
