using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Confide.Enclave.Calls.Contracts;

namespace Confide.Enclave.Calls.Protocol;

/// <summary>
/// Payload encodings. Arguments and results are a sequence of values, each <c>u32 length</c> then
/// its bytes (<c>0xFFFFFFFF</c> = null). An error is <c>u16 code | string type | string message</c>.
/// Decoders consume the payload exactly: trailing or missing bytes are malformed.
/// </summary>
internal static class MessageCodec
{
    private const uint NullMarker = uint.MaxValue;

    private const int MaxErrorText = 4096;

    public static void WriteValue(IBufferWriter<byte> writer, ValueCodec codec, object? value)
    {
        if (value is null)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(writer.GetSpan(4), NullMarker);
            writer.Advance(4);
            return;
        }

        // Reserve the length, encode in place, then patch the length: no intermediate copy.
        var counting = new LengthPrefixedWriter(writer);
        codec.Write(value, counting);
        counting.Complete();
    }

    public static void WriteArguments(IBufferWriter<byte> writer, CallMethod method, object?[]? args)
    {
        int codecIndex = 0;
        for (int i = 0; args is not null && i < args.Length; i++)
        {
            if (i == method.CancellationTokenIndex)
            {
                continue;
            }

            WriteValue(writer, method.Parameters[codecIndex++], args[i]);
        }
    }

    /// <summary>Decodes the arguments of <paramref name="method"/>; the token slot is left for the caller.</summary>
    public static object?[] ReadArguments(ReadOnlySpan<byte> payload, CallMethod method)
    {
        int total = method.Parameters.Length + (method.CancellationTokenIndex >= 0 ? 1 : 0);
        object?[] args = new object?[total];
        int codecIndex = 0;
        for (int i = 0; i < total; i++)
        {
            if (i == method.CancellationTokenIndex)
            {
                continue;
            }

            args[i] = ReadValue(ref payload, method.Parameters[codecIndex++]);
        }

        if (!payload.IsEmpty)
        {
            throw ValueCodec.Malformed($"{payload.Length} unexpected bytes after the arguments of {method.Name}");
        }

        return args;
    }

    public static object? ReadResult(ReadOnlySpan<byte> payload, CallMethod method)
    {
        if (method.Result is null)
        {
            return payload.IsEmpty ? null : throw ValueCodec.Malformed($"{method.Name} returns no value but the result has {payload.Length} bytes");
        }

        object? value = ReadValue(ref payload, method.Result);
        return payload.IsEmpty ? value : throw ValueCodec.Malformed($"unexpected bytes after the result of {method.Name}");
    }

    public static object? ReadValue(ref ReadOnlySpan<byte> payload, ValueCodec codec)
    {
        if (payload.Length < 4)
        {
            throw ValueCodec.Malformed("a value's length is truncated");
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        payload = payload[4..];
        if (length == NullMarker)
        {
            return codec.Type.IsValueType && Nullable.GetUnderlyingType(codec.Type) is null
                ? throw ValueCodec.Malformed($"null for the non-nullable {codec.Type.Name}")
                : null;
        }

        if (length > (uint)payload.Length)
        {
            throw ValueCodec.Malformed($"a value claims {length} bytes but {payload.Length} remain");
        }

        object? value = codec.Read(payload[..(int)length]);
        payload = payload[(int)length..];
        return value;
    }

    public static void WriteError(IBufferWriter<byte> writer, EnclaveCallError error, string? type, string message)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(writer.GetSpan(2), (ushort)error);
        writer.Advance(2);
        WriteText(writer, type ?? string.Empty);
        WriteText(writer, message);
    }

    public static EnclaveCallException ReadError(ReadOnlySpan<byte> payload, string peer)
    {
        if (payload.Length < 2)
        {
            return ValueCodec.Malformed($"an error frame from the {peer} is truncated");
        }

        var error = (EnclaveCallError)BinaryPrimitives.ReadUInt16LittleEndian(payload);
        payload = payload[2..];
        string? type = ReadText(ref payload);
        string? message = ReadText(ref payload);
        if (type is null || message is null || !Enum.IsDefined(error))
        {
            return ValueCodec.Malformed($"an error frame from the {peer} is malformed");
        }

        string text = error == EnclaveCallError.Faulted ? $"The {peer} threw {type}: {message}" : message;
        return new EnclaveCallException(error, text, type.Length == 0 ? null : type);
    }

    private static void WriteText(IBufferWriter<byte> writer, string text)
    {
        if (text.Length > MaxErrorText)
        {
            text = text[..MaxErrorText];
        }

        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        BinaryPrimitives.WriteUInt32LittleEndian(writer.GetSpan(4), (uint)utf8.Length);
        writer.Advance(4);
        writer.Write(utf8);
    }

    private static string? ReadText(ref ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 4)
        {
            return null;
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        if (length > MaxErrorText * 4 || length > payload.Length - 4)
        {
            return null;
        }

        string text = Encoding.UTF8.GetString(payload.Slice(4, (int)length));
        payload = payload[(4 + (int)length)..];
        return text;
    }

    /// <summary>Writes a value behind a 4-byte length placeholder that is patched on completion.</summary>
    private sealed class LengthPrefixedWriter : IBufferWriter<byte>
    {
        private readonly IBufferWriter<byte> _inner;
        private readonly PooledBufferWriter? _pooled;
        private readonly int _lengthPosition;
        private readonly ArrayBufferWriter<byte>? _fallback;

        public LengthPrefixedWriter(IBufferWriter<byte> inner)
        {
            _inner = inner;
            if (inner is PooledBufferWriter pooled)
            {
                _pooled = pooled;
                _lengthPosition = pooled.Reserved + pooled.PayloadLength;
                pooled.GetSpan(4);
                pooled.Advance(4);
            }
            else
            {
                _fallback = new ArrayBufferWriter<byte>();
            }
        }

        public void Advance(int count)
        {
            if (_fallback is not null)
            {
                _fallback.Advance(count);
            }
            else
            {
                _inner.Advance(count);
            }
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => _fallback is not null ? _fallback.GetMemory(sizeHint) : _inner.GetMemory(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => _fallback is not null ? _fallback.GetSpan(sizeHint) : _inner.GetSpan(sizeHint);

        public void Complete()
        {
            if (_fallback is not null)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(_inner.GetSpan(4), (uint)_fallback.WrittenCount);
                _inner.Advance(4);
                _inner.Write(_fallback.WrittenSpan);
                return;
            }

            int length = _pooled!.Reserved + _pooled.PayloadLength - _lengthPosition - 4;
            BinaryPrimitives.WriteUInt32LittleEndian(_pooled.WrittenMemory.Span[_lengthPosition..], (uint)length);
        }
    }
}
