namespace Confide.Ledger.Governance.Constitution;

/// <summary>What a script may do with <c>ccf.kv</c>.</summary>
public enum KvAccess
{
    /// <summary>Read public governance and internal maps (ballots, <c>validate</c>, <c>resolve</c>).</summary>
    ReadOnly,

    /// <summary>Also write the governance maps, <c>public:ccf.gov.*</c> (<c>apply</c>).</summary>
    ReadWrite,
}
