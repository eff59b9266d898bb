using System.Security.Cryptography;
using System.Text;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Tokens;

/// <summary>
/// The claims an Azure Attestation token carries for a verified SGX quote (maa.md §2.2–2.3): the
/// enclave's identity, its report data and runtime data, the policy hash, collateral hashes and
/// the nonce. They are also the policy's incoming claims (<see cref="ToPolicyInput"/>); what the
/// policy issues (the default policy: the legacy names) is added to the token by the service.
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
        };

        // Key separation and sharing (Ice Lake and later): the identity fields only such enclaves have.
        if (body.AttributeFlags.HasFlag(SgxAttributeFlags.Kss))
        {
            claims["x-ms-sgx-config-id"] = Convert.ToHexStringLower(body.ConfigId);
            claims["x-ms-sgx-config-svn"] = (int)body.ConfigSvn;
            claims["x-ms-sgx-isv-extended-product-id"] = Convert.ToHexStringLower(body.IsvExtProdId);
            claims["x-ms-sgx-isv-family-id"] = Convert.ToHexStringLower(body.IsvFamilyId);
        }

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
    /// The policy's incoming claims: every scalar claim, issued by "AttestationService", plus the
    /// deprecated <c>$</c>-prefixed names older policies still use (maa.md §3.3).
    /// </summary>
    public static IReadOnlyList<Confide.Attestation.Policy.PolicyClaim> ToPolicyInput(IReadOnlyDictionary<string, object> claims)
    {
        var input = new List<Confide.Attestation.Policy.PolicyClaim>();
        foreach ((string type, object value) in claims)
        {
            if (value is string or bool or int or long)
            {
                input.Add(new Confide.Attestation.Policy.PolicyClaim(type, value is int number ? (long)number : value));
            }
        }

        foreach ((string legacy, string current) in LegacyIncomingNames)
        {
            if (claims.TryGetValue(current, out object? value) && value is string or bool or int or long)
            {
                input.Add(new Confide.Attestation.Policy.PolicyClaim(legacy, value is int number ? (long)number : value));
            }
        }

        return input;
    }

    private static readonly (string Legacy, string Current)[] LegacyIncomingNames =
    [
        ("$is-debuggable", MaaClaimNames.SgxIsDebuggable),
        ("$product-id", MaaClaimNames.SgxProductId),
        ("$sgx-mrsigner", MaaClaimNames.SgxMrSigner),
        ("$sgx-mrenclave", MaaClaimNames.SgxMrEnclave),
        ("$svn", MaaClaimNames.SgxSvn),
        ("$tee", MaaClaimNames.AttestationType),
        ("$maa-ehd", MaaClaimNames.SgxEnclaveHeldData),
        ("$aas-ehd", MaaClaimNames.SgxEnclaveHeldData),
    ];

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
