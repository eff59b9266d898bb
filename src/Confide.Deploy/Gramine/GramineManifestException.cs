namespace Confide.Deploy.Gramine;

/// <summary>
/// A Gramine manifest that cannot be written as asked. <see cref="Field"/> is the
/// <c>confide deploy gramine-manifest</c> option at fault (<c>--enclave-size</c>, <c>--package</c>,
/// <c>args</c> for the arguments after <c>--</c>).
/// </summary>
public sealed class GramineManifestException(string field, string message, Exception? inner = null)
    : Exception($"{field}: {message}", inner)
{
    public string Field { get; } = field;
}
