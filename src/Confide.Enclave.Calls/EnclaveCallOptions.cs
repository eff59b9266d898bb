namespace Confide.Enclave.Calls;

/// <summary>Limits that apply to one side of a host-enclave channel.</summary>
public sealed class EnclaveCallOptions
{
    /// <summary>Largest message (arguments or result) accepted or sent. Default 16 MiB.</summary>
    public int MaxMessageSize { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Most argument bytes the other side may have held here by running calls at once, so that many
    /// large concurrent calls cannot exhaust the enclave's bounded heap. Default 64 MiB.
    /// </summary>
    public long MaxIncomingBytesInFlight { get; set; } = 64 * 1024 * 1024;

    /// <summary>Most calls the other side may have running here at once. Default 256.</summary>
    public int MaxConcurrentIncomingCalls { get; set; } = 256;

    internal void Validate()
    {
        if (MaxMessageSize is < 1024 or > 1024 * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxMessageSize), MaxMessageSize, "must be between 1 KiB and 1 GiB.");
        }

        if (MaxIncomingBytesInFlight < MaxMessageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxIncomingBytesInFlight), MaxIncomingBytesInFlight, "must be at least MaxMessageSize.");
        }

        if (MaxConcurrentIncomingCalls is < 1 or > 65536)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentIncomingCalls), MaxConcurrentIncomingCalls, "must be between 1 and 65536.");
        }
    }
}
