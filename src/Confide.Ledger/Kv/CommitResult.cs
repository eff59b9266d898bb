namespace Confide.Ledger.Kv;

/// <summary>How <see cref="Transaction.TryCommit"/> ended.</summary>
public enum CommitStatus
{
    /// <summary>The writes were applied at <see cref="CommitResult.Version"/>.</summary>
    Committed,

    /// <summary>Nothing was written; <see cref="CommitResult.Version"/> is the version the transaction read.</summary>
    ReadOnly,

    /// <summary>Something the transaction read changed since it started; nothing was applied. Run it again.</summary>
    Conflict,
}

/// <summary>The outcome of a commit attempt.</summary>
public sealed class CommitResult
{
    private CommitResult(CommitStatus status, long version, WriteSet? writeSet, string? conflictingMap, byte[]? conflictingKey, string? reason)
    {
        Status = status;
        Version = version;
        WriteSet = writeSet;
        ConflictingMap = conflictingMap;
        ConflictingKey = conflictingKey;
        Reason = reason;
    }

    /// <summary>Committed, read-only or conflict.</summary>
    public CommitStatus Status { get; }

    /// <summary>
    /// Committed: the new version. Read-only: the version read (the last write it could have seen).
    /// Conflict: the version the transaction had read.
    /// </summary>
    public long Version { get; }

    /// <summary>The applied changes when committed; null otherwise (read-only transactions produce none).</summary>
    public WriteSet? WriteSet { get; }

    /// <summary>On conflict, the map whose change caused it (null if the whole snapshot is gone).</summary>
    public string? ConflictingMap { get; }

    /// <summary>On conflict, the key read that changed, or null when an enumerated map changed.</summary>
    public byte[]? ConflictingKey { get; }

    /// <summary>On conflict, why, in words.</summary>
    public string? Reason { get; }

    internal static CommitResult Committed(long version, WriteSet writeSet) => new(CommitStatus.Committed, version, writeSet, null, null, null);

    internal static CommitResult ReadOnly(long readVersion) => new(CommitStatus.ReadOnly, readVersion, null, null, null, null);

    internal static CommitResult Conflict(long readVersion, string? map, byte[]? key, string reason) => new(CommitStatus.Conflict, readVersion, null, map, key, reason);
}
