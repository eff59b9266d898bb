namespace Confide.Enclave.Measurement;

/// <summary>A trusted file as measured: its package-relative path and the SHA-256 of its content.</summary>
public sealed record MeasuredFile(string Path, byte[] Sha256)
{
    public string Sha256Hex => Convert.ToHexStringLower(Sha256);
}
