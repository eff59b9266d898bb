using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;

namespace Confide.Attestation.Tests.Verification;

/// <summary>
/// Seeded random mutations of the real quotes and of their collateral, verified at the vectors'
/// times: <see cref="QuoteVerifier.Verify"/> never throws, never takes long, and never says
/// Verified unless the mutation left everything the verifier reads unchanged (trailing padding,
/// PEM line breaks, hex case, the unused bits of a base64 tail): then the verdict is the original's.
/// </summary>
public sealed class VerifierFuzzTests(ITestOutputHelper output)
{
    private const int QuoteIterations = 5000;
    private const int CollateralIterations = 1000;

    /// <summary>Far above any single verification (a few ms); only a hang or a pathological input reaches it.</summary>
    // Generous: a GC pause or a descheduled thread on a busy 2-core machine must not count as a hang.
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(15);

    private static readonly string[] CollateralFields =
    [
        "pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain", "tcb_info",
        "tcb_info_signature", "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature",
    ];

    [Fact]
    public void Random_mutations_of_real_quotes_never_throw_never_hang_and_never_verify()
    {
        var random = new Random(20250701);
        Subject[] subjects = VerifierVectors.Verifying.Select(Subject.Load).ToArray();
        var failures = new List<string>();
        var tally = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int unchanged = 0;
        var stopwatch = Stopwatch.StartNew();

        for (int i = 0; i < QuoteIterations; i++)
        {
            Subject subject = subjects[random.Next(subjects.Length)];
            var applied = new List<string>();
            byte[] mutated = subject.Quote;
            int count = random.Next(1, 4);
            for (int m = 0; m < count; m++)
            {
                mutated = MutateQuote(random, subject, mutated, applied);
            }

            string what = $"#{i} {subject.Name}: {string.Join(", ", applied)}";
            QuoteVerificationResult? result = Run(() => subject.Verifier.Verify(mutated, subject.Collateral, VerifierVectors.PolicyFor(subject.Name)), what, failures);
            if (result is null)
            {
                continue;
            }

            bool same = SameEvidence(subject.Parsed, mutated);
            unchanged += same ? 1 : 0;
            string key = result.Verified ? "Verified" : result.Error!.Value.ToString();
            tally[key] = tally.GetValueOrDefault(key) + 1;
            if (same ? !result.Verified || result.TcbStatus != subject.Baseline.TcbStatus : result.Verified)
            {
                failures.Add($"{what}: {(result.Verified ? "Verified" : $"{result.Error}: {result.ErrorMessage}")} although the evidence {(same ? "is unchanged" : "changed")}");
            }
        }

        output.WriteLine($"{QuoteIterations} quote mutations in {stopwatch.ElapsedMilliseconds} ms, {unchanged} left the evidence unchanged: {string.Join(", ", tally.Select(t => $"{t.Key} ×{t.Value}"))}");
        Assert.True(failures.Count == 0, $"{failures.Count} failures: {string.Join(" | ", failures.Take(10))}");
    }

    [Fact]
    public void Random_mutations_of_real_collateral_never_throw_never_hang_and_never_verify()
    {
        var random = new Random(1751328000);
        Subject[] subjects = VerifierVectors.Verifying.Select(Subject.Load).ToArray();
        var failures = new List<string>();
        var tally = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int unchanged = 0;
        var stopwatch = Stopwatch.StartNew();

        for (int i = 0; i < CollateralIterations; i++)
        {
            Subject subject = subjects[random.Next(subjects.Length)];
            string field = CollateralFields[random.Next(CollateralFields.Length)];
            string original = CollateralTamperingTests.Field(subject.Collateral, field);
            (string value, string how) = MutateField(random, field, original);
            QuoteCollateral collateral = CollateralTamperingTests.With(subject.Collateral, field, value);

            string what = $"#{i} {subject.Name} {field}: {how}";
            QuoteVerificationResult? result = Run(() => subject.Verifier.Verify(subject.Quote, collateral, VerifierVectors.PolicyFor(subject.Name)), what, failures);
            if (result is null)
            {
                continue;
            }

            bool same = SameField(field, original, value);
            unchanged += same ? 1 : 0;
            string key = $"{field}: {(result.Verified ? "Verified" : result.Error!.Value.ToString())}";
            tally[key] = tally.GetValueOrDefault(key) + 1;
            if (same ? !result.Verified || result.TcbStatus != subject.Baseline.TcbStatus : result.Verified)
            {
                failures.Add($"{what}: {(result.Verified ? "Verified" : $"{result.Error}: {result.ErrorMessage}")} although the field {(same ? "means the same" : "changed")}");
            }
        }

        output.WriteLine($"{CollateralIterations} collateral mutations in {stopwatch.ElapsedMilliseconds} ms, {unchanged} left the meaning unchanged:");
        foreach (KeyValuePair<string, int> entry in tally)
        {
            output.WriteLine($"  {entry.Key} ×{entry.Value}");
        }

        Assert.True(failures.Count == 0, $"{failures.Count} failures: {string.Join(" | ", failures.Take(10))}");
    }

