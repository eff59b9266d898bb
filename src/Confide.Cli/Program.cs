using System.CommandLine;
using Confide.Cli.Commands;

var root = new RootCommand("Confide: enclave-aware confidential containers for .NET.");
root.Subcommands.Add(KeyCommands.NewKey());
root.Subcommands.Add(PackageCommands.Sign());
root.Subcommands.Add(PackageCommands.UniqueId());
root.Subcommands.Add(PackageCommands.SignerId());
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(QuoteCommands.Create());
root.Subcommands.Add(AttestationCommands.Create());
root.Subcommands.Add(KeyBrokerCommands.Create());
root.Subcommands.Add(InferCommand.Create());
root.Subcommands.Add(RelayCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
InferenceCommands.Register(root);
root.Subcommands.Add(LedgerCommands.Create());
root.Subcommands.Add(Confide.Deploy.DeployCommand.Create());
return await root.Parse(args).InvokeAsync();
