using System.CommandLine;
using System.Security.Cryptography;
using Confide.Enclave.Signing;

namespace Confide.Cli.Commands;

internal static class KeyCommands
{
    public static Command NewKey()
    {
        var output = new Option<FileInfo>("--out", "-o") { Description = "Where to write the private key (PEM, PKCS#8, mode 0600).", Required = true };
        var command = new Command("new-key", "Create an enclave signing key: RSA-3072 with public exponent 3, as SGX requires.") { output };
        command.SetAction((result, _) => CliErrors.RunAsync(() =>
        {
            FileInfo file = result.GetValue(output)!;
            if (file.Exists)
            {
                throw new IOException($"'{file.FullName}' exists; refusing to overwrite a signing key.");
            }

            using RSA key = EnclaveSigningKey.Generate();
            EnclaveSigningKey.WritePrivateKeyPem(key, file.FullName);
            Console.WriteLine($"wrote {file.FullName}");
            Console.WriteLine($"mrsigner {Convert.ToHexStringLower(EnclaveSigningKey.ComputeMrSigner(key))}");
            return Task.FromResult(0);
        }));
        return command;
    }
}
