namespace Confide.Deploy.Values;

/// <summary>One refusal of a values file: the field's dotted path (<c>services.inference.replicas</c>) and why.</summary>
public sealed record ValuesError(string Field, string Message, int? Line = null)
{
    public override string ToString() => Line is { } line ? $"line {line}: {Field}: {Message}" : $"{Field}: {Message}";
}

/// <summary>A values file that cannot be deployed; <see cref="Errors"/> names every bad field.</summary>
public sealed class DeployValuesException : Exception
{
    public DeployValuesException(IReadOnlyList<ValuesError> errors)
        : base(Describe(errors))
    {
        Errors = errors;
    }

    public IReadOnlyList<ValuesError> Errors { get; }

    private static string Describe(IReadOnlyList<ValuesError> errors) =>
        errors.Count == 1
            ? $"Invalid values: {errors[0]}"
            : $"Invalid values ({errors.Count} errors):{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", errors);
}
