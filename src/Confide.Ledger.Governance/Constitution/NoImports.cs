using Jint;
using Jint.Runtime.Modules;

namespace Confide.Ledger.Governance.Constitution;

/// <summary>
/// The module loader of the sandbox: a constitution or ballot is one self-contained module, so
/// every <c>import</c> is refused (nothing on disk or elsewhere can be pulled in).
/// </summary>
internal sealed class NoImports : IModuleLoader
{
    public static readonly NoImports Instance = new();

    public ResolvedSpecifier Resolve(string? referencingModuleLocation, ModuleRequest moduleRequest) =>
        new(moduleRequest, moduleRequest.Specifier, Uri: null, SpecifierType.Bare);

    public Module LoadModule(Engine engine, ResolvedSpecifier resolved) => throw new ImportRefusedException(resolved.ModuleRequest.Specifier);
}

/// <summary>A script tried to import <see cref="Specifier"/>.</summary>
internal sealed class ImportRefusedException(string specifier) : Exception($"Governance scripts cannot import modules ('{specifier}').")
{
    public string Specifier { get; } = specifier;
}
