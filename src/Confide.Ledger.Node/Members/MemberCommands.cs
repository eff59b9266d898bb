using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Ledger.Governance.Requests;

namespace Confide.Ledger.Node.Members;

/// <summary>
/// <c>confide ledger member activate|propose|vote|withdraw|submit-share</c>: a consortium member
/// governs the service from the command line, each request COSE-signed with the member's key.
/// </summary>
public static class MemberCommands
{
    public static Command Create()
    {
        var command = new Command("member", "Govern the service as a consortium member: every request is a COSE_Sign1 signed with your member key (CCF's ccf_cose_sign1 and curl in one).");
        command.Subcommands.Add(Activate());
        command.Subcommands.Add(Propose());
        command.Subcommands.Add(Vote());
        command.Subcommands.Add(Withdraw());
        command.Subcommands.Add(SubmitShare());
        return command;
    }

    private static Command Activate()
    {
        var command = WithConnection(new Command("activate", "Acknowledge the service's state digest: a new member becomes Active (only active members vote)."));
        command.SetAction((result, cancellationToken) => RunAsync(result, async client =>
        {
            string digest = await client.ActivateAsync(cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"member {client.MemberId} acknowledged state digest {digest}");
        }));
        return command;
    }

    private static Command Propose()
    {
        var actions = new Option<FileInfo>("--actions") { Description = "A JSON file: an array of {\"name\", \"args\"} actions, or {\"actions\": [...]}.", Required = true };
        var command = WithConnection(new Command("propose", "Propose actions (e.g. set_user, add_node_code, transition_service_to_open); prints the proposal's id and state.") { actions });
        command.SetAction((result, cancellationToken) => RunAsync(result, async client =>
        {
            JsonNode? parsed;
            try
            {
                parsed = JsonNode.Parse(await File.ReadAllTextAsync(result.GetValue(actions)!.FullName, cancellationToken).ConfigureAwait(false));
            }
            catch (System.Text.Json.JsonException ex)
            {
                throw new ArgumentException($"--actions is not JSON: {ex.Message}", ex);
            }

            JsonArray list = parsed as JsonArray ?? parsed?["actions"] as JsonArray
                ?? throw new ArgumentException("--actions must hold an array of actions or {\"actions\": [...]}.");
            Console.WriteLine((await client.ProposeAsync(list, cancellationToken).ConfigureAwait(false)).ToJsonString());
        }));
        return command;
    }

    private static Command Vote()
    {
        var proposal = new Argument<string>("proposal-id") { Description = "The proposal to vote on." };
        var reject = new Option<bool>("--reject") { Description = "Vote against (default: for)." };
        var ballot = new Option<FileInfo?>("--ballot") { Description = "A ballot script instead: a module exporting vote(proposal, proposerId)." };
        var command = WithConnection(new Command("vote", "Submit a ballot on a proposal; prints the proposal's state afterwards.") { proposal, reject, ballot });
        command.SetAction((result, cancellationToken) => RunAsync(result, async client =>
        {
            string? script = result.GetValue(ballot) is { } file ? await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false) : null;
            Console.WriteLine((await client.VoteAsync(result.GetValue(proposal)!, !result.GetValue(reject), script, cancellationToken).ConfigureAwait(false)).ToJsonString());
        }));
        return command;
    }

    private static Command Withdraw()
    {
        var proposal = new Argument<string>("proposal-id") { Description = "One of your open proposals." };
        var command = WithConnection(new Command("withdraw", "Withdraw one of your open proposals.") { proposal });
        command.SetAction((result, cancellationToken) => RunAsync(result, async client =>
            Console.WriteLine((await client.WithdrawAsync(result.GetValue(proposal)!, cancellationToken).ConfigureAwait(false)).ToJsonString())));
        return command;
    }

    private static Command SubmitShare()
    {
        var encryptionKey = new Option<FileInfo>("--encryption-key") { Description = "Your RSA private key (PEM) whose public half was registered as your recovery key.", Required = true };
        var command = WithConnection(new Command("submit-share", "During a recovery (after transition_service_to_open passed): fetch your encrypted share, decrypt it here, submit it signed.") { encryptionKey });
        command.SetAction((result, cancellationToken) => RunAsync(result, async client =>
        {
            using var key = RSA.Create();
            key.ImportFromPem(await File.ReadAllTextAsync(result.GetValue(encryptionKey)!.FullName, cancellationToken).ConfigureAwait(false));
            Console.WriteLine(await client.SubmitRecoveryShareAsync(key, cancellationToken).ConfigureAwait(false));
        }));
        return command;
    }

    private static readonly Option<string> NodeOption = new("--node") { Description = "Any node of the service, https://host:port.", Required = true };
    private static readonly Option<FileInfo> ServiceOption = new("--service-cert") { Description = "The service identity (PEM): the node must present a certificate it issued.", Required = true };
    private static readonly Option<FileInfo> MemberCertOption = new("--member-cert") { Description = "Your member certificate (PEM).", Required = true };
    private static readonly Option<FileInfo> MemberKeyOption = new("--member-key") { Description = "Your member private key (PEM, EC).", Required = true };

    private static Command WithConnection(Command command)
    {
        command.Options.Add(NodeOption);
        command.Options.Add(ServiceOption);
        command.Options.Add(MemberCertOption);
        command.Options.Add(MemberKeyOption);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult result, Func<MemberClient, Task> action)
    {
        try
        {
            if (!Uri.TryCreate(result.GetValue(NodeOption), UriKind.Absolute, out Uri? node) || node.Scheme != Uri.UriSchemeHttps)
            {
                throw new ArgumentException($"--node '{result.GetValue(NodeOption)}' is not an https URL.");
            }

            using X509Certificate2 service = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(result.GetValue(ServiceOption)!.FullName).ConfigureAwait(false));
            using X509Certificate2 member = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(result.GetValue(MemberCertOption)!.FullName).ConfigureAwait(false));
            using var key = ECDsa.Create();
            key.ImportFromPem(await File.ReadAllTextAsync(result.GetValue(MemberKeyOption)!.FullName).ConfigureAwait(false));
            using var client = new MemberClient(new MemberClientOptions { Node = node, ServiceCertificate = service, Signer = new GovernanceRequestSigner(key, member) });
            await action(client).ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException or CryptographicException or FormatException or MemberRequestException or HttpRequestException)
        {
            Console.Error.WriteLine($"confide: {ex.Message}");
            return 1;
        }
    }
}
