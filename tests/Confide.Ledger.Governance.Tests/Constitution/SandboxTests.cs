using System.Diagnostics;
using Confide.Ledger.Governance.Constitution;
using Confide.Ledger.Kv;

namespace Confide.Ledger.Governance.Tests.Constitution;

/// <summary>
/// The Jint sandbox of <see cref="ConstitutionRuntime"/>: runaway scripts are stopped quickly with
/// a clear reason, and scripts reach nothing but the <c>ccf</c> bindings.
/// </summary>
public sealed class SandboxTests
{
    private const string Proposal = """{"actions":[]}""";
    private readonly Store _store = new();
    // The default limits, but for time: on a busy machine the 1 s time limit could stop a script
    // before the limit a test is about (statements, memory, recursion). The time limit has its own test.
    private readonly ConstitutionRuntime _runtime = new(new SandboxLimits { Timeout = TimeSpan.FromSeconds(30) });

    [Fact]
    public void BallotThatLoopsForever_IsStoppedAtTheStatementLimit()
    {
        var clock = Stopwatch.StartNew();

        ScriptException stopped = Assert.Throws<ScriptException>(() => Vote("export function vote() { while (true) {} }"));

        Assert.Equal(ScriptFailureKind.StatementLimit, stopped.Kind);
        Assert.Equal("vote() was stopped after 1000000 statements, the sandbox's limit.", stopped.Reason);
        AssertPrompt(clock.Elapsed);
    }

    [Fact]
    public void BallotThatAllocatesHugely_IsStoppedAtTheMemoryLimit()
    {
        var clock = Stopwatch.StartNew();

        ScriptException stopped = Assert.Throws<ScriptException>(() => Vote("""
            export function vote() {
              const hoard = [];
              for (;;) { hoard.push(new Array(100000).fill(1.5)); }
            }
            """));

        Assert.Equal(ScriptFailureKind.MemoryLimit, stopped.Kind);
        Assert.Contains("allocating more than 67108864 bytes", stopped.Reason, StringComparison.Ordinal);
        AssertPrompt(clock.Elapsed);
    }

    [Fact]
    public void WarmUp_RunsTheDefaultConstitutionWithoutFailing()
    {
        // Nodes call it at start; it throws if the default constitution stops accepting what it runs.
        ConstitutionRuntime.WarmUp();
        ConstitutionRuntime.WarmUp();
    }

