using System.Text.Json.Serialization;

namespace Confide.Ledger.Governance;

/// <summary>A member's status in <see cref="GovernanceMaps.MemberInfo"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MemberStatus>))]
public enum MemberStatus
{
    /// <summary>Added, but has not yet acknowledged a state digest: cannot propose, vote or withdraw.</summary>
    Accepted,

    /// <summary>Has acknowledged a state digest: takes part in governance.</summary>
    Active,
}
