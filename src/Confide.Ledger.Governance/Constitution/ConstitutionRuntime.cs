using System.Collections.Concurrent;
using Acornima;
using Confide.Ledger.Kv;
using Jint;
using Jint.Native;
using Jint.Native.Object;
using Jint.Runtime;
using AstModule = Acornima.Ast.Module;

namespace Confide.Ledger.Governance.Constitution;

/// <summary>
/// Runs the constitution's <c>validate</c>, <c>resolve</c> and <c>apply</c> and members' ballots
/// (<c>vote</c>) in a Jint sandbox over a Kv <see cref="Transaction"/>, as CCF runs them in QuickJS.
/// </summary>
/// <remarks>
/// Every run gets a fresh engine: no state survives from one script to the next. The sandbox has
/// no CLR access (interop disabled, nothing but plain functions handed in), no <c>eval</c> or
/// <c>Function</c>, no module imports (<see cref="NoImports"/>), and stops a run at <see cref="Limits"/>. The store is
/// read-only except during <see cref="Apply"/>, whose writes reach the transaction only if it
/// returns normally.
/// </remarks>
public sealed class ConstitutionRuntime
{
    /// <summary>The name CCF gives the constitution in traces.</summary>
    public const string ConstitutionSourceName = "public:ccf.gov.constitution[0]";

    private const int MaxCachedModules = 256;
    private static readonly ConcurrentDictionary<(string Name, string Source), Prepared<AstModule>> Modules = new();

    /// <summary>A runtime with the given limits (<see cref="SandboxLimits.Default"/> if none).</summary>
    public ConstitutionRuntime(SandboxLimits? limits = null)
    {
        Limits = limits ?? SandboxLimits.Default;
    }

    /// <summary>What one run may spend.</summary>
    public SandboxLimits Limits { get; }

    /// <summary>
    /// Runs the default constitution's validate and resolve, and a ballot, once, on a throw-away
    /// store, with no time limit. The time limit is wall-clock time, and the first run in a process
    /// also pays for compiling Jint's interpreter: a node calls this at start so that the first
    /// member's proposal is not refused for the runtime's warm-up (CCF's QuickJS has none).
    /// </summary>
    /// <exception cref="ScriptException">The default constitution failed, which the tests would have caught.</exception>
    public static void WarmUp()
    {
        var runtime = new ConstitutionRuntime(SandboxLimits.Default with { Timeout = TimeSpan.FromMinutes(1) });
        Transaction transaction = new Store().BeginTransaction();
        const string proposal = """{"actions":[{"name":"set_recovery_threshold","args":{"recovery_threshold":1}}]}""";
        ValidationResult validation = runtime.Validate(transaction, DefaultConstitution.Text, proposal);
        bool inFavour = runtime.Vote(transaction, "export function vote (proposal, proposerId) { return JSON.parse(proposal).actions.length > 0 }", proposal, "warm-up");
        string state = runtime.Resolve(transaction, DefaultConstitution.Text, proposal, "warm-up", [new BallotVote("warm-up", inFavour)], "warm-up");
        if (!validation.Valid || !inFavour || state is not ("Open" or "Accepted" or "Rejected"))
        {
            // A warm-up that no longer runs the paths proposals take would warm nothing.
            throw new ScriptException(ScriptFailureKind.Invalid, $"The warm-up proposal was not handled as expected: valid {validation.Valid} ({validation.Description}), ballot {inFavour}, resolved {state}.");
        }
    }

    /// <summary>Runs <c>validate(proposal)</c> with a read-only store.</summary>
    /// <exception cref="ScriptException">It threw, did not return an object, or hit a limit.</exception>
    public ValidationResult Validate(Transaction transaction, string constitution, string proposal) =>
        Run(transaction, KvAccess.ReadOnly, constitution, ConstitutionSourceName, "validate", [proposal], result =>
        {
            if (!result.IsObject())
            {
                throw new ScriptException(ScriptFailureKind.InvalidResult, "validate() must return an object {valid, description}.");
            }

            ObjectInstance outcome = result.AsObject();
            JsValue description = outcome.Get("description");
            return new ValidationResult(outcome.Get("valid") is JsBoolean { } valid && valid.AsBoolean(), description.IsString() ? description.AsString() : "");
        });

