using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Confide.Enclave.Calls.Contracts;

/// <summary>
/// Encodes one argument or result. Bytes and strings cross as raw bytes (a 1 MiB buffer costs a
/// copy, not a base64 round trip); primitives as little-endian; anything else as System.Text.Json.
/// Decoding is strict: a value that does not decode exactly is a <see cref="EnclaveCallException"/>
/// with <see cref="EnclaveCallError.MalformedMessage"/>, because it comes from the other, untrusted side.
/// </summary>
internal abstract class ValueCodec
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.General) { MaxDepth = 64 };

    public abstract Type Type { get; }

    public abstract void Write(object? value, IBufferWriter<byte> writer);

    public abstract object? Read(ReadOnlySpan<byte> content);

    public static ValueCodec For(Type type)
    {
        Type? nullable = Nullable.GetUnderlyingType(type);
        if (nullable is not null)
        {
            return new NullableCodec(For(nullable), type);
        }

        if (type.IsEnum)
        {
            return new EnumCodec(type, For(Enum.GetUnderlyingType(type)));
        }

        if (type == typeof(byte[]))
        {
            return new Raw<byte[]>(v => v, c => c.ToArray());
        }

        if (type == typeof(ReadOnlyMemory<byte>))
        {
            return new Raw<ReadOnlyMemory<byte>>(v => v.Span, c => new ReadOnlyMemory<byte>(c.ToArray()));
        }

        if (type == typeof(Memory<byte>))
        {
            return new Raw<Memory<byte>>(v => v.Span, c => new Memory<byte>(c.ToArray()));
        }

        if (type == typeof(string))
        {
            return new StringCodec();
        }

        return Type.GetTypeCode(type) switch
        {
            TypeCode.Boolean => new Fixed<bool>(1, (s, v) => s[0] = v ? (byte)1 : (byte)0, s => s[0] switch { 0 => false, 1 => true, _ => throw Malformed("a bool must be 0 or 1") }),
            TypeCode.Byte => new Fixed<byte>(1, (s, v) => s[0] = v, s => s[0]),
            TypeCode.SByte => new Fixed<sbyte>(1, (s, v) => s[0] = (byte)v, s => (sbyte)s[0]),
            TypeCode.Int16 => new Fixed<short>(2, BinaryPrimitives.WriteInt16LittleEndian, BinaryPrimitives.ReadInt16LittleEndian),
            TypeCode.UInt16 => new Fixed<ushort>(2, BinaryPrimitives.WriteUInt16LittleEndian, BinaryPrimitives.ReadUInt16LittleEndian),
            TypeCode.Int32 => new Fixed<int>(4, BinaryPrimitives.WriteInt32LittleEndian, BinaryPrimitives.ReadInt32LittleEndian),
            TypeCode.UInt32 => new Fixed<uint>(4, BinaryPrimitives.WriteUInt32LittleEndian, BinaryPrimitives.ReadUInt32LittleEndian),
            TypeCode.Int64 => new Fixed<long>(8, BinaryPrimitives.WriteInt64LittleEndian, BinaryPrimitives.ReadInt64LittleEndian),
            TypeCode.UInt64 => new Fixed<ulong>(8, BinaryPrimitives.WriteUInt64LittleEndian, BinaryPrimitives.ReadUInt64LittleEndian),
            TypeCode.Single => new Fixed<float>(4, BinaryPrimitives.WriteSingleLittleEndian, BinaryPrimitives.ReadSingleLittleEndian),
            TypeCode.Double => new Fixed<double>(8, BinaryPrimitives.WriteDoubleLittleEndian, BinaryPrimitives.ReadDoubleLittleEndian),
            _ => new JsonCodec(type),
        };
    }

    internal static EnclaveCallException Malformed(string reason) => new(EnclaveCallError.MalformedMessage, $"Malformed message: {reason}.");

    private sealed class Raw<T>(Func<T, ReadOnlySpan<byte>> view, Func<ReadOnlySpan<byte>, T> create) : ValueCodec
    {
        public override Type Type => typeof(T);

        public override void Write(object? value, IBufferWriter<byte> writer)
        {
            // One span of the full size: the extension Write would grow the buffer a page at a time.
            ReadOnlySpan<byte> bytes = view((T)value!);
            bytes.CopyTo(writer.GetSpan(bytes.Length));
            writer.Advance(bytes.Length);
        }

        public override object? Read(ReadOnlySpan<byte> content) => create(content);
    }

    private sealed class StringCodec : ValueCodec
    {
        public override Type Type => typeof(string);

        public override void Write(object? value, IBufferWriter<byte> writer)
        {
            string text = (string)value!;
            int count = StrictUtf8.GetByteCount(text);
            StrictUtf8.GetBytes(text, writer.GetSpan(count));
            writer.Advance(count);
        }

        public override object? Read(ReadOnlySpan<byte> content)
        {
            try
            {
                return StrictUtf8.GetString(content);
            }
            catch (DecoderFallbackException)
            {
                throw Malformed("a string is not valid UTF-8");
            }
        }
    }

    private delegate void SpanWriter<T>(Span<byte> target, T value);

    private delegate T SpanReader<T>(ReadOnlySpan<byte> source);

    private sealed class Fixed<T>(int size, SpanWriter<T> write, SpanReader<T> read) : ValueCodec
    {
        public override Type Type => typeof(T);

        public override void Write(object? value, IBufferWriter<byte> writer)
        {
            write(writer.GetSpan(size), (T)value!);
            writer.Advance(size);
        }

        public override object? Read(ReadOnlySpan<byte> content) =>
            content.Length == size ? read(content) : throw Malformed($"a {typeof(T).Name} must be {size} bytes, got {content.Length}");
    }

    private sealed class EnumCodec(Type type, ValueCodec underlying) : ValueCodec
    {
        public override Type Type => type;

        public override void Write(object? value, IBufferWriter<byte> writer) =>
            underlying.Write(Convert.ChangeType(value, underlying.Type, System.Globalization.CultureInfo.InvariantCulture), writer);

        public override object? Read(ReadOnlySpan<byte> content) => Enum.ToObject(type, underlying.Read(content)!);
    }

    private sealed class NullableCodec(ValueCodec inner, Type type) : ValueCodec
    {
        public override Type Type => type;

        public override void Write(object? value, IBufferWriter<byte> writer) => inner.Write(value, writer);

        public override object? Read(ReadOnlySpan<byte> content) => inner.Read(content);
    }

    private sealed class JsonCodec(Type type) : ValueCodec
    {
        public override Type Type => type;

        public override void Write(object? value, IBufferWriter<byte> writer)
        {
            using var json = new Utf8JsonWriter(writer);
            JsonSerializer.Serialize(json, value, type, JsonOptions);
        }

        public override object? Read(ReadOnlySpan<byte> content)
        {
            try
            {
                return JsonSerializer.Deserialize(content, type, JsonOptions)
                    ?? (type.IsValueType ? throw Malformed($"null for {type.Name}") : null);
            }
            catch (Exception ex) when (ex is not (EnclaveCallException or OutOfMemoryException))
            {
                // Whatever a type's constructor or converter throws on hostile input is the
                // sender's malformed message, not this side's failure.
                throw Malformed($"cannot decode {type.Name}: {ex.Message}");
            }
        }
    }
}
