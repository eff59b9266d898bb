namespace Confide.AttestationService.Policies;

/// <summary>The kinds of evidence the service attests, each with its own policy (the <c>{attestationType}</c> of the REST paths).</summary>
public enum AttestationType
{
    SgxEnclave,
    OpenEnclave,
    TdxVm,
}

public static class AttestationTypes
{
    public static IReadOnlyList<AttestationType> All { get; } = Enum.GetValues<AttestationType>();

    /// <summary>Parses a path segment such as <c>SgxEnclave</c> (case-insensitive, as Azure Attestation's routing is).</summary>
    public static bool TryParse(string? segment, out AttestationType type) =>
        Enum.TryParse(segment, ignoreCase: true, out type) && Enum.IsDefined(type) && !int.TryParse(segment, out _);

    /// <summary>The policy a type has until a tenant sets one: Azure Attestation's default for it.</summary>
    public static string DefaultPolicy(this AttestationType type) => type switch
    {
        AttestationType.TdxVm => DefaultPolicies.TdxVm,
        _ => DefaultPolicies.SgxEnclave,
    };
}
