using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Confide.Ledger.Kv;

/// <summary>
/// CCF's raw serialisation of the maps of one security domain (kv/raw_serialise.h): the bytes that
/// become a ledger entry's public domain body, or, encrypted, its private domain.
/// </summary>
/// <remarks>
/// All integers are u64 little-endian; a string or byte string is a u64 length then its bytes. For
/// each changed map of the domain, in name order:
/// <code>
/// name               u64 length ‖ UTF-8 bytes
/// read version       u64 = 0      (CCF writes NoVersion: reads are not recorded in the ledger)
/// read count         u64 = 0
/// write count        u64 n, then n × (u64 key length ‖ key ‖ u64 value length ‖ value), by key
/// remove count       u64 m, then m × (u64 key length ‖ key), by key
/// </code>
/// Decoding accepts only this canonical form (sorted, no duplicates, no empty map, nothing trailing),
/// so one write set has exactly one encoding.
/// </remarks>
public static class WriteSetCodec
{
    /// <summary>The serialised maps of <paramref name="domain"/> (empty when the domain has no changes).</summary>
    public static byte[] EncodeDomain(WriteSet writeSet, SecurityDomain domain)
    {
        ArgumentNullException.ThrowIfNull(writeSet);
        var buffer = new ArrayBufferWriter<byte>();
        foreach (MapChanges map in writeSet.InDomain(domain))
        {
            ByteWriter.WriteLengthPrefixed(buffer, Encoding.UTF8.GetBytes(map.Name));
            ByteWriter.WriteUInt64(buffer, 0); // read version
            ByteWriter.WriteUInt64(buffer, 0); // read count

            ByteWriter.WriteUInt64(buffer, (ulong)map.Writes.Count);
            foreach (KvWrite write in map.Writes)
            {
                ByteWriter.WriteLengthPrefixed(buffer, write.Key.Span);
                ByteWriter.WriteLengthPrefixed(buffer, write.Value.Span);
            }

            ByteWriter.WriteUInt64(buffer, (ulong)map.Removes.Count);
            foreach (ReadOnlyMemory<byte> key in map.Removes)
            {
                ByteWriter.WriteLengthPrefixed(buffer, key.Span);
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Decodes the maps of one domain into <paramref name="into"/>. False, with the reason and the
    /// offset within <paramref name="bytes"/> where decoding stopped, for anything not canonical.
    /// </summary>
    public static bool TryDecodeDomain(ReadOnlySpan<byte> bytes, SecurityDomain domain, WriteSetBuilder into, [NotNullWhen(false)] out string? error, out int errorOffset)
    {
        ArgumentNullException.ThrowIfNull(into);
        var reader = new ByteReader(bytes);
        byte[]? previousName = null;
        while (!reader.IsAtEnd)
        {
            errorOffset = reader.Position;
            if (!TryReadMapHeader(ref reader, domain, previousName, into, out byte[]? nameBytes, out string? name, out error))
            {
                return false;
            }

            previousName = nameBytes;
            if (!TryReadMapBody(ref reader, name, into, out error))
            {
                errorOffset = reader.Position;
                return false;
            }
        }

        error = null;
        errorOffset = reader.Position;
        return true;
    }

    private static bool TryReadMapHeader(ref ByteReader reader, SecurityDomain domain, byte[]? previousName, WriteSetBuilder into, [NotNullWhen(true)] out byte[]? nameBytes, [NotNullWhen(true)] out string? name, [NotNullWhen(false)] out string? error)
    {
        nameBytes = null;
        name = null;
        if (!reader.TryReadLengthPrefixed(out ReadOnlySpan<byte> rawName))
        {
            error = "map name: length exceeds the remaining bytes";
            return false;
        }

        if (!TryDecodeUtf8(rawName, out name) || name.Length == 0)
        {
            error = "map name: empty or not valid UTF-8";
            return false;
        }

        if (MapNames.DomainOf(name) != domain)
        {
            error = $"map '{name}' is in the wrong security domain (expected {domain})";
            return false;
        }

        if (previousName is not null && rawName.SequenceCompareTo(previousName) <= 0)
        {
            error = $"map '{name}' is out of order or repeated";
            return false;
        }

        if (into.Contains(name))
        {
            error = $"map '{name}' appears twice";
            return false;
        }

        if (!reader.TryReadUInt64(out ulong readVersion) || !reader.TryReadUInt64(out ulong readCount))
        {
            error = $"map '{name}': truncated read version or read count";
            return false;
        }

        if (readVersion != 0 || readCount != 0)
        {
            error = $"map '{name}': a ledger entry records no reads (read version {readVersion}, read count {readCount})";
            return false;
        }

        nameBytes = rawName.ToArray();
        error = null;
        return true;
    }

    private static bool TryReadMapBody(ref ByteReader reader, string name, WriteSetBuilder into, [NotNullWhen(false)] out string? error)
    {
        // Each write takes at least 16 bytes and each remove at least 8: a count larger than that is a
        // lie, caught before looping on it.
        if (!reader.TryReadUInt64(out ulong writeCount) || writeCount > (ulong)reader.Remaining / 16)
        {
            error = $"map '{name}': write count missing or larger than the remaining bytes allow";
            return false;
        }

        var writtenKeys = new List<byte[]>((int)writeCount);
        for (ulong i = 0; i < writeCount; i++)
        {
            if (!reader.TryReadLengthPrefixed(out ReadOnlySpan<byte> key) || !reader.TryReadLengthPrefixed(out ReadOnlySpan<byte> value))
            {
                error = $"map '{name}': write {i} runs past the end";
                return false;
            }

            if (writtenKeys.Count > 0 && key.SequenceCompareTo(writtenKeys[^1]) <= 0)
            {
                error = $"map '{name}': written keys are out of order or repeated";
                return false;
            }

            writtenKeys.Add(key.ToArray());
            into.Put(name, key, value);
        }

        if (!reader.TryReadUInt64(out ulong removeCount) || removeCount > (ulong)reader.Remaining / 8)
        {
            error = $"map '{name}': remove count missing or larger than the remaining bytes allow";
            return false;
        }

        if (writeCount == 0 && removeCount == 0)
        {
            error = $"map '{name}' records no change";
            return false;
        }

        byte[]? previousRemoved = null;
        for (ulong i = 0; i < removeCount; i++)
        {
            if (!reader.TryReadLengthPrefixed(out ReadOnlySpan<byte> key))
            {
                error = $"map '{name}': remove {i} runs past the end";
                return false;
            }

            if (previousRemoved is not null && key.SequenceCompareTo(previousRemoved) <= 0)
            {
                error = $"map '{name}': removed keys are out of order or repeated";
                return false;
            }

            if (writtenKeys.BinarySearch(key.ToArray(), ByteKeyComparer.Instance) >= 0)
            {
                error = $"map '{name}': a key is both written and removed";
                return false;
            }

            previousRemoved = key.ToArray();
            into.Remove(name, key);
        }

        error = null;
        return true;
    }

    private static bool TryDecodeUtf8(ReadOnlySpan<byte> bytes, [NotNullWhen(true)] out string? text)
    {
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            text = null;
            return false;
        }
    }
}
