using System.Buffers.Binary;
using System.Text;

namespace Confide.Tls.EndToEnd;

/// <summary>A request carried inside an end-to-end message: what an HTTP request would have said.</summary>
public sealed record EndToEndRequest(string Method, string Path, string ContentType, byte[] Body)
{
    /// <summary><c>u8 len || method || u16 len || path || u8 len || content type || body</c> (lengths big-endian).</summary>
    public byte[] Encode()
    {
        byte[] method = Encoding.ASCII.GetBytes(Method), path = Encoding.UTF8.GetBytes(Path), type = Encoding.ASCII.GetBytes(ContentType);
        if (method.Length > 255 || path.Length > ushort.MaxValue || type.Length > 255)
        {
            throw new ArgumentException("The method, path or content type is too long for an end-to-end request.");
        }

        byte[] encoded = new byte[1 + method.Length + 2 + path.Length + 1 + type.Length + Body.Length];
        var writer = new SpanWriter(encoded);
        writer.Byte((byte)method.Length).Bytes(method).UInt16((ushort)path.Length).Bytes(path).Byte((byte)type.Length).Bytes(type).Bytes(Body);
        return encoded;
    }

    /// <exception cref="EndToEndException">Malformed.</exception>
    public static EndToEndRequest Decode(ReadOnlySpan<byte> encoded)
    {
        var reader = new SpanReader(encoded);
        string method = Encoding.ASCII.GetString(reader.Bytes(reader.Byte()));
        string path = Encoding.UTF8.GetString(reader.Bytes(reader.UInt16()));
        string type = Encoding.ASCII.GetString(reader.Bytes(reader.Byte()));
        if (method is not ("GET" or "POST") || !path.StartsWith('/'))
        {
            throw new EndToEndException(EndToEndError.Malformed, $"The inner request '{method} {path}' is not a GET or POST of an absolute path.");
        }

        return new EndToEndRequest(method, path, type, reader.Rest().ToArray());
    }
}

/// <summary>The answer carried back: an HTTP status, a content type and a body.</summary>
public sealed record EndToEndResponse(int Status, string ContentType, byte[] Body)
{
    /// <summary><c>u16 status || u8 len || content type || body</c>.</summary>
    public byte[] Encode()
    {
        byte[] type = Encoding.ASCII.GetBytes(ContentType);
        byte[] encoded = new byte[2 + 1 + type.Length + Body.Length];
        new SpanWriter(encoded).UInt16((ushort)Status).Byte((byte)type.Length).Bytes(type).Bytes(Body);
        return encoded;
    }

    public static EndToEndResponse Decode(ReadOnlySpan<byte> encoded)
    {
        var reader = new SpanReader(encoded);
        int status = reader.UInt16();
        string type = Encoding.ASCII.GetString(reader.Bytes(reader.Byte()));
        return new EndToEndResponse(status, type, reader.Rest().ToArray());
    }
}

internal ref struct SpanWriter(Span<byte> destination)
{
    private readonly Span<byte> _destination = destination;
    private int _position;

    public SpanWriter Byte(byte value)
    {
        _destination[_position++] = value;
        return this;
    }

    public SpanWriter UInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_destination[_position..], value);
        _position += 2;
        return this;
    }

    public SpanWriter Bytes(ReadOnlySpan<byte> value)
    {
        value.CopyTo(_destination[_position..]);
        _position += value.Length;
        return this;
    }
}

internal ref struct SpanReader(ReadOnlySpan<byte> source)
{
    private readonly ReadOnlySpan<byte> _source = source;
    private int _position;

    public byte Byte() => Bytes(1)[0];

    public ushort UInt16() => BinaryPrimitives.ReadUInt16BigEndian(Bytes(2));

    public ReadOnlySpan<byte> Bytes(int count)
    {
        if (_source.Length - _position < count)
        {
            throw new EndToEndException(EndToEndError.Malformed, "The inner message is truncated.");
        }

        ReadOnlySpan<byte> value = _source.Slice(_position, count);
        _position += count;
        return value;
    }

    public ReadOnlySpan<byte> Rest() => _source[_position..];
}
