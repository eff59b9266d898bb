using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Confide.Attestation.Verification;

/// <summary>
/// Reusable verifiers for one P-256 public key. Importing a key validates the point, which costs
/// about as much as a signature check; a platform's PCK and attestation keys are the same across
/// its quotes, so they are imported once. Instances are not shared between threads at once.
/// </summary>
internal sealed class EcdsaKeyPool(ECParameters publicKey)
{
    private readonly ConcurrentBag<ECDsa> _idle = [];

    public static EcdsaKeyPool FromRawPoint(ReadOnlySpan<byte> xy) => new(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint { X = xy[..32].ToArray(), Y = xy[32..].ToArray() },
    });

    /// <summary>Verifies a raw r‖s ECDSA-SHA256 signature.</summary>
    /// <exception cref="CryptographicException">The key is not a valid P-256 point.</exception>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (!_idle.TryTake(out ECDsa? key))
        {
            key = ECDsa.Create(publicKey);
        }

        try
        {
            return key.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        finally
        {
            _idle.Add(key);
        }
    }
}
