using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;

namespace Confide.Attestation.Tests.Verification;

/// <summary>
/// The vectors that verify (at their <c>verify_at</c>, under <see cref="VerificationPolicy.AnyNonRevokedTcb"/>),
/// verifiers pinned to their time, and the quote's regions by the offsets of the vector README.
/// </summary>
internal static class VerifierVectors
{
    /// <summary>The vectors expected.json marks OK, plus tdx_v5_automata (OK once service TDs are allowed) for the v5 descriptor.</summary>
    public static readonly string[] Verifying = ["sgx_v3_phala", "sgx_v3_automata", "tdx_v4_phala", "tdx_v4_near", "tdx_v4_automata", "tdx_v5_automata"];

    public static TheoryData<string> VerifyingNames => new(Verifying);

    public static long VerifyAt(string name) => DcapVectors.Expected(name).GetProperty("verify_at").GetInt64();

    /// <summary>AnyNonRevokedTcb, and for the v5 vector also its service-TD binding.</summary>
    public static VerificationPolicy PolicyFor(string name) =>
        name == "tdx_v5_automata" ? VerificationPolicy.AnyNonRevokedTcb with { AllowServiceTd = true } : VerificationPolicy.AnyNonRevokedTcb;

    public static QuoteVerifier VerifierAt(long unixSeconds, Action<QuoteVerifierOptions>? configure = null)
    {
        var options = new QuoteVerifierOptions { TimeProvider = FixedTime.At(unixSeconds) };
        configure?.Invoke(options);
        return new QuoteVerifier(options);
    }

    public static QuoteVerifier VerifierFor(string name, Action<QuoteVerifierOptions>? configure = null) => VerifierAt(VerifyAt(name), configure);

    /// <summary>Verifies the unmodified vector and fails the test unless it verifies: the baseline every negative case departs from.</summary>
    public static QuoteVerificationResult AssertBaseline(QuoteVerifier verifier, string name, byte[] quote, QuoteCollateral collateral)
    {
        QuoteVerificationResult result = verifier.Verify(quote, collateral, PolicyFor(name));
        Assert.True(result.Verified, $"{name} does not verify unmodified: {result.Error}: {result.ErrorMessage}");
        return result;
    }

    public static byte[] Flipped(byte[] data, int offset, byte mask = 0xFF)
    {
        byte[] copy = (byte[])data.Clone();
        copy[offset] ^= mask;
        return copy;
    }

    /// <summary>A fresh self-signed P-256 CA, unrelated to Intel's, with its private key.</summary>
    public static X509Certificate2 SelfSignedCa(string name)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}, O=Not Intel", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(new DateTimeOffset(2018, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2049, 12, 31, 0, 0, 0, TimeSpan.Zero));
    }
}

/// <summary>A byte range of a quote: [Start, End).</summary>
internal sealed record QuoteRegion(string Name, int Start, int End)
{
    public int Length => End - Start;

    public IEnumerable<int> Offsets(int step = 1)
    {
        for (int offset = Start; offset < End; offset += step)
        {
            yield return offset;
        }
    }
}

/// <summary>The regions of a real quote (README "Negative cases" offsets), derived from the parsed quote.</summary>
internal sealed class QuoteRegions
{
    public QuoteRegions(byte[] raw)
    {
        Quote quote = Quote.Parse(raw);
        QuoteLayout layout = QuoteMutation.Layout(quote);
        int signed = quote.SignedLength;
        int bodyStart = quote.Version == 5 ? QuoteHeader.Size + 6 : QuoteHeader.Size;
        int signatureDataEnd = raw.Length - quote.TrailingByteCount;

        Header = new QuoteRegion("header", 0, QuoteHeader.Size);
        Descriptor = quote.Version == 5 ? new QuoteRegion("v5 body descriptor", QuoteHeader.Size, bodyStart) : null;
        Body = new QuoteRegion("report body", bodyStart, signed);
        Signature = new QuoteRegion("quote signature", signed + 4, signed + 4 + 64);
        AttestationKey = new QuoteRegion("attestation key", signed + 68, signed + 132);
        QeReport = new QuoteRegion("QE report", layout.QeReport, layout.QeReport + 384);
        QeReportSignature = new QuoteRegion("QE report signature", layout.QeReport + 384, layout.QeReport + 448);
        QeAuthData = new QuoteRegion("QE auth data", layout.QeAuthDataSize + 2, layout.CertificationType);
        PckChain = new QuoteRegion("PCK certificate chain", layout.CertificationData, signatureDataEnd);
        Trailing = new QuoteRegion("trailing padding", signatureDataEnd, raw.Length);
        LengthAndTypeFields = [.. layout.LengthAndTypeFields()];
        Quote = quote;

        // The README's fixed offsets, as a cross-check that the regions are where it says.
        if (quote.Version == 3)
        {
            Assert.Equal((48, 432, 436, 500, 564, 948, 1014, 1052), (Body.Start, Body.End, Signature.Start, AttestationKey.Start, QeReport.Start, QeReportSignature.Start, QeAuthData.Start, PckChain.Start));
        }
        else if (quote.Version == 4)
        {
            Assert.Equal((48, 632, 636, 700, 770, 1154, 1220, 1258), (Body.Start, Body.End, Signature.Start, AttestationKey.Start, QeReport.Start, QeReportSignature.Start, QeAuthData.Start, PckChain.Start));
        }
        else
        {
            Assert.Equal((54, 702, 706, 770, 840, 1224, 1290, 1328), (Body.Start, Body.End, Signature.Start, AttestationKey.Start, QeReport.Start, QeReportSignature.Start, QeAuthData.Start, PckChain.Start));
        }
    }

    public Quote Quote { get; }

    public QuoteRegion Header { get; }

    public QuoteRegion? Descriptor { get; }

    public QuoteRegion Body { get; }

    public QuoteRegion Signature { get; }

    public QuoteRegion AttestationKey { get; }

    public QuoteRegion QeReport { get; }

    public QuoteRegion QeReportSignature { get; }

    public QuoteRegion QeAuthData { get; }

    public QuoteRegion PckChain { get; }

    public QuoteRegion Trailing { get; }

    /// <summary>Offsets of the u16/u32 length and type fields inside the signature data.</summary>
    public int[] LengthAndTypeFields { get; }
}
