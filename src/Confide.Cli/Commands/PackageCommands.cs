using System.CommandLine;
using System.Security.Cryptography;
using Confide.Enclave;
using Confide.Enclave.Signing;

namespace Confide.Cli.Commands;

internal static class PackageCommands
{
    public static Command Sign()
    {
        var directory = PackageArgument();
        var key = new Option<FileInfo>("--key", "-k") { Description = "The signing key (PEM, RSA-3072, exponent 3).", Required = true };
        var command = new Command("sign", "Measure an enclave package (MRENCLAVE) and write its SGX SIGSTRUCT (enclave.sig) and file list (enclave.files).") { directory, key };
        command.SetAction((result, _) => CliErrors.RunAsync(() =>
        {
            using RSA signingKey = EnclaveSigningKey.Load(result.GetValue(key)!.FullName);
            EnclavePackageIdentity identity = EnclavePackage.Sign(result.GetValue(directory)!.FullName, signingKey);
            Console.WriteLine($"mrenclave {identity.MrEnclaveHex}");
            Console.WriteLine($"mrsigner  {identity.MrSignerHex}");
            Console.WriteLine($"productId {identity.ProductId}, securityVersion {identity.SecurityVersion}, debug {identity.Debug.ToString().ToLowerInvariant()}");
            return Task.FromResult(0);
        }));
        return command;
    }

    public static Command UniqueId()
    {
        var directory = PackageArgument();
        var command = new Command("uniqueid", "Print the package's MRENCLAVE, computed from its manifest and files.") { directory };
        command.SetAction((result, _) => CliErrors.RunAsync(() =>
        {
            Console.WriteLine(Convert.ToHexStringLower(EnclavePackage.ComputeMrEnclave(result.GetValue(directory)!.FullName)));
            return Task.FromResult(0);
        }));
        return command;
    }

    public static Command SignerId()
    {
        var target = new Argument<FileSystemInfo>("package-or-key") { Description = "A signed package folder, or a signing key (PEM)." };
        var command = new Command("signerid", "Print MRSIGNER of a signed package (from its SIGSTRUCT) or of a key.") { target };
        command.SetAction((result, _) => CliErrors.RunAsync(() =>
        {
            FileSystemInfo value = result.GetValue(target)!;
            if (Directory.Exists(value.FullName))
            {
                string path = Path.Combine(value.FullName, SignatureFile.FileName);
                if (!File.Exists(path))
                {
                    throw new EnclavePackageException(PackageProblemKind.MissingMetadata, SignatureFile.FileName, $"'{value.FullName}' is not signed (no {SignatureFile.FileName}).");
                }

                Console.WriteLine(Convert.ToHexStringLower(SigStruct.ReadAndVerify(File.ReadAllBytes(path)).ComputeMrSigner()));
            }
            else
            {
                using RSA key = EnclaveSigningKey.Load(value.FullName);
                Console.WriteLine(Convert.ToHexStringLower(EnclaveSigningKey.ComputeMrSigner(key)));
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    internal static Argument<DirectoryInfo> PackageArgument() =>
        new("package") { Description = "The enclave package folder (holds enclave.json)." };
}
