using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;
using Confide.Tee.Simulation;

namespace Confide.Cli.Commands;

/// <summary><c>confide quote inspect</c> and <c>confide quote verify</c>.</summary>
internal static class QuoteCommands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create()
    {
        var command = new Command("quote", "Inspect and verify Intel SGX / TDX DCAP quotes.");
        command.Subcommands.Add(Inspect());
        command.Subcommands.Add(Verify());
        return command;
    }

    private static Command Inspect()
    {
        var file = new Argument<FileInfo>("quote") { Description = "The quote (binary, or hex text), or Open Enclave evidence." };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var command = new Command("inspect", "Print every parsed field of a quote.") { file, json };
        command.SetAction((result, _) => CliErrors.RunAsync(() =>
        {
            Quote quote = Quote.ParseEvidence(ReadEvidence(result.GetValue(file)!));
            Dictionary<string, object?> fields = Describe(quote, detailed: true);
            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(fields, Indented));
            }
            else
            {
                foreach ((string key, object? value) in fields)
                {
                    Console.WriteLine($"{key,-24} {Format(value)}");
                }
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    private static Command Verify()
    {
        var file = new Argument<FileInfo>("quote") { Description = "The quote (binary, or hex text), or Open Enclave evidence." };
        var collateral = new Option<string>("--collateral") { Description = "Collateral: a JSON file, a folder of them, or a PCS/PCCS base URL.", Required = true };
        var at = new Option<string?>("--at") { Description = "Verification time (RFC 3339), e.g. for recorded evidence. Default: now." };
        var allowDebug = new Option<bool>("--allow-debug") { Description = "Accept debug enclaves / TDs." };
        var allowSimulation = new Option<bool>("--allow-simulation") { Description = "Accept quotes from this machine's simulated platform." };
        var anyStatus = new Option<bool>("--any-tcb-status") { Description = "Accept every TCB status but Revoked (default: UpToDate, SWHardeningNeeded)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("verify", "Verify a quote with its collateral; exit code 0 only when verified under the policy.")
        {
            file, collateral, at, allowDebug, allowSimulation, anyStatus, json,
        };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            var options = new QuoteVerifierOptions();
            if (result.GetValue(at) is { } time)
            {
                options.TimeProvider = PinnedTimeProvider.Parse(time);
            }

            if (result.GetValue(allowSimulation))
            {
                using SimulatedPlatform platform = SimulatedPlatform.OpenOrCreate();
                options.SimulationRoots.Add(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(platform.RootCertificate.RawData));
            }

            VerificationPolicy policy = (result.GetValue(anyStatus) ? VerificationPolicy.AnyNonRevokedTcb : VerificationPolicy.Default) with
            {
                AllowDebug = result.GetValue(allowDebug),
                AllowSimulation = result.GetValue(allowSimulation),
            };
            using ICollateralProviderLease provider = CollateralSource.Open(result.GetValue(collateral)!);
            QuoteVerificationResult verification = await new QuoteVerifier(options).VerifyAsync(ReadEvidence(result.GetValue(file)!), provider.Provider, policy, cancellationToken);
            Report(verification, result.GetValue(json));
            return verification.Verified ? 0 : 1;
        }));
        return command;
    }

    private static void Report(QuoteVerificationResult result, bool json)
    {
        var fields = new Dictionary<string, object?>
        {
            ["verified"] = result.Verified,
            ["tcbStatus"] = result.TcbStatus?.ToString(),
            ["advisoryIds"] = result.AdvisoryIds,
            ["simulated"] = result.IsSimulated,
        };
        if (result.Quote is { } quote)
        {
            foreach ((string key, object? value) in Describe(quote, detailed: false))
            {
                fields[key] = value;
            }
        }

        if (result.Error is { } error)
        {
            fields["error"] = new Dictionary<string, string?> { ["code"] = error.ToString(), ["message"] = result.ErrorMessage };
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(fields));
            return;
        }

        Console.WriteLine(result.Verified ? "verified" : $"NOT verified: {result.Error}: {result.ErrorMessage}");
        foreach ((string key, object? value) in fields.Where(f => f.Key is not ("verified" or "error")))
        {
            Console.WriteLine($"  {key,-14} {Format(value)}");
        }
    }

    private static Dictionary<string, object?> Describe(Quote quote, bool detailed)
    {
        var fields = new Dictionary<string, object?> { ["teeType"] = quote.TeeType == TeeType.Tdx ? "tdx" : "sgx" };
        if (quote.SgxBody is { } sgx)
        {
            fields["mrEnclave"] = Hex(sgx.MrEnclave);
            fields["mrSigner"] = Hex(sgx.MrSigner);
            fields["isvProdId"] = sgx.IsvProdId;
            fields["isvSvn"] = sgx.IsvSvn;
            fields["debug"] = sgx.IsDebug;
            fields["reportData"] = Hex(sgx.ReportData);
            if (detailed)
            {
                fields["cpuSvn"] = Hex(sgx.CpuSvn);
                fields["miscSelect"] = sgx.MiscSelect;
                fields["attributes"] = $"flags 0x{sgx.Flags:x16}, xfrm 0x{sgx.Xfrm:x16}";
                fields["configSvn"] = sgx.ConfigSvn;
                fields["isvExtProdId"] = Hex(sgx.IsvExtProdId);
                fields["isvFamilyId"] = Hex(sgx.IsvFamilyId);
            }
        }

        if (quote.TdBody is { } td)
        {
            fields["mrTd"] = Hex(td.MrTd);
            fields["rtmrs"] = td.Rtmrs.Select(Hex).ToArray();
            fields["mrSeam"] = Hex(td.MrSeam);
            fields["tdAttributes"] = $"{td.TdAttributes:x16}";
            fields["debug"] = td.IsDebug;
            fields["reportData"] = Hex(td.ReportData);
            if (detailed)
            {
                fields["teeTcbSvn"] = Hex(td.TeeTcbSvn);
                fields["mrSignerSeam"] = Hex(td.MrSignerSeam);
                fields["xfam"] = $"{td.Xfam:x16}";
                fields["mrConfigId"] = Hex(td.MrConfigId);
                fields["mrOwner"] = Hex(td.MrOwner);
                fields["mrOwnerConfig"] = Hex(td.MrOwnerConfig);
                fields["teeTcbSvn2"] = td.TeeTcbSvn2 is null ? null : Hex(td.TeeTcbSvn2);
                fields["mrServiceTd"] = td.MrServiceTd is null ? null : Hex(td.MrServiceTd);
            }
        }

        if (detailed)
        {
            fields["version"] = quote.Version;
            fields["qeSvn"] = quote.Header.QeSvn;
            fields["pceSvn"] = quote.Header.PceSvn;
            fields["qeVendorId"] = Hex(quote.Header.QeVendorId);
            fields["userData"] = Hex(quote.Header.UserData);
            fields["signedLength"] = quote.SignedLength;
            fields["attestationKey"] = Hex(quote.AttestationKey);
            fields["qeReport.mrEnclave"] = Hex(quote.QeReport.MrEnclave);
            fields["qeReport.mrSigner"] = Hex(quote.QeReport.MrSigner);
            fields["qeReport.isvProdId"] = quote.QeReport.IsvProdId;
            fields["qeReport.isvSvn"] = quote.QeReport.IsvSvn;
            fields["qeAuthData"] = Hex(quote.QeAuthData);
            fields["certificationDataType"] = quote.CertificationDataType;
            fields["trailingBytes"] = quote.TrailingByteCount;
            if (QuoteVerifier.TryDescribe(quote, out CollateralRequest? request))
            {
                fields["fmspc"] = request!.FmspcHex;
                fields["pckCa"] = request.PckCa.ToString().ToLowerInvariant();
            }
        }

        return fields;
    }

    private static byte[] ReadEvidence(FileInfo file)
    {
        byte[] bytes = File.ReadAllBytes(file.FullName);
        string text = System.Text.Encoding.ASCII.GetString(bytes).Trim();
        return text.Length > 0 && text.Length % 2 == 0 && text.All(Uri.IsHexDigit) ? Convert.FromHexString(text) : bytes;
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static string Format(object? value) => value switch
    {
        null => "-",
        string[] list => list.Length == 0 ? "[]" : string.Join(", ", list),
        IEnumerable<string> list => string.Join(", ", list),
        bool b => b ? "true" : "false",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "-",
    };
}
