using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Confide.Enclave.Signing;

/// <summary>
/// Enclave signing keys: RSA-3072 with public exponent 3, the only shape SGX's SIGSTRUCT accepts
/// (the same as <c>openssl genrsa -3 3072</c>, which Open Enclave and EGo require).
/// </summary>
public static class EnclaveSigningKey
{
    public const int KeySizeInBits = 3072;

    /// <summary>
    /// Generates a new key. .NET's RSA cannot choose the public exponent, so the key pair comes
    /// from BouncyCastle's generator and is then used through <see cref="RSA"/>.
    /// </summary>
    public static RSA Generate()
    {
        var generator = new RsaKeyPairGenerator();
        generator.Init(new RsaKeyGenerationParameters(Org.BouncyCastle.Math.BigInteger.Three, new SecureRandom(), KeySizeInBits, certainty: 112));
        var privateKey = (RsaPrivateCrtKeyParameters)generator.GenerateKeyPair().Private;
        RSAParameters parameters = DotNetUtilities.ToRSAParameters(privateKey);
        try
        {
            return RSA.Create(parameters);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(parameters.D);
            CryptographicOperations.ZeroMemory(parameters.P);
            CryptographicOperations.ZeroMemory(parameters.Q);
            CryptographicOperations.ZeroMemory(parameters.DP);
            CryptographicOperations.ZeroMemory(parameters.DQ);
            CryptographicOperations.ZeroMemory(parameters.InverseQ);
        }
    }

    /// <summary>Writes the private key as PKCS#8 PEM, readable only by its owner.</summary>
    public static void WritePrivateKeyPem(RSA key, string path)
    {
        string pem = key.ExportPkcs8PrivateKeyPem();
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using var writer = new StreamWriter(path, options);
        writer.Write(pem);
    }

    /// <summary>Loads a signing key (private or public PEM) and checks it has the SGX shape.</summary>
    public static RSA Load(string path)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CryptographicException($"Cannot read the signing key '{path}': {ex.Message}", ex);
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            EnsureSgxShape(rsa.ExportParameters(includePrivateParameters: false));
            return rsa;
        }
        catch (ArgumentException ex)
        {
            rsa.Dispose();
            throw new CryptographicException($"'{path}' does not hold an RSA key in PEM form: {ex.Message}", ex);
        }
        catch
        {
            rsa.Dispose();
            throw;
        }
    }

    /// <summary>MRSIGNER of a key: SHA-256 of its modulus, little-endian, as SGX computes it.</summary>
    public static byte[] ComputeMrSigner(RSA key)
    {
        byte[] modulus = key.ExportParameters(includePrivateParameters: false).Modulus!;
        byte[] littleEndian = new byte[SigStruct.ModulusSize];
        for (int i = 0; i < modulus.Length; i++)
        {
            littleEndian[i] = modulus[modulus.Length - 1 - i];
        }

        return SHA256.HashData(littleEndian);
    }

    internal static void EnsureSgxShape(RSAParameters parameters)
    {
        int bits = parameters.Modulus!.Length * 8;
        if (bits != KeySizeInBits || (parameters.Modulus[0] & 0x80) == 0)
        {
            throw new CryptographicException($"The signing key has {bits} bits; SGX requires RSA-3072 with exponent 3.");
        }

        if (parameters.Exponent is not [3])
        {
            throw new CryptographicException("The signing key's public exponent is not 3; SGX requires RSA-3072 with exponent 3 (openssl genrsa -3 3072).");
        }
    }
}