    [Fact]
    public void BallotThatRunsTooLong_IsStoppedAtTheTimeLimit()
    {
        var runtime = new ConstitutionRuntime(new SandboxLimits { MaxStatements = int.MaxValue, Timeout = TimeSpan.FromMilliseconds(200) });

        ScriptException stopped = Assert.Throws<ScriptException>(() => runtime.Vote(_store.BeginTransaction(), "export function vote() { for (;;) {} }", Proposal, "proposer"));

        Assert.Equal(ScriptFailureKind.TimeLimit, stopped.Kind);
        Assert.StartsWith("Operation took too long to complete", stopped.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void BallotThatRecursesWithoutEnd_IsStoppedAtTheRecursionLimit()
    {
        ScriptException stopped = Assert.Throws<ScriptException>(() => Vote("function down(n) { return down(n + 1); } export function vote() { return down(0); }"));

        Assert.Equal(ScriptFailureKind.RecursionLimit, stopped.Kind);
    }

    [Fact]
    public void Scripts_CannotReachTheClr_NorCompileStrings()
    {
        bool vote = Vote("""
            export function vote() {
              const reached = [];
              for (const name of ["System", "importNamespace", "clrHelper", "host", "require", "process", "Jint"]) {
                if (typeof globalThis[name] !== "undefined") { reached.push(name); }
              }
              const attempts = {
                Function: () => new Function("return 1")(),
                eval: () => eval("1"),
                constructor: () => ccf.strToBuf.constructor("return 1")(),
              };
              for (const [name, attempt] of Object.entries(attempts)) {
                try { attempt(); reached.push(name); } catch (e) { }
              }
              for (const native of [ccf.strToBuf, ccf.kv["public:ccf.gov.users.certs"].get]) {
                if (native.GetType !== undefined || native.ToString !== undefined || native.Method !== undefined) {
                  reached.push("CLR member");
                }
              }
              if (reached.length > 0) { throw new Error("reached " + reached.join(", ")); }
              return true;
            }
            """);

        Assert.True(vote);
    }

    [Fact]
    public void ClrNamespace_IsNotDefined()
    {
        ScriptException stopped = Assert.Throws<ScriptException>(() => Vote("export function vote() { return System.IO.File.Exists('/etc/hostname'); }"));

        Assert.Equal(ScriptFailureKind.Threw, stopped.Kind);
        Assert.Equal("ReferenceError: System is not defined", stopped.Reason);
    }

    [Fact]
    public void Imports_AreRefused()
    {
        ScriptException stopped = Assert.Throws<ScriptException>(() => Vote("import * as fs from 'fs'; export function vote() { return true; }"));

        Assert.Equal(ScriptFailureKind.Invalid, stopped.Kind);
        Assert.Contains("cannot import modules", stopped.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void SyntaxError_IsReportedAsInvalid()
    {
        ScriptException stopped = Assert.Throws<ScriptException>(() => Vote("export function vote( { return true; }"));

        Assert.Equal(ScriptFailureKind.Invalid, stopped.Kind);
        Assert.Contains("does not parse", stopped.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingVoteFunction_IsReportedAsInvalid()
    {
        ScriptException stopped = Assert.Throws<ScriptException>(() => Vote("export function ballot() { return true; }"));

        Assert.Equal(ScriptFailureKind.Invalid, stopped.Kind);
        Assert.Contains("does not export a function vote", stopped.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Ballots_CannotWriteTheStore()
    {
        ScriptException stopped = Assert.Throws<ScriptException>(() => Vote("""
            export function vote() {
              ccf.kv["public:ccf.gov.users.certs"].set(ccf.strToBuf("k"), ccf.strToBuf("v"));
              return true;
            }
            """));

        Assert.Equal("TypeError: Cannot write to map 'public:ccf.gov.users.certs': the store is read-only during vote().", stopped.Reason);
    }

    [Fact]
    public void Scripts_CannotSeeApplicationMaps()
    {
        Transaction tx = _store.BeginTransaction();
        tx.GetMap("records").PutString("secret", "s3cret");
        tx.GetMap("public:records").PutString("k", "v");
        tx.TryCommit();

        foreach (string map in new[] { "records", "public:records" })
        {
            ScriptException stopped = Assert.Throws<ScriptException>(() => Vote($"export function vote() {{ return ccf.kv[\"{map}\"].has(ccf.strToBuf(\"k\")); }}"));
            Assert.Contains($"Map '{map}' is not accessible to governance scripts", stopped.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Ballots_ReadTheStoreThroughCcfKv()
    {
        Transaction tx = _store.BeginTransaction();
        tx.GetMap(GovernanceMaps.UserInfo).PutString("u1", """{"user_data":{"role":"auditor"}}""");
        tx.TryCommit();

        bool vote = Vote("""
            export function vote(proposal, proposerId) {
              const users = ccf.kv["public:ccf.gov.users.info"];
              let seen = 0;
              users.forEach((value, key) => { seen++; });
              const info = ccf.bufToJsonCompatible(users.get(ccf.strToBuf("u1")));
              return seen === 1 && info.user_data.role === "auditor" && users.get(ccf.strToBuf("nobody")) === undefined
                && proposerId === "proposer" && JSON.parse(proposal).actions.length === 0;
            }
            """);

        Assert.True(vote);
    }

    [Fact]
    public void Apply_WritesReachTheTransaction_OnlyIfItReturns()
    {
        const string constitution = """
            export function apply(proposal, proposalId) {
              const map = ccf.kv["public:ccf.gov.test"];
              map.set(ccf.strToBuf("a"), ccf.jsonCompatibleToBuf({ id: proposalId }));
              map.set(ccf.strToBuf("b"), ccf.strToBuf("doomed"));
              map.delete(ccf.strToBuf("b"));
              let keys = [];
              map.forEach((v, k) => keys.push(ccf.bufToStr(k)));
              if (keys.join() !== "a") { throw new Error("read-your-writes broken: " + keys.join()); }
              if (JSON.parse(proposal).fail) { throw new Error("asked to fail"); }
            }
            """;
        Transaction tx = _store.BeginTransaction();

        ScriptException failed = Assert.Throws<ScriptException>(() => _runtime.Apply(tx, constitution, """{"fail":true}""", "p1"));
        Assert.Equal("Error: asked to fail", failed.Reason);
        Assert.Null(tx.GetMap("public:ccf.gov.test").GetString("a"));

        _runtime.Apply(tx, constitution, """{"fail":false}""", "p2");
        Assert.Equal("""{"id":"p2"}""", tx.GetMap("public:ccf.gov.test").GetString("a"));
        Assert.False(tx.GetMap("public:ccf.gov.test").Has("b"));
    }

    [Fact]
    public void Apply_CannotWriteOutsideTheGovernanceMaps()
    {
        ScriptException failed = Assert.Throws<ScriptException>(() => _runtime.Apply(_store.BeginTransaction(), """
            export function apply() { ccf.kv["public:ccf.internal.signatures"].set(new ArrayBuffer(8), new ArrayBuffer(1)); }
            """, "{}", "p"));

        Assert.Contains("governance writes only public:ccf.gov.* maps", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Converters_RoundTrip()
    {
        Assert.True(Vote("""
            export function vote() {
              const text = "héllo ✓";
              const json = { a: [1, "two", null], b: { c: true } };
              const digest = new Uint8Array(ccf.crypto.digest("SHA-256", ccf.strToBuf("abc")));
              return ccf.bufToStr(ccf.strToBuf(text)) === text
                && JSON.stringify(ccf.bufToJsonCompatible(ccf.jsonCompatibleToBuf(json))) === JSON.stringify(json)
                && ccf.strToBuf("abc").byteLength === 3
                && digest[0] === 0xba && digest[31] === 0xad
                && ccf.crypto.isValidX509CertBundle("not a certificate") === false;
            }
            """));
    }

    [Fact]
    public void BindingMisuse_IsATypeError()
    {
        ScriptException stopped = Assert.Throws<ScriptException>(() => Vote("export function vote() { return ccf.bufToStr('not a buffer'); }"));

        Assert.Equal("TypeError: ccf.bufToStr: argument 1 must be an ArrayBuffer", stopped.Reason);
    }

    // Typically under half a second; the bound only tells a stopped script from a hang on a busy machine.
    private static void AssertPrompt(TimeSpan elapsed) => Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");

    private bool Vote(string ballot) => _runtime.Vote(_store.BeginTransaction(), ballot, Proposal, "proposer");
}