    /// <summary>Runs one verification; an exception or a call over the hang limit is a failure.</summary>
    private static QuoteVerificationResult? Run(Func<QuoteVerificationResult> verify, string what, List<string> failures)
    {
        var stopwatch = Stopwatch.StartNew();
        try
        {
            QuoteVerificationResult result = verify();
            if (stopwatch.Elapsed > HangLimit)
            {
                failures.Add($"{what}: took {stopwatch.ElapsedMilliseconds} ms");
            }

            return result;
        }
        catch (Exception ex)
        {
            failures.Add($"{what}: {ex.GetType().Name} escaped Verify: {ex.Message}\n{ex.StackTrace}");
            return null;
        }
    }

    private static byte[] MutateQuote(Random random, Subject subject, byte[] quote, List<string> applied)
    {
        switch (random.Next(7))
        {
            case 0:
            {
                // Mostly where the fixed-size structures are (the first ~1.3 KB), sometimes anywhere.
                int position = random.Next(2) == 0 ? random.Next(Math.Min(quote.Length, subject.Regions.PckChain.Start)) : random.Next(quote.Length);
                byte value = (byte)random.Next(256);
                applied.Add($"[{position}] = 0x{value:X2}");
                byte[] copy = (byte[])quote.Clone();
                copy[position] = value;
                return copy;
            }

            case 1:
            {
                int position = random.Next(quote.Length);
                int bit = random.Next(8);
                applied.Add($"[{position}] ^= bit {bit}");
                return VerifierVectors.Flipped(quote, position, (byte)(1 << bit));
            }

            case 2:
            {
                int position = random.Next(quote.Length + 1);
                byte[] inserted = new byte[random.Next(1, 9)];
                random.NextBytes(inserted);
                applied.Add($"insert {inserted.Length} at {position}");
                return [.. quote.AsSpan(0, position), .. inserted, .. quote.AsSpan(position)];
            }

            case 3:
            {
                int position = random.Next(quote.Length);
                int length = Math.Min(random.Next(1, 9), quote.Length - position);
                applied.Add($"delete {length} at {position}");
                return [.. quote.AsSpan(0, position), .. quote.AsSpan(position + length)];
            }

            case 4 when quote.Length == subject.Quote.Length:
            {
                // A DER byte of one of the PCK certificates, the base64 rewritten in place.
                var pem = new PemInQuote(quote, subject.Regions.PckChain);
                if (pem.Certificates.Count == 0)
                {
                    goto default;
                }

                int certificate = random.Next(pem.Certificates.Count);
                int index = random.Next(pem.Certificates[certificate].Der.Length);
                byte mask = (byte)random.Next(1, 256);
                applied.Add($"certificate {certificate} DER [{index}] ^= 0x{mask:X2}");
                return pem.WithDerByteFlipped(certificate, index, mask);
            }

            case 5 when subject.Regions.Trailing.Length > 0 && quote.Length == subject.Quote.Length:
            {
                int position = random.Next(subject.Regions.Trailing.Start, subject.Regions.Trailing.End);
                byte value = (byte)random.Next(256);
                applied.Add($"padding [{position}] = 0x{value:X2}");
                byte[] copy = (byte[])quote.Clone();
                copy[position] = value;
                return copy;
            }

            case 6:
            {
                // A u16/u32 length or type field set to a boundary value.
                int field = subject.Regions.LengthAndTypeFields[random.Next(subject.Regions.LengthAndTypeFields.Length)];
                uint[] values = [0, 1, 5, 6, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF];
                uint value = values[random.Next(values.Length)];
                if (field + 4 > quote.Length)
                {
                    goto default;
                }

                applied.Add($"u32 [{field}] = 0x{value:X}");
                return QuoteMutation.WithUInt32(quote, field, value);
            }

            default:
            {
                int position = random.Next(quote.Length);
                applied.Add($"[{position}] ^= 0xFF");
                return VerifierVectors.Flipped(quote, position);
            }
        }
    }

