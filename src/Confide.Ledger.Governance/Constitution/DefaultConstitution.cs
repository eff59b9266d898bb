namespace Confide.Ledger.Governance.Constitution;

/// <summary>
/// The constitution a service starts with unless it brings its own, modelled on the behaviour of
/// CCF's <c>samples/constitutions/default</c>: member, user, node, code-id, service and constitution
/// actions, each validating its arguments; a proposal passes when a strict majority of active
/// members votes for it and fails when a strict majority votes against.
/// </summary>
public static class DefaultConstitution
{
    /// <summary>The modules, in the order they are concatenated (later ones use what <c>actions.js</c> defines).</summary>
    public static IReadOnlyList<string> ModuleNames { get; } = ["actions.js", "validate.js", "resolve.js", "apply.js"];

    /// <summary>The whole constitution: the modules concatenated into one, as CCF stores a constitution.</summary>
    public static string Text { get; } = string.Join("\n", ModuleNames.Select(ReadModule));

    /// <summary>One module's source.</summary>
    public static string ReadModule(string name)
    {
        string resource = $"Confide.Ledger.Governance.Constitution.{name}";
        using Stream stream = typeof(DefaultConstitution).Assembly.GetManifestResourceStream(resource)
            ?? throw new ArgumentException($"The default constitution has no module '{name}'.", nameof(name));
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
