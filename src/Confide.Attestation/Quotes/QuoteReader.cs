using System.Buffers.Binary;

namespace Confide.Attestation.Quotes;

/// <summary>
/// A forward-only, bounds-checked cursor over one region of a quote (the whole quote, the
/// signature data, or a certification data payload).
/// </summary>
/// <remarks>
/// Each region knows its absolute start so that errors point into the caller's buffer, and
/// which error an overrun means: running off the end of the whole input is truncation, but
/// running off the end of a length-delimited region means its declared length is wrong.
/// </remarks>
internal ref struct QuoteReader
{
    private readonly ReadOnlySpan<byte> _region;
    private readonly int _regionStart;
    private readonly QuoteFormatError _overrunError;
    private readonly string _regionName;
    private int _position;

    public QuoteReader(ReadOnlySpan<byte> region, int regionStart, QuoteFormatError overrunError, string regionName)
    {
        _region = region;
        _regionStart = regionStart;
        _overrunError = overrunError;
        _regionName = regionName;
    }

    /// <summary>Absolute offset of the next byte to read.</summary>
    public readonly int Offset => _regionStart + _position;

    /// <summary>Bytes read so far from this region.</summary>
    public readonly int Position => _position;

    public readonly int Remaining => _region.Length - _position;

    public ReadOnlySpan<byte> ReadBytes(int count, string field)
    {
        if (count > Remaining)
        {
            throw Overrun(field, count);
        }

        ReadOnlySpan<byte> value = _region.Slice(_position, count);
        _position += count;
        return value;
    }

    public ushort ReadUInt16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(sizeof(ushort), field));

    public uint ReadUInt32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(sizeof(uint), field));

    /// <summary>
    /// Reads a u32 length followed by that many bytes and returns a reader over them.
    /// A length beyond this region is reported as <paramref name="lengthOutOfRangeError"/>;
    /// overruns inside the new region as <paramref name="innerOverrunError"/>.
    /// </summary>
    public QuoteReader ReadLengthPrefixedRegion(
        string lengthField,
        string regionName,
        QuoteFormatError lengthOutOfRangeError,
        QuoteFormatError innerOverrunError)
    {
        int lengthOffset = Offset;
        uint length = ReadUInt32(lengthField);
        if (length > (uint)Remaining)
        {
            throw new QuoteFormatException(
                lengthOutOfRangeError,
                lengthOffset,
                $"{lengthField} declares {length} bytes of {regionName} but only {Remaining} remain in the {_regionName}");
        }

        int start = Offset;
        ReadOnlySpan<byte> content = ReadBytes((int)length, regionName);
        return new QuoteReader(content, start, innerOverrunError, regionName);
    }

    /// <summary>Declared lengths must be exact: leftover bytes would be data nobody looks at.</summary>
    public readonly void ExpectEnd(string lastField)
    {
        if (Remaining != 0)
        {
            throw new QuoteFormatException(
                _overrunError,
                Offset,
                $"{_regionName} has {Remaining} unexpected bytes after {lastField}");
        }
    }

    private readonly QuoteFormatException Overrun(string field, int count)
    {
        string message = _overrunError == QuoteFormatError.Truncated
            ? $"Input truncated: {field} needs {count} bytes but only {Remaining} remain"
            : $"{field} ({count} bytes) runs past the end of the {_regionName}, which ends at offset {_regionStart + _region.Length}";
        return new QuoteFormatException(_overrunError, Offset, message);
    }
}
