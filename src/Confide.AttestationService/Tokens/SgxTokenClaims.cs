using System.Security.Cryptography;
using System.Text;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Tokens;

/// <summary>
/// The claims an Azure Attestation token carries for a verified SGX quote (maa.md §2.2–2.3):
/// the enclave's identity, its report data and runtime data, the policy hash, collateral hashes,
/// the nonce, and the legacy names the default SGX policy still issues.
/// </summary>
public static class SgxTokenClaims
{
    /// <exception cref="ArgumentException">The result is not a verified SGX quote.</exception>
    public static Dictionary<string, object> Build(QuoteVerificationResult result, QuoteCollateral collateral, string policyText, RuntimeData? runtimeData = null, RuntimeData? initTimeData = null, string? nonce = null)
    {
        if (!result.Verified || result.Quote?.SgxBody is not { } body)
        {
            throw new ArgumentException("Claims are issued only for a verified SGX quote.", nameof(result));
        }

        string mrEnclave = Convert.ToHexStringLower(body.MrEnclave);
        string mrSigner = Convert.ToHexStringLower(body.MrSigner);
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [MaaClaimNames.Version] = "1.0",
            [MaaClaimNames.AttestationType] = "sgx",
            [MaaClaimNames.PolicyHash] = PolicyHash.Compute(policyText),
            [MaaClaimNames.SgxIsDebuggable] = body.IsDebug,
            [MaaClaimNames.SgxMrEnclave] = mrEnclave,
            [MaaClaimNames.SgxMrSigner] = mrSigner,
            [MaaClaimNames.SgxProductId] = (int)body.IsvProdId,
            [MaaClaimNames.SgxSvn] = (int)body.IsvSvn,
            [MaaClaimNames.SgxReportData] = Convert.ToHexStringLower(body.ReportData),
            [MaaClaimNames.SgxCollateral] = CollateralHashes(result.Quote, collateral),

            // The default SGX policy still issues these deprecated names (claim-sets.md).
            [MaaClaimNames.LegacyIsDebuggable] = body.IsDebug,
            [MaaClaimNames.LegacyMrEnclave] = mrEnclave,
            [MaaClaimNames.LegacyMrSigner] = mrSigner,
            [MaaClaimNames.LegacyProductId] = (int)body.IsvProdId,
            [MaaClaimNames.LegacySvn] = (int)body.IsvSvn,
            [MaaClaimNames.LegacyTee] = "sgx",
        };

        if (runtimeData is not null)
        {
            if (runtimeData.DataType == RuntimeDataType.Binary)
            {
                claims[MaaClaimNames.SgxEnclaveHeldData] = Base64UrlEncoder.Encode(runtimeData.Data);
            }
            else
            {
                claims[MaaClaimNames.Runtime] = runtimeData.ParseJson();
            }
        }

        if (initTimeData is { DataType: RuntimeDataType.Json })
        {
            claims[MaaClaimNames.InitTime] = initTimeData.ParseJson();
        }

        if (nonce is not null)
        {
            claims[MaaClaimNames.Nonce] = nonce;
        }

        return claims;
    }

    /// <summary>
    /// <c>x-ms-sgx-collateral</c>: SHA-256 (hex) of what the verdict rests on: the quote, the TCB
    /// info and QE identity (their exact signed text), their issuer chains (PEM text), and the root
    /// CA CRL that covers those chains.
    /// </summary>
    private static Dictionary<string, object> CollateralHashes(Quote quote, QuoteCollateral collateral) => new(StringComparer.Ordinal)
    {
        ["qeidcertshash"] = Hash(collateral.QeIdentityIssuerChain),
        ["qeidcrlhash"] = Convert.ToHexStringLower(SHA256.HashData(Convert.FromHexString(collateral.RootCaCrl))),
        ["qeidhash"] = Hash(collateral.QeIdentity),
        ["quotehash"] = Convert.ToHexStringLower(SHA256.HashData(quote.RawQuote)),
        ["tcbinfocertshash"] = Hash(collateral.TcbInfoIssuerChain),
        ["tcbinfocrlhash"] = Convert.ToHexStringLower(SHA256.HashData(Convert.FromHexString(collateral.RootCaCrl))),
        ["tcbinfohash"] = Hash(collateral.TcbInfo),
    };

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
