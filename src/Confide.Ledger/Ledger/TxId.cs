using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Confide.Ledger.Ledger;

/// <summary>
/// A transaction ID, <c>view.seqno</c>: the Raft term the entry was written in and its index in the
/// log (the store version). Written "2.23", as in CCF's <c>x-ms-ccf-transaction-id</c> header.
/// </summary>
/// <remarks>Ordered by view, then seqno. After an election a seqno can be reused in a higher view.</remarks>
public readonly record struct TxId : IComparable<TxId>
{
    /// <summary>A transaction ID.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative view or seqno.</exception>
    public TxId(long view, long seqno)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(view);
        ArgumentOutOfRangeException.ThrowIfNegative(seqno);
        View = view;
        Seqno = seqno;
    }

    /// <summary>The Raft term.</summary>
    public long View { get; }

    /// <summary>The log index (store version).</summary>
    public long Seqno { get; }

    /// <summary>Parses <c>view.seqno</c> (decimal digits only).</summary>
    /// <exception cref="FormatException">Anything else.</exception>
    public static TxId Parse(string text) =>
        TryParse(text, out TxId id) ? id : throw new FormatException($"'{text}' is not a transaction ID (view.seqno).");

    /// <summary>Parses <c>view.seqno</c> (decimal digits only, no sign, no spaces); false for anything else.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out TxId id)
    {
        id = default;
        int dot = text?.IndexOf('.', StringComparison.Ordinal) ?? -1;
        if (text is null || dot <= 0 || dot == text.Length - 1)
        {
            return false;
        }

        if (!TryParseDigits(text.AsSpan(0, dot), out long view) || !TryParseDigits(text.AsSpan(dot + 1), out long seqno))
        {
            return false;
        }

        id = new TxId(view, seqno);
        return true;
    }

    /// <summary><c>view.seqno</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{View}.{Seqno}");

    public int CompareTo(TxId other)
    {
        int byView = View.CompareTo(other.View);
        return byView != 0 ? byView : Seqno.CompareTo(other.Seqno);
    }

    public static bool operator <(TxId left, TxId right) => left.CompareTo(right) < 0;

    public static bool operator >(TxId left, TxId right) => left.CompareTo(right) > 0;

    public static bool operator <=(TxId left, TxId right) => left.CompareTo(right) <= 0;

    public static bool operator >=(TxId left, TxId right) => left.CompareTo(right) >= 0;

    private static bool TryParseDigits(ReadOnlySpan<char> digits, out long value)
    {
        value = 0;
        return digits.Length > 0
            && digits.IndexOfAnyExceptInRange('0', '9') < 0
            && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
