namespace Confide.Attestation.Policy;

/// <summary>
/// A claim as seen by the policy engine (maa.md §3.2): a type, a typed value and an issuer.
/// </summary>
/// <remarks>
/// <para>The value is one of <see cref="string"/>, <see cref="bool"/> or <see cref="long"/> (MAA's
/// <c>String</c>, <c>Boolean</c> and <c>Integer</c> value types). Other integral CLR types are
/// widened to <see cref="long"/>; anything else is rejected.</para>
/// <para>Incoming claims derived from evidence default to the issuer
/// <see cref="AttestationServiceIssuer"/>; claims produced by <c>add</c>/<c>issue</c> carry
/// <see cref="AttestationPolicyIssuer"/>.</para>
/// </remarks>
public sealed record PolicyClaim
{
    /// <summary>Issuer of claims made available by the attestation service from evidence.</summary>
    public const string AttestationServiceIssuer = "AttestationService";

    /// <summary>Issuer of claims added or issued by the policy itself.</summary>
    public const string AttestationPolicyIssuer = "AttestationPolicy";

    /// <summary>Issuer of claims supplied by the attester (client).</summary>
    public const string CustomClaimIssuer = "CustomClaim";

    public PolicyClaim(string type, object value, string issuer = AttestationServiceIssuer)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(issuer);
        Type = type;
        Value = NormalizeValue(value);
        Issuer = issuer;
    }

    /// <summary>The claim type, e.g. <c>x-ms-sgx-mrsigner</c>.</summary>
    public string Type { get; init; }

    /// <summary>The claim value: a <see cref="string"/>, <see cref="bool"/> or <see cref="long"/>.</summary>
    public object Value { get; init; }

    /// <summary>The claim issuer, e.g. <c>AttestationService</c>.</summary>
    public string Issuer { get; init; }

    /// <summary>MAA value type name: <c>String</c>, <c>Integer</c> or <c>Boolean</c>.</summary>
    public string ValueType => ValueTypeName(Value);

    internal static string ValueTypeName(object value) => value switch
    {
        bool => "Boolean",
        long => "Integer",
        _ => "String",
    };

    internal static object NormalizeValue(object value) => value switch
    {
        string or bool or long => value,
        int i => (long)i,
        short s => (long)s,
        sbyte sb => (long)sb,
        byte b => (long)b,
        ushort us => (long)us,
        uint ui => (long)ui,
        _ => throw new ArgumentException(
            $"A policy claim value must be a string, bool or integer (long), not {value.GetType().Name}.", nameof(value)),
    };

    public override string ToString() => $"[type=\"{Type}\", value={FormatValue(Value)}, issuer=\"{Issuer}\"]";

    internal static string FormatValue(object value) => value switch
    {
        string s => "\"" + s + "\"",
        bool b => b ? "true" : "false",
        _ => value.ToString() ?? string.Empty,
    };
}
