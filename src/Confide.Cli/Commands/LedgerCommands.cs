using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Confide.Ledger.Audit;
using Confide.Ledger.Node.Hosting;
using Confide.Ledger.Node.Members;
using Confide.Ledger.Receipts;

namespace Confide.Cli.Commands;

/// <summary>
/// <c>confide ledger start|join</c> (a node of the confidential ledger, CCF counterpart, as an
/// ordinary process; the same commands are the entry point of the ledger enclave package),
/// <c>confide ledger audit</c> (re-check a ledger copy offline) and <c>confide ledger verify-receipt</c>.
/// </summary>
internal static class LedgerCommands
{
    public static Command Create()
    {
        var command = new Command("ledger", "The confidential consortium ledger (a CCF counterpart): nodes, member governance, offline audit, receipt verification.");
        command.Subcommands.Add(LedgerNodeCommands.Start());
        command.Subcommands.Add(LedgerNodeCommands.Join());
        command.Subcommands.Add(LedgerNodeCommands.Recover());
        command.Subcommands.Add(MemberCommands.Create());
        command.Subcommands.Add(Audit());
        command.Subcommands.Add(VerifyReceipt());
        return command;
    }

    private static Command Audit()
    {
        var directory = new Argument<DirectoryInfo>("ledger-dir") { Description = "A copy of a ledger directory (chunk files)." };
        var serviceCertificate = new Option<string?>("--service-cert") { Description = "The service identity (PEM): every signing node's certificate must chain to it." };
        var command = new Command("audit", "Re-check a ledger offline: every entry's digest and leaf, the Merkle root at every signature, every signature; names the first bad entry.") { directory, serviceCertificate };
        command.SetAction((result, _) => CliErrors.RunAsync(() =>
        {
            using X509Certificate2? service = result.GetValue(serviceCertificate) is { } pem ? X509Certificate2.CreateFromPem(File.ReadAllText(pem)) : null;
            AuditReport report = LedgerAuditor.Audit(result.GetValue(directory)!.FullName, service);
            Console.WriteLine(report.ToString());
            return Task.FromResult(report.Passed ? 0 : CliErrors.Failure);
        }));
        return command;
    }

    private static Command VerifyReceipt()
    {
        var receipt = new Argument<FileInfo>("receipt") { Description = "A receipt: JSON as GET /app/receipt returns it, or a COSE receipt (CCF's profile) as GET /app/log/public/cose_receipt does." };
        var serviceCertificate = new Option<string>("--service-cert") { Description = "The service identity (PEM) the receipt must chain to.", Required = true };
        var command = new Command("verify-receipt", "Verify a transaction receipt offline: leaf, Merkle path, the node's signature over the root, and the node's endorsement by the service.") { receipt, serviceCertificate };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            using X509Certificate2 service = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(result.GetValue(serviceCertificate)!, cancellationToken));
            try
            {
                byte[] content = await File.ReadAllBytesAsync(result.GetValue(receipt)!.FullName, cancellationToken);
                if (content.Length > 0 && content[0] == 0xd2)
                {
                    // CBOR tag 18: a COSE_Sign1, CCF's COSE receipt (signed by the service identity itself).
                    CoseReceipt cose = CoseReceipt.Verify(content, service);
                    Console.WriteLine($"COSE receipt verified: transaction {cose.TxId?.ToString() ?? "(unknown)"}, root {cose.ComputeRoot()}, signed by the service identity at {cose.SignatureTxId}");
                    return 0;
                }

                Receipt verified = ReceiptVerifier.Verify(System.Text.Encoding.UTF8.GetString(content), service);
                Console.WriteLine($"receipt verified: transaction {verified.TxId?.ToString() ?? "(signature)"}, root {verified.ComputeRoot()}, signed by node {verified.NodeId}");
                return 0;
            }
            catch (ReceiptVerificationException ex)
            {
                Console.Error.WriteLine($"confide: receipt refused ({ex.Error}): {ex.Message}");
                return CliErrors.Failure;
            }
        }));
        return command;
    }
}
