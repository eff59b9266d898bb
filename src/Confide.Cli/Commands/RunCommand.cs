using System.CommandLine;
using Confide.Enclave.Hosting;
using Confide.Tee;

namespace Confide.Cli.Commands;

internal static class RunCommand
{
    public static Command Create()
    {
        var directory = PackageCommands.PackageArgument();
        var arguments = new Argument<string[]>("args") { Description = "Arguments for the enclave (after --).", Arity = ArgumentArity.ZeroOrMore };
        var tee = new Option<string>("--tee") { Description = "TEE back-end: simulation (default), sgx-gramine, tsm or auto.", DefaultValueFactory = _ => "simulation" };
        var command = new Command("run", "Verify a signed enclave package (signature, measurement, exact file set) and run it as its own process.") { directory, arguments, tee };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            var options = new EnclaveHostOptions { Tee = TeeOptions.ParseBackend(result.GetValue(tee)) };
            foreach (string argument in result.GetValue(arguments) ?? [])
            {
                options.Arguments.Add(argument);
            }

            await using EnclaveHost enclave = await EnclaveHost.LaunchAsync(result.GetValue(directory)!.FullName, options, cancellationToken);
            return await enclave.WaitForExitAsync(cancellationToken);
        }));
        return command;
    }
}
