using System.CommandLine;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.AttestationService.Hosting;
using Confide.Inference.Encryption;
using Confide.Inference.Hosting;
using Confide.Inference.Keys;
using Confide.Inference.Models;
using Confide.Tee;
using Confide.Tee.Simulation;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Confide.Cli.Commands;

/// <summary>
/// <c>confide model keygen|encrypt</c> (CONFIDE-MODEL files) and <c>confide inference serve</c>
/// (the KServe v2 inference server over a model repository, as an ordinary process; the same
/// command is the entry point of the inference enclave package).
/// </summary>
internal static class InferenceCommands
{
    public static void Register(RootCommand root)
    {
        var model = new Command("model", "Model keys and encrypted model files (CONFIDE-MODEL v1, AES-256-GCM).");
        model.Subcommands.Add(KeyGen());
        model.Subcommands.Add(Encrypt());
        root.Subcommands.Add(model);

        var inference = new Command("inference", "Confidential inference: the KServe v2 / Open Inference Protocol server.");
        inference.Subcommands.Add(InferenceServeCommand.Create());
        root.Subcommands.Add(inference);
    }

    private static Command KeyGen()
    {
        var output = new Option<FileInfo>("--out", "-o") { Description = "Where to write the 32-byte model key (raw bytes, mode 0600).", Required = true };
        var command = new Command("keygen", "Create a random 256-bit model key.") { output };
        command.SetAction((result, _) => CliErrors.RunAsync(() =>
        {
            FileInfo file = result.GetValue(output)!;
            byte[] key = ModelEncryption.GenerateKey();
            try
            {
                // CreateNew: never overwrite a key that may already protect models.
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
                using (var stream = new FileStream(file.FullName, options))
                {
                    stream.Write(key);
                }

                Console.WriteLine($"wrote {file.FullName}");
                Console.WriteLine($"key id {ModelEncryption.KeyIdHex(key)}");
                return Task.FromResult(0);
            }
            catch (IOException) when (file.Exists)
            {
                throw new IOException($"'{file.FullName}' exists; refusing to overwrite a model key.");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }));
        return command;
    }

    private static Command Encrypt()
    {
        var keyFile = new Option<FileInfo>("--key", "-k") { Description = "The 32-byte model key file (from 'confide model keygen').", Required = true };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "The encrypted file (default: the model's path with .confide for .onnx; a repository expects <name>/<version>/model.confide)." };
        var force = new Option<bool>("--force") { Description = "Overwrite the output file if it exists." };
        var input = new Argument<FileInfo>("model") { Description = "The ONNX model to encrypt." };
        var command = new Command("encrypt", "Encrypt an ONNX model into a CONFIDE-MODEL file (checked to load in ONNX Runtime first).") { keyFile, output, force, input };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            FileInfo source = result.GetValue(input)!;
            FileInfo target = result.GetValue(output) ?? new FileInfo(Path.ChangeExtension(source.FullName, ".confide"));
            if (target.Exists && !result.GetValue(force))
            {
                throw new IOException($"'{target.FullName}' exists; pass --force to replace it.");
            }

            byte[] key = ModelEncryption.ReadKeyFile(result.GetValue(keyFile)!.FullName);
            byte[] plaintext = await File.ReadAllBytesAsync(source.FullName, cancellationToken);
            try
            {
                if (ModelEncryption.IsEncryptedModel(plaintext))
                {
                    throw new ArgumentException($"'{source.FullName}' is already a CONFIDE-MODEL file.");
                }

                // Encrypting something ONNX Runtime cannot load would only fail later, inside the enclave.
                using (LoadedModel loaded = await ModelRepository.LoadOneAsync(new ModelDescriptor("model", "1", source.FullName), new ModelRepositoryOptions { AllowPlaintextModels = true }, cancellationToken))
                {
                    Console.WriteLine($"inputs: {string.Join(", ", loaded.Inputs.Select(Describe))}");
                    Console.WriteLine($"outputs: {string.Join(", ", loaded.Outputs.Select(Describe))}");
                }

                byte[] encrypted = ModelEncryption.Encrypt(plaintext, key);
                var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead };
                await using (var stream = new FileStream(target.FullName, options))
                {
                    await stream.WriteAsync(encrypted, cancellationToken);
                }

                Console.WriteLine($"wrote {target.FullName} ({encrypted.Length} bytes)");
                Console.WriteLine($"key id {ModelEncryption.KeyIdHex(key)}");
                Console.WriteLine($"sha256 {Convert.ToHexStringLower(SHA256.HashData(encrypted))}");
                return 0;
            }
            catch (ModelLoadException ex)
            {
                Console.Error.WriteLine($"confide: '{source.FullName}' is not a model ONNX Runtime can load: {ex.InnerException?.Message ?? ex.Message}");
                return CliErrors.Failure;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }));
        return command;
    }

    private static string Describe(Confide.Inference.Serving.TensorMetadata tensor) =>
        $"{tensor.Name} {Confide.Inference.Tensors.TensorDataTypes.ToProtocolName(tensor.DataType)} [{string.Join(", ", tensor.Shape)}]";
}
