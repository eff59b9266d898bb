using System.Text;
using System.Text.Json;
using Confide.Ledger.Kv;

namespace Confide.Ledger.Governance.Constitution;

/// <summary>The constitution's row in <see cref="GovernanceMaps.Constitution"/>.</summary>
public static class ConstitutionStore
{
    /// <summary>The stored constitution, or null when none is set.</summary>
    /// <remarks>
    /// CCF stores it JSON-serialised (a quoted string), which is what <see cref="Write"/> and the
    /// default <c>set_constitution</c> write; a row holding bare JavaScript is read as is.
    /// </remarks>
    public static string? Read(Transaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        byte[]? value = transaction.GetMap(GovernanceMaps.Constitution).Get(GovernanceMaps.SingletonKey);
        if (value is null)
        {
            return null;
        }

        if (value.Length > 0 && value[0] == (byte)'"')
        {
            try
            {
                return JsonSerializer.Deserialize<string>(value);
            }
            catch (JsonException)
            {
                // Not a JSON string after all: JavaScript that starts with a directive prologue.
            }
        }

        return Encoding.UTF8.GetString(value);
    }

    /// <summary>Sets the constitution (as CCF serialises it: a JSON string).</summary>
    public static void Write(Transaction transaction, string constitution)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(constitution);
        transaction.GetMap(GovernanceMaps.Constitution).Put(GovernanceMaps.SingletonKey, JsonSerializer.SerializeToUtf8Bytes(constitution));
    }
}
