using Confide.Attestation.Quotes;

namespace Confide.Attestation.Tests;

/// <summary>
/// Seeded random inputs: the decoders must either succeed or throw <see cref="QuoteFormatException"/>.
/// Any other exception escapes the <c>catch</c> below and fails the test with the seed's case number.
/// </summary>
public sealed class FuzzTests
{
    private const int Iterations = 3000;

    [Fact]
    public void RandomBuffers_OnlyFormatErrors()
    {
        var random = new Random(20240601);
        ushort[] versions = [3, 4, 5];
        for (int i = 0; i < Iterations; i++)
        {
            byte[] buffer = new byte[random.Next(0, 2000)];
            random.NextBytes(buffer);

            // Two thirds get a plausible header so that decoding reaches the body and beyond.
            if (i % 3 != 0 && buffer.Length >= QuoteHeader.Size)
            {
                var header = new QuoteHeader
                {
                    Version = versions[random.Next(versions.Length)],
                    TeeType = random.Next(2) == 0 ? TeeType.Sgx : TeeType.Tdx,
                };
                header.WriteTo(buffer);
                if (header.Version == 5)
                {
                    buffer[48] = (byte)random.Next(0, 4);
                    buffer[49] = 0;
                }
            }

            ParseBothWays(buffer, i);
        }
    }

    [Fact]
    public void MutatedRealQuotes_OnlyFormatErrors()
    {
        var random = new Random(7);
        byte[][] quotes = DcapVectors.Names.Select(DcapVectors.Quote).ToArray();
        int[][] fields = quotes.Select(q => QuoteMutation.Layout(Quote.Parse(q)).LengthAndTypeFields().Concat([0, 2, 4, 48, 50]).ToArray()).ToArray();
        uint[] interesting = [0, 1, 2, 5, 6, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF];
        int accepted = 0;

        for (int i = 0; i < Iterations; i++)
        {
            int which = random.Next(quotes.Length);
            byte[] quote = (byte[])quotes[which].Clone();
            int mutations = random.Next(1, 4);
            for (int m = 0; m < mutations; m++)
            {
                int field = fields[which][random.Next(fields[which].Length)];
                int kind = random.Next(4);
                if (kind is 1 or 2 && field + 4 > quote.Length)
                {
                    // An earlier truncation removed this field.
                    kind = 0;
                }

                switch (kind)
                {
                    case 0:
                        quote[random.Next(quote.Length)] ^= (byte)random.Next(1, 256);
                        break;
                    case 1:
                        {
                            // Length and type fields are where parsers go wrong; hit them hardest.
                            uint value = random.Next(2) == 0 ? interesting[random.Next(interesting.Length)] : (uint)random.Next();
                            quote = random.Next(2) == 0
                                ? QuoteMutation.WithUInt32(quote, field, value)
                                : QuoteMutation.WithUInt16(quote, field, (ushort)value);
                            break;
                        }

                    case 2:
                        {
                            int delta = random.Next(-3, 4);
                            quote = QuoteMutation.WithUInt16(quote, field, (ushort)(QuoteMutation.UInt16At(quote, field) + delta));
                            break;
                        }

                    default:
                        quote = quote[..random.Next(quote.Length)];
                        break;
                }

                if (quote.Length < 64)
                {
                    break;
                }
            }

            accepted += ParseBothWays(quote, i) ? 1 : 0;
        }

        // Mutations in bodies and PEM text leave the quote decodable: the fuzz reached deep.
        Assert.InRange(accepted, 1, Iterations - 1);
    }

    [Fact]
    public void MutatedPckExtensions_OnlyFormatErrors()
    {
        var random = new Random(99);
        byte[][] extensions = DcapVectors.Names
            .Select(name =>
            {
                var chain = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
                chain.ImportFromPem(Quote.Parse(DcapVectors.Quote(name)).PckCertificateChainPem!);
                return chain[0].Extensions[SgxPckExtensions.Oid]!.RawData;
            })
            .ToArray();

        for (int i = 0; i < Iterations; i++)
        {
            byte[] der = (byte[])extensions[random.Next(extensions.Length)].Clone();
            switch (random.Next(3))
            {
                case 0:
                    der[random.Next(der.Length)] ^= (byte)random.Next(1, 256);
                    break;
                case 1:
                    der = der[..random.Next(der.Length)];
                    break;
                default:
                    der[random.Next(der.Length)] = (byte)random.Next(256);
                    der[random.Next(der.Length)] = (byte)random.Next(256);
                    break;
            }

            try
            {
                SgxPckExtensions decoded = SgxPckExtensions.Decode(der);
                Assert.Equal(decoded, SgxPckExtensions.Decode(decoded.Encode()));
            }
            catch (QuoteFormatException e)
            {
                Assert.Equal(QuoteFormatError.InvalidPckExtension, e.Error);
                Assert.InRange(e.Offset, 0, der.Length);
            }
        }
    }

    /// <summary>Parses as a raw quote and as OE evidence; returns whether the raw parse succeeded.</summary>
    private static bool ParseBothWays(byte[] buffer, int caseNumber)
    {
        bool parsed = TryParse(() => Quote.Parse(buffer), buffer.Length, caseNumber);
        TryParse(() => Quote.ParseEvidence(OpenEnclaveReport.Wrap(buffer)), buffer.Length + OpenEnclaveReport.HeaderSize, caseNumber);
        return parsed;
    }

    private static bool TryParse(Func<Quote> parse, int inputLength, int caseNumber)
    {
        try
        {
            Quote quote = parse();
            Assert.True(quote.SignedLength <= quote.RawQuote.Length, $"case {caseNumber}");
            return true;
        }
        catch (QuoteFormatException e)
        {
            Assert.True(e.Offset >= 0 && e.Offset <= inputLength, $"case {caseNumber}: offset {e.Offset} outside input of {inputLength}");
            return false;
        }
    }
}
