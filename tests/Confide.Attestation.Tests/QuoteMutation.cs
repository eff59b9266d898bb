using System.Buffers.Binary;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Tests;

/// <summary>Copy-and-patch helpers for corrupting one field of a real quote.</summary>
internal static class QuoteMutation
{
    public static byte[] WithUInt16(byte[] quote, int offset, ushort value)
    {
        byte[] copy = (byte[])quote.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }

    public static byte[] WithUInt32(byte[] quote, int offset, uint value)
    {
        byte[] copy = (byte[])quote.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }

    public static byte[] WithByte(byte[] quote, int offset, byte value)
    {
        byte[] copy = (byte[])quote.Clone();
        copy[offset] = value;
        return copy;
    }

    public static ushort UInt16At(byte[] quote, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(quote.AsSpan(offset));

    public static uint UInt32At(byte[] quote, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(quote.AsSpan(offset));

    /// <summary>Parses and returns the error; fails the test if parsing succeeds or throws anything else.</summary>
    public static QuoteFormatException ParseError(byte[] quote)
    {
        bool parsed = Quote.TryParse(quote, out _, out QuoteFormatException? error);
        Assert.False(parsed, "the corrupted quote was accepted");
        return error!;
    }

    public static void AssertError(byte[] quote, QuoteFormatError expected, int expectedOffset)
    {
        QuoteFormatException error = ParseError(quote);
        Assert.Equal(expected, error.Error);
        Assert.Equal(expectedOffset, error.Offset);
        Assert.Contains($"offset {expectedOffset}", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Offsets of the length and type fields of a parsed quote, computed from its shape.</summary>
    public static QuoteLayout Layout(Quote quote) => new(quote);
}

/// <summary>
/// Where a quote's length and type fields are (the README's "Byte offsets" table, derived from
/// the parsed quote so that it holds for v3, v4 and v5 alike).
/// </summary>
internal sealed class QuoteLayout
{
    public QuoteLayout(Quote quote)
    {
        SignatureDataLength = quote.SignedLength;
        int afterKeys = SignatureDataLength + 4 + 64 + 64;
        if (quote.Version == 3)
        {
            OuterCertificationType = null;
            OuterCertificationSize = null;
            QeReport = afterKeys;
        }
        else
        {
            OuterCertificationType = afterKeys;
            OuterCertificationSize = afterKeys + 2;
            QeReport = afterKeys + 6;
        }

        QeAuthDataSize = QeReport + 384 + 64;
        CertificationType = QeAuthDataSize + 2 + quote.QeAuthData.Length;
        CertificationSize = CertificationType + 2;
        CertificationData = CertificationSize + 4;
    }

    public int SignatureDataLength { get; }

    public int? OuterCertificationType { get; }

    public int? OuterCertificationSize { get; }

    public int QeReport { get; }

    public int QeAuthDataSize { get; }

    public int CertificationType { get; }

    public int CertificationSize { get; }

    public int CertificationData { get; }

    public IEnumerable<int> LengthAndTypeFields()
    {
        yield return SignatureDataLength;
        if (OuterCertificationType is { } outerType)
        {
            yield return outerType;
            yield return OuterCertificationSize!.Value;
        }

        yield return QeAuthDataSize;
        yield return CertificationType;
        yield return CertificationSize;
    }
}
