namespace Confide.Tee;

/// <summary>Report data is 64 bytes in every TEE Confide supports; shorter data is zero-padded.</summary>
public static class ReportData
{
    public const int Size = 64;

    /// <exception cref="TeeException">More than 64 bytes.</exception>
    public static byte[] Pad(ReadOnlySpan<byte> data)
    {
        if (data.Length > Size)
        {
            throw new TeeException(TeeError.InvalidRequest, $"Report data is {data.Length} bytes; a TEE report carries at most {Size}. Hash larger data first.");
        }

        byte[] padded = new byte[Size];
        data.CopyTo(padded);
        return padded;
    }
}
