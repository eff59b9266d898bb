using System.Globalization;

namespace Confide.Inference.Tensors;

/// <summary>The kinds of value an inference parameter holds (the protocol's InferParameter oneof).</summary>
public enum InferenceParameterKind
{
    Bool,
    Int64,
    UInt64,
    Double,
    String,
}

/// <summary>
/// An inference parameter: a boolean, integer, double or string. Parameters the server does not
/// consume pass through to the response unchanged (docs/inference.md).
/// </summary>
public readonly record struct InferenceParameter
{
    private readonly long _int64;
    private readonly ulong _uint64;
    private readonly double _double;
    private readonly string? _string;

    private InferenceParameter(InferenceParameterKind kind, long int64 = 0, ulong uint64 = 0, double @double = 0, string? @string = null)
    {
        Kind = kind;
        _int64 = int64;
        _uint64 = uint64;
        _double = @double;
        _string = @string;
    }

    public InferenceParameterKind Kind { get; }

    public static InferenceParameter FromBool(bool value) => new(InferenceParameterKind.Bool, int64: value ? 1 : 0);

    public static InferenceParameter FromInt64(long value) => new(InferenceParameterKind.Int64, int64: value);

    public static InferenceParameter FromUInt64(ulong value) => new(InferenceParameterKind.UInt64, uint64: value);

    public static InferenceParameter FromDouble(double value) => new(InferenceParameterKind.Double, @double: value);

    public static InferenceParameter FromString(string value) => new(InferenceParameterKind.String, @string: value ?? throw new ArgumentNullException(nameof(value)));

    public bool BoolValue => Kind == InferenceParameterKind.Bool ? _int64 != 0 : throw WrongKind(InferenceParameterKind.Bool);

    public long Int64Value => Kind == InferenceParameterKind.Int64 ? _int64 : throw WrongKind(InferenceParameterKind.Int64);

    public ulong UInt64Value => Kind == InferenceParameterKind.UInt64 ? _uint64 : throw WrongKind(InferenceParameterKind.UInt64);

    public double DoubleValue => Kind == InferenceParameterKind.Double ? _double : throw WrongKind(InferenceParameterKind.Double);

    public string StringValue => Kind == InferenceParameterKind.String ? _string! : throw WrongKind(InferenceParameterKind.String);

    /// <summary>The value as a non-negative integer, whichever integer kind carries it; null for other kinds or negative values.</summary>
    public ulong? AsNonNegativeInteger() => Kind switch
    {
        InferenceParameterKind.Int64 when _int64 >= 0 => (ulong)_int64,
        InferenceParameterKind.UInt64 => _uint64,
        _ => null,
    };

    public override string ToString() => Kind switch
    {
        InferenceParameterKind.Bool => BoolValue ? "true" : "false",
        InferenceParameterKind.Int64 => _int64.ToString(CultureInfo.InvariantCulture),
        InferenceParameterKind.UInt64 => _uint64.ToString(CultureInfo.InvariantCulture),
        InferenceParameterKind.Double => _double.ToString("R", CultureInfo.InvariantCulture),
        _ => _string ?? string.Empty,
    };

    private InvalidOperationException WrongKind(InferenceParameterKind wanted) => new($"The parameter holds a {Kind}, not a {wanted}.");
}
