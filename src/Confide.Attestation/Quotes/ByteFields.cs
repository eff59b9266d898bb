namespace Confide.Attestation.Quotes;

/// <summary>Shared handling of the fixed-size byte-array fields of the report structures.</summary>
internal static class ByteFields
{
    /// <summary>
    /// Copies a field into its slot. The slot has already been cleared, so a null field is
    /// written as zeros; a field of the wrong size is a programming error of the caller.
    /// </summary>
    public static void Write(Span<byte> slot, byte[]? value, string name)
    {
        if (value is null)
        {
            return;
        }

        if (value.Length != slot.Length)
        {
            throw new ArgumentException($"{name} must be {slot.Length} bytes, but is {value.Length} bytes.");
        }

        value.CopyTo(slot);
    }

    public static byte[] Zeros(int size) => new byte[size];

    public static bool Equal(byte[]? left, byte[]? right) => left.AsSpan().SequenceEqual(right);

    public static void Add(ref HashCode hash, byte[]? value) => hash.AddBytes(value);
}