    /// <summary>
    /// Runs <c>resolve(proposal, proposerId, votes, proposalId)</c> with a read-only store and
    /// returns what it returned: "Open", "Accepted" or "Rejected" for a well-behaved constitution.
    /// </summary>
    /// <exception cref="ScriptException">It threw, returned something other than a string, or hit a limit.</exception>
    public string Resolve(Transaction transaction, string constitution, string proposal, string proposerId, IReadOnlyList<BallotVote> votes, string proposalId)
    {
        ArgumentNullException.ThrowIfNull(votes);
        return Run(transaction, KvAccess.ReadOnly, constitution, ConstitutionSourceName, "resolve", engine => [proposal, proposerId, VotesArray(engine, votes), proposalId], result =>
            result.IsString() ? result.AsString() : throw new ScriptException(ScriptFailureKind.InvalidResult, $"resolve() returned invalid status value: {result}"));
    }

    /// <summary>
    /// Runs <c>apply(proposal, proposalId)</c> with a writable store; its writes are added to
    /// <paramref name="transaction"/> only if it returns normally.
    /// </summary>
    /// <exception cref="ScriptException">It threw or hit a limit; the transaction is then untouched by it.</exception>
    public void Apply(Transaction transaction, string constitution, string proposal, string proposalId)
    {
        var kv = new ScriptKv(transaction, KvAccess.ReadWrite, "apply()");
        Run(kv, constitution, ConstitutionSourceName, "apply", _ => [proposal, proposalId], _ => true);
        kv.Flush();
    }

    /// <summary>Runs a ballot's <c>vote(proposal, proposerId)</c> with a read-only store: true only when it returns <c>true</c>.</summary>
    /// <param name="sourceName">How the ballot is named in traces.</param>
    /// <exception cref="ScriptException">It threw or hit a limit.</exception>
    public bool Vote(Transaction transaction, string ballot, string proposal, string proposerId, string sourceName = "ballot") =>
        Run(transaction, KvAccess.ReadOnly, ballot, sourceName, "vote", [proposal, proposerId], result => result is JsBoolean && result.AsBoolean());

    private T Run<T>(Transaction transaction, KvAccess access, string source, string sourceName, string function, JsValue[] arguments, Func<JsValue, T> interpret) =>
        Run(transaction, access, source, sourceName, function, _ => arguments, interpret);

