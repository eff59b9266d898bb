using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Confide.Ledger.Merkle;

namespace Confide.Ledger.Ledger;

/// <summary>
/// CCF's commit evidence, <c>ce:&lt;view&gt;.&lt;seqno&gt;:&lt;64 hex&gt;</c>: a per-transaction nonce
/// derived from the ledger secret. Only its digest goes into the ledger; a node reveals the string in
/// a receipt once the transaction is committed, so a receipt proves commitment, not mere appending.
/// </summary>
public sealed class CommitEvidence
{
    private const string Prefix = "ce:";
    private const int NonceHexLength = 64;

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    private CommitEvidence(TxId txId, string value)
    {
        TxId = txId;
        Value = value;
    }

    /// <summary>The transaction it is the evidence of.</summary>
    public TxId TxId { get; }

    /// <summary>The string form, <c>ce:view.seqno:hex</c>.</summary>
    public string Value { get; }

    /// <summary>SHA-256 of the UTF-8 string: the digest recorded in the entry and hashed into the leaf.</summary>
    public Sha256Hash Digest => Sha256Hash.Compute(Encoding.UTF8.GetBytes(Value));

    /// <summary>The evidence for <paramref name="txId"/> under <paramref name="secret"/> (CCF's derivation).</summary>
    public static CommitEvidence Create(LedgerSecret secret, TxId txId)
    {
        ArgumentNullException.ThrowIfNull(secret);
        byte[] nonce = secret.ComputeCommitNonce(txId);
        return new CommitEvidence(txId, $"{Prefix}{txId}:{Convert.ToHexStringLower(nonce)}");
    }

    /// <summary>Parses the string form.</summary>
    /// <exception cref="FormatException">Not <c>ce:view.seqno:&lt;64 lower-case hex&gt;</c>.</exception>
    public static CommitEvidence Parse(string value) =>
        TryParse(value, out CommitEvidence? evidence) ? evidence : throw new FormatException($"'{value}' is not commit evidence (ce:view.seqno:<64 hex>).");

    /// <summary>Parses the string form; false for anything else.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out CommitEvidence? evidence)
    {
        evidence = null;
        if (value is null || !value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        int colon = value.LastIndexOf(':');
        string nonce = value[(colon + 1)..];
        if (colon < Prefix.Length || nonce.Length != NonceHexLength || nonce.AsSpan().IndexOfAnyExcept(LowerHex) >= 0)
        {
            return false;
        }

        if (!TxId.TryParse(value[Prefix.Length..colon], out TxId txId))
        {
            return false;
        }

        evidence = new CommitEvidence(txId, value);
        return true;
    }

    /// <summary>True when <paramref name="secret"/> produces this evidence (compared in constant time).</summary>
    public bool IsProducedBy(LedgerSecret secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        byte[] expected = Encoding.ASCII.GetBytes(Create(secret, TxId).Value);
        byte[] actual = Encoding.ASCII.GetBytes(Value);
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }

    /// <summary>The string form.</summary>
    public override string ToString() => Value;
}
