using System.Collections;
using Confide.Enclave.Manifest;

namespace Confide.Enclave.Runtime;

/// <summary>
/// The enclave's own check of the environment it was started with: it does not rely on the host
/// having launched it through EnclaveHost. Variables that change how code is loaded are refused
/// (the enclave will not run); any other variable the manifest does not allow is withheld from
/// enclave code by removing it from the process environment.
/// </summary>
/// <remarks>
/// Under simulation this is best effort: a startup hook or preloaded library has already run by
/// the time managed code can look. A real TEE's loader (Gramine's measured manifest environment)
/// is what makes the environment trustworthy.
/// </remarks>
internal static class EnvironmentGuard
{
    public static void Enforce(EnclaveManifest manifest, bool underGramine)
    {
        var environment = new List<KeyValuePair<string, string>>();
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            environment.Add(new((string)entry.Key, entry.Value as string ?? string.Empty));
        }

        EnvironmentVerdict verdict = EnclaveEnvironment.Check(manifest, environment, underGramine);
        foreach (string name in verdict.Withheld)
        {
            Environment.SetEnvironmentVariable(name, null);
        }

        if (verdict.Refused.Count > 0)
        {
            throw new EnclaveEnvironmentException(
                $"The enclave refuses to start: its environment sets variables that change how code is loaded, which its manifest does not allow: {string.Join(", ", verdict.Refused)}.");
        }
    }
}

/// <summary>The enclave was started with an environment it must not run under.</summary>
public sealed class EnclaveEnvironmentException(string message) : Exception(message);
