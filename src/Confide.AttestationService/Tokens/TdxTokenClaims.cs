using System.Buffers.Binary;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;

namespace Confide.AttestationService.Tokens;

/// <summary>
/// The claims an Azure Attestation token carries for a verified TDX quote (the TDX EAT profile,
/// https://aka.ms/maa-eat-profile-tdxvm): the TDX module and TD measurements in lowercase hex, the
/// TD attribute bits, the TCB status, and the runtime data. They are also the policy's incoming claims.
/// </summary>
/// <remarks>
/// Azure's <c>x-ms-compliance-status: azure-compliant-cvm</c> is not issued: it states that the VM
/// runs on Azure's own confidential VM stack, which this service cannot know.
/// </remarks>
public static class TdxTokenClaims
{
    public const string EatProfile = "https://aka.ms/maa-eat-profile-tdxvm";

    /// <exception cref="ArgumentException">The result is not a verified TDX quote.</exception>
    public static Dictionary<string, object> Build(QuoteVerificationResult result, string policyText, RuntimeData? runtimeData = null, RuntimeData? initTimeData = null, string? nonce = null)
    {
        if (!result.Verified || result.Quote?.TdBody is not { } body)
        {
            throw new ArgumentException("Claims are issued only for a verified TDX quote.", nameof(result));
        }

        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [MaaClaimNames.Version] = "1.0",
            [MaaClaimNames.AttestationType] = "tdxvm",
            [MaaClaimNames.PolicyHash] = PolicyHash.Compute(policyText),
            ["eat_profile"] = EatProfile,
            ["intuse"] = "generic",
            ["dbgstat"] = body.IsDebug ? "enabled" : "disabled",
            ["attester_tcb_status"] = result.TcbStatus?.ToString() ?? "Unknown",
            ["tdx_mrseam"] = Hex(body.MrSeam),
            ["tdx_mrsignerseam"] = Hex(body.MrSignerSeam),
            ["tdx_mrtd"] = Hex(body.MrTd),
            ["tdx_rtmr0"] = Hex(body.Rtmr0),
            ["tdx_rtmr1"] = Hex(body.Rtmr1),
            ["tdx_rtmr2"] = Hex(body.Rtmr2),
            ["tdx_rtmr3"] = Hex(body.Rtmr3),
            ["tdx_mrconfigid"] = Hex(body.MrConfigId),
            ["tdx_mrowner"] = Hex(body.MrOwner),
            ["tdx_mrownerconfig"] = Hex(body.MrOwnerConfig),
            ["tdx_report_data"] = Hex(body.ReportData),
            ["tdx_tee_tcb_svn"] = Hex(body.TeeTcbSvn),
            // TEE_TCB_SVN[0..2] are the TDX module's minor and major SVN: SEAMSVN read little-endian.
            ["tdx_seamsvn"] = (int)BinaryPrimitives.ReadUInt16LittleEndian(body.TeeTcbSvn),
            ["tdx_seam_attributes"] = LittleEndianHex(body.SeamAttributes),
            ["tdx_td_attributes"] = LittleEndianHex(body.TdAttributes),
            ["tdx_xfam"] = LittleEndianHex(body.Xfam),
            ["tdx_td_attributes_debug"] = body.AttributeFlags.HasFlag(TdAttributeFlags.Debug),
            ["tdx_td_attributes_septve_disable"] = body.AttributeFlags.HasFlag(TdAttributeFlags.SeptVeDisable),
            ["tdx_td_attributes_protection_keys"] = body.AttributeFlags.HasFlag(TdAttributeFlags.Pks),
            ["tdx_td_attributes_key_locker"] = body.AttributeFlags.HasFlag(TdAttributeFlags.KeyLocker),
            ["tdx_td_attributes_perfmon"] = body.AttributeFlags.HasFlag(TdAttributeFlags.PerfMon),
        };

        // Azure Attestation documents only JSON runtime data for TDX (x-ms-runtime); Binary data is
        // still bound (its hash is in tdx_report_data) and not repeated.
        if (runtimeData is { DataType: RuntimeDataType.Json })
        {
            claims[MaaClaimNames.Runtime] = runtimeData.ParseJson();
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

    private static string Hex(byte[] value) => Convert.ToHexStringLower(value);

    private static string LittleEndianHex(ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return Convert.ToHexStringLower(bytes);
    }
}