    private static (string Value, string How) MutateField(Random random, string field, string original)
    {
        bool hex = field is "root_ca_crl" or "pck_crl" or "tcb_info_signature" or "qe_identity_signature";
        bool chain = field.EndsWith("_chain", StringComparison.Ordinal);
        int kind = random.Next(hex || chain ? 5 : 3);
        if (original.Length == 0)
        {
            return ("x", "was empty");
        }

        switch (kind)
        {
            case 0:
            {
                int position = random.Next(original.Length);
                const string Alphabet = "0123456789abcdefABCDEF+/=- \nxyzMIIC{}\":,";
                char c = Alphabet[random.Next(Alphabet.Length)];
                return (string.Concat(original.AsSpan(0, position), c.ToString(), original.AsSpan(position + 1)), $"[{position}] = '{Printable(c)}'");
            }

            case 1:
            {
                int position = random.Next(original.Length + 1);
                string inserted = new(Enumerable.Range(0, random.Next(1, 5)).Select(_ => (char)random.Next(0x20, 0x7F)).ToArray());
                return (original.Insert(position, inserted), $"insert '{inserted}' at {position}");
            }

            case 2:
            {
                int position = random.Next(original.Length);
                int length = Math.Min(random.Next(1, 5), original.Length - position);
                return (original.Remove(position, length), $"delete {length} at {position}");
            }

            case 3 when hex:
            {
                byte[] bytes = Convert.FromHexString(original);
                int index = random.Next(bytes.Length);
                byte mask = (byte)random.Next(1, 256);
                bytes[index] ^= mask;
                return (Convert.ToHexString(bytes), $"byte [{index}] ^= 0x{mask:X2}");
            }

            case 3:
            {
                // A DER byte of one certificate of the chain.
                List<byte[]> certificates = Certificates(original)!;
                int certificate = random.Next(certificates.Count);
                int index = random.Next(certificates[certificate].Length);
                byte mask = (byte)random.Next(1, 256);
                certificates[certificate][index] ^= mask;
                return (Pem(certificates), $"certificate {certificate} DER [{index}] ^= 0x{mask:X2}");
            }

            case 4 when hex:
            {
                int length = random.Next(original.Length);
                return (original[..length], $"cut to {length}");
            }

            default:
            {
                // The chain's certificates reordered, repeated or dropped.
                List<byte[]> certificates = Certificates(original)!;
                int pick = random.Next(certificates.Count);
                List<byte[]> changed = random.Next(3) switch
                {
                    0 => [.. certificates.AsEnumerable().Reverse()],
                    1 => [.. certificates, certificates[pick]],
                    _ => [.. certificates.Where((_, i) => i != pick)],
                };
                return (Pem(changed), $"certificates {certificates.Count} → {changed.Count}, reordered or repeated");
            }
        }
    }

    /// <summary>True when everything the verifier reads from the quote is the same as in the original.</summary>
    private static bool SameEvidence(Quote original, byte[] mutated)
    {
        if (!Quote.TryParseEvidence(mutated, out Quote? quote, out _))
        {
            return false;
        }

        return original.SignedRegion.Span.SequenceEqual(quote!.SignedRegion.Span)
            && original.Signature.AsSpan().SequenceEqual(quote.Signature)
            && original.AttestationKey.AsSpan().SequenceEqual(quote.AttestationKey)
            && original.QeReportRaw.AsSpan().SequenceEqual(quote.QeReportRaw)
            && original.QeReportSignature.AsSpan().SequenceEqual(quote.QeReportSignature)
            && original.QeAuthData.AsSpan().SequenceEqual(quote.QeAuthData)
            && original.CertificationDataType == quote.CertificationDataType
            && SameCertificates(Certificates(original.PckCertificateChainPem), Certificates(quote.PckCertificateChainPem));
    }

    private static bool SameField(string field, string original, string mutated)
    {
        if (field.EndsWith("_chain", StringComparison.Ordinal))
        {
            return SameCertificates(Certificates(original), Certificates(mutated));
        }

        if (field is "tcb_info" or "qe_identity")
        {
            return string.Equals(original, mutated, StringComparison.Ordinal);
        }

        try
        {
            return Convert.FromHexString(original).AsSpan().SequenceEqual(Convert.FromHexString(mutated));
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool SameCertificates(List<byte[]>? a, List<byte[]>? b) =>
        a is not null && b is not null && a.Count == b.Count && a.Zip(b).All(pair => pair.First.AsSpan().SequenceEqual(pair.Second));

    /// <summary>The DER of each CERTIFICATE block, as the verifier finds them; null when one does not decode.</summary>
    private static List<byte[]>? Certificates(string? pem)
    {
        if (pem is null)
        {
            return null;
        }

        var certificates = new List<byte[]>();
        ReadOnlySpan<char> rest = pem;
        while (PemEncoding.TryFind(rest, out PemFields fields))
        {
            if (rest[fields.Label].SequenceEqual("CERTIFICATE"))
            {
                try
                {
                    certificates.Add(Convert.FromBase64String(rest[fields.Base64Data].ToString()));
                }
                catch (FormatException)
                {
                    return null;
                }
            }

            rest = rest[fields.Location.End..];
        }

        return certificates;
    }

    private static string Pem(IEnumerable<byte[]> certificates)
    {
        var builder = new StringBuilder();
        foreach (byte[] der in certificates)
        {
            builder.Append(PemEncoding.Write("CERTIFICATE", der)).Append('\n');
        }

        return builder.ToString();
    }

    private static string Printable(char c) => c == '\n' ? "\\n" : c.ToString();

    /// <summary>A vector with its collateral, a verifier that has verified it once, and its regions.</summary>
    private sealed record Subject(string Name, byte[] Quote, Quote Parsed, QuoteCollateral Collateral, QuoteVerifier Verifier, QuoteRegions Regions, QuoteVerificationResult Baseline)
    {
        public static Subject Load(string name)
        {
            byte[] quote = DcapVectors.Quote(name);
            QuoteCollateral collateral = VectorVerificationTests.Collateral(name);
            QuoteVerifier verifier = VerifierVectors.VerifierFor(name);
            QuoteVerificationResult baseline = VerifierVectors.AssertBaseline(verifier, name, quote, collateral);
            var regions = new QuoteRegions(quote);
            return new Subject(name, quote, regions.Quote, collateral, verifier, regions, baseline);
        }
    }
}
