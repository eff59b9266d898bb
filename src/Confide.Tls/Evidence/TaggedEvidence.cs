using System.Formats.Cbor;
using Confide.Tls.Verification;

namespace Confide.Tls.Evidence;

/// <summary>
/// The interoperable RA-TLS encoding (CCC interoperable-ra-tls, sdk.md §5.2) of the DICE evidence
/// extension: <c>tag([bstr quote, bstr claims])</c> where the quote's report data is SHA-256 of the
/// claims buffer, a CBOR map whose <c>pubkey-hash</c> is <c>bstr(CBOR [hash-alg-id, hash])</c> over
/// the certificate's DER SubjectPublicKeyInfo.
/// </summary>
public static class TaggedEvidence
{
    /// <summary>IANA CBOR tag: an Intel TEE ECDSA quote (SGX v3/v4, TDX v4).</summary>
    public const ulong IntelQuoteTag = 60000;

    /// <summary>IANA named-information hash algorithm ids.</summary>
    public const int Sha256 = 1, Sha384 = 7, Sha512 = 8;

    /// <summary>The claims buffer binding <paramref name="subjectPublicKeyInfo"/> (SHA-256).</summary>
    public static byte[] CreateClaims(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        var hash = new CborWriter(CborConformanceMode.Canonical);
        hash.WriteStartArray(2);
        hash.WriteInt32(Sha256);
        hash.WriteByteString(System.Security.Cryptography.SHA256.HashData(subjectPublicKeyInfo));
        hash.WriteEndArray();

        var claims = new CborWriter(CborConformanceMode.Canonical);
        claims.WriteStartMap(1);
        claims.WriteTextString("pubkey-hash");
        claims.WriteByteString(hash.Encode());
        claims.WriteEndMap();
        return claims.Encode();
    }

    /// <summary><c>60000([quote, claims])</c>.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> quote, ReadOnlySpan<byte> claims)
    {
        var writer = new CborWriter(CborConformanceMode.Canonical);
        writer.WriteTag((CborTag)IntelQuoteTag);
        writer.WriteStartArray(2);
        writer.WriteByteString(quote);
        writer.WriteByteString(claims);
        writer.WriteEndArray();
        return writer.Encode();
    }

    /// <summary>Splits the extension value into the quote and the claims buffer.</summary>
    /// <exception cref="AttestedTlsException">Not tagged evidence with an Intel quote.</exception>
    public static (byte[] Quote, byte[] Claims) Decode(ReadOnlyMemory<byte> value) => Parse(value, reader =>
    {
        CborTag tag = reader.ReadTag();
        if ((ulong)tag != IntelQuoteTag)
        {
            throw Malformed($"CBOR tag {(ulong)tag} is not an Intel TEE quote ({IntelQuoteTag}); TDX/SGX reports (60001, 60002) are not supported.");
        }

        if (reader.ReadStartArray() != 2)
        {
            throw Malformed("Tagged evidence is an array of two byte strings: the quote and the claims.");
        }

        byte[] quote = reader.ReadByteString();
        byte[] claims = reader.ReadByteString();
        reader.ReadEndArray();
        return (quote, claims);
    });

    /// <summary>The <c>pubkey-hash</c> claim: its algorithm id and the hash.</summary>
    public static (int Algorithm, byte[] Hash) ReadPublicKeyHash(ReadOnlyMemory<byte> claims)
    {
        byte[]? pubkeyHash = Parse(claims, reader =>
        {
            byte[]? found = null;
            int? count = reader.ReadStartMap();
            for (int i = 0; count is null ? reader.PeekState() != CborReaderState.EndMap : i < count; i++)
            {
                string key = reader.ReadTextString();
                if (key == "pubkey-hash")
                {
                    found = reader.ReadByteString();
                }
                else
                {
                    reader.SkipValue();
                }
            }

            reader.ReadEndMap();
            return found;
        });

        if (pubkeyHash is null)
        {
            throw Malformed("The claims have no 'pubkey-hash'.");
        }

        return Parse(pubkeyHash, reader =>
        {
            if (reader.ReadStartArray() != 2)
            {
                throw Malformed("'pubkey-hash' is [hash-alg-id, hash].");
            }

            int algorithm = reader.ReadInt32();
            byte[] hash = reader.ReadByteString();
            reader.ReadEndArray();
            int expected = algorithm switch
            {
                Sha256 => 32,
                Sha384 => 48,
                Sha512 => 64,
                _ => throw Malformed($"'pubkey-hash' uses hash algorithm {algorithm}; expected sha-256 (1), sha-384 (7) or sha-512 (8)."),
            };
            return hash.Length == expected ? (algorithm, hash) : throw Malformed($"'pubkey-hash' is {hash.Length} bytes; algorithm {algorithm} gives {expected}.");
        });
    }

    /// <summary>A conceptual message wrapper in CBOR record form, <c>[media-type, bstr]</c> (token mode: <c>application/jwt</c>).</summary>
    public static byte[] EncodeRecord(string mediaType, ReadOnlySpan<byte> value)
    {
        var writer = new CborWriter(CborConformanceMode.Canonical);
        writer.WriteStartArray(2);
        writer.WriteTextString(mediaType);
        writer.WriteByteString(value);
        writer.WriteEndArray();
        return writer.Encode();
    }

    /// <summary>True when the extension value is a CBOR record (array) rather than tagged evidence.</summary>
    public static bool IsRecord(ReadOnlySpan<byte> value) => value.Length > 0 && (value[0] & 0xE0) == 0x80;

    public static (string MediaType, byte[] Value) DecodeRecord(ReadOnlyMemory<byte> value) => Parse(value, reader =>
    {
        if (reader.ReadStartArray() is not (2 or 3))
        {
            throw Malformed("A conceptual message wrapper record is [type, value, ?indicator].");
        }

        string type = reader.ReadTextString();
        byte[] content = reader.ReadByteString();
        return (type, content);
    }, allowTrailing: true);

    private static T Parse<T>(ReadOnlyMemory<byte> data, Func<CborReader, T> read, bool allowTrailing = false)
    {
        var reader = new CborReader(data, CborConformanceMode.Lax);
        try
        {
            T result = read(reader);
            if (!allowTrailing && reader.BytesRemaining != 0)
            {
                throw Malformed($"{reader.BytesRemaining} bytes follow the CBOR value.");
            }

            return result;
        }
        catch (Exception ex) when (ex is CborContentException or InvalidOperationException or OverflowException or FormatException)
        {
            throw Malformed($"The CBOR is not valid here: {ex.Message}", ex);
        }
    }

    private static AttestedTlsException Malformed(string message, Exception? inner = null) => new(AttestedTlsError.MalformedEvidence, message, inner);
}
