namespace Confide.Enclave.Manifest;

/// <summary>An <c>enclave.json</c> that cannot be used; <see cref="Field"/> names the culprit.</summary>
public sealed class EnclaveManifestException : Exception
{
    public EnclaveManifestException(string? field, string message, Exception? inner = null)
        : base(field is null ? message : $"enclave.json field '{field}': {message}", inner)
    {
        Field = field;
    }

    /// <summary>The JSON field at fault, or null when the file as a whole is at fault.</summary>
    public string? Field { get; }
}