    private T Run<T>(Transaction transaction, KvAccess access, string source, string sourceName, string function, Func<Engine, JsValue[]> arguments, Func<JsValue, T> interpret)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return Run(new ScriptKv(transaction, access, $"{function}()"), source, sourceName, function, arguments, interpret);
    }

    private T Run<T>(ScriptKv kv, string source, string sourceName, string function, Func<Engine, JsValue[]> arguments, Func<JsValue, T> interpret)
    {
        ArgumentNullException.ThrowIfNull(source);
        Prepared<AstModule> module = Prepare(source, sourceName);
        using Engine engine = CreateEngine();
        try
        {
            CcfBindings.Install(engine, kv);
            engine.Modules.Add("main", builder => builder.AddModule(module));

            // The limits count from here: the module's top level and the call together.
            engine.Constraints.Reset();
            ObjectInstance exports = engine.Modules.Import("main");
            JsValue entry = exports.Get(function);
            if (!entry.IsCallable())
            {
                throw new ScriptException(ScriptFailureKind.Invalid, $"{sourceName} does not export a function {function}.");
            }

            return interpret(engine.Call(entry, arguments(engine)));
        }
        catch (JavaScriptException ex)
        {
            throw new ScriptException(ScriptFailureKind.Threw, Describe(ex), ex.JavaScriptStackTrace, ex);
        }
        catch (StatementsCountOverflowException ex)
        {
            throw new ScriptException(ScriptFailureKind.StatementLimit, $"{function}() was stopped after {Limits.MaxStatements} statements, the sandbox's limit.", inner: ex);
        }
        catch (TimeoutException ex)
        {
            throw new ScriptException(ScriptFailureKind.TimeLimit, $"Operation took too long to complete: {function}() was stopped after {Limits.Timeout.TotalMilliseconds} ms, the sandbox's limit.", inner: ex);
        }
        catch (MemoryLimitExceededException ex)
        {
            throw new ScriptException(ScriptFailureKind.MemoryLimit, $"{function}() was stopped after allocating more than {Limits.MaxMemoryBytes} bytes, the sandbox's limit.", inner: ex);
        }
        catch (RecursionDepthOverflowException ex)
        {
            throw new ScriptException(ScriptFailureKind.RecursionLimit, $"{function}() was stopped at a call depth of {Limits.MaxRecursionDepth}, the sandbox's limit ({ex.CallChain}).", inner: ex);
        }
        catch (ImportRefusedException ex)
        {
            throw new ScriptException(ScriptFailureKind.Invalid, $"{sourceName} imports '{ex.Specifier}'; governance scripts cannot import modules.", inner: ex);
        }
        catch (PromiseRejectedException ex)
        {
            throw new ScriptException(ScriptFailureKind.Threw, $"{function}() rejected: {ex.RejectedValue}", inner: ex);
        }
    }

    private Engine CreateEngine() => new(options =>
    {
        options.Strict();
        options.MaxStatements(Limits.MaxStatements);
        options.TimeoutInterval(Limits.Timeout);
        options.LimitMemory(Limits.MaxMemoryBytes);
        options.LimitRecursion(Limits.MaxRecursionDepth);
        options.Constraints.RegexTimeout = Limits.Timeout;
        options.Constraints.MaxArraySize = Limits.MaxArraySize;

        // No eval or new Function (code the limits' authors never saw), and no CLR objects.
        options.DisableStringCompilation();
        options.Interop.Enabled = false;
        options.EnableModules(NoImports.Instance);
    });

    private static Prepared<AstModule> Prepare(string source, string sourceName)
    {
        if (Modules.TryGetValue((sourceName, source), out Prepared<AstModule> cached))
        {
            return cached;
        }

        Prepared<AstModule> module;
        try
        {
            module = Engine.PrepareModule(source, sourceName);
        }
        catch (Exception ex) when (ex is ScriptPreparationException or ParseErrorException)
        {
            throw new ScriptException(ScriptFailureKind.Invalid, $"{sourceName} does not parse as a JavaScript module: {ex.Message}", inner: ex);
        }

        // Constitutions change rarely and ballots are few; a full cache is simply started afresh.
        if (Modules.Count >= MaxCachedModules)
        {
            Modules.Clear();
        }

        Modules.TryAdd((sourceName, source), module);
        return module;
    }

    private static JsArray VotesArray(Engine engine, IReadOnlyList<BallotVote> votes)
    {
        var items = new JsValue[votes.Count];
        for (int i = 0; i < votes.Count; i++)
        {
            var vote = new JsObject(engine);
            vote.FastSetDataProperty("member_id", votes[i].MemberId);
            vote.FastSetDataProperty("vote", votes[i].Vote);
            items[i] = vote;
        }

        return new JsArray(engine, items);
    }

    private static string Describe(JavaScriptException exception)
    {
        // An Error reads as CCF reports it, "TypeError: message"; anything else thrown as itself.
        if (exception.Error is ObjectInstance error && error.Get("message") is JsString message)
        {
            JsValue name = error.Get("name");
            return name.IsString() ? $"{name.AsString()}: {message}" : message.ToString();
        }

        return exception.Message;
    }
}
