using System.Security.Cryptography;
using Confide.Enclave;
using Confide.Enclave.Calls;
using Confide.Enclave.Hosting;
using Confide.Enclave.Manifest;
using Confide.Tee;

namespace Confide.Cli.Commands;

/// <summary>Turns the toolkit's typed errors into one clear line on stderr and an exit code.</summary>
internal static class CliErrors
{
    public const int Failure = 1;

    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is EnclavePackageException or EnclaveManifestException or EnclaveLaunchException or EnclaveCallException or TeeException or CryptographicException or IOException or UnauthorizedAccessException or ArgumentException or FormatException or Confide.Attestation.Collateral.CollateralException or Confide.AttestationService.Client.AttestationClientException
            or Confide.Ledger.Ledger.LedgerFormatException or Confide.Ledger.Node.LedgerIntegrityException or Confide.Ledger.Node.Hosting.NodeJoinException or Confide.Tee.Sealing.SealingException)
        {
            Console.Error.WriteLine($"confide: {ex.Message}");
            return Failure;
        }
    }
}
