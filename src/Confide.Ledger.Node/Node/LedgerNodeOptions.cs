using System.Security.Cryptography.X509Certificates;
using Confide.Ledger.Ledger;

namespace Confide.Ledger.Node;

/// <summary>What a ledger node needs besides its consensus: its keys, the service's, and where its ledger lives.</summary>
public sealed class LedgerNodeOptions
{
    /// <summary>The ledger directory (chunk files).</summary>
    public required string LedgerDirectory { get; init; }

    /// <summary>The secret private maps are encrypted with in the ledger, shared by the service's trusted nodes.</summary>
    public required LedgerSecret LedgerSecret { get; init; }

    /// <summary>This node's signing key and certificate (endorsed by the service identity).</summary>
    public required LedgerSigner Signer { get; init; }

    /// <summary>The service identity: every signature's certificate must be issued by it.</summary>
    public required X509Certificate2 ServiceCertificate { get; init; }

    /// <summary>
    /// The service identity's private key: with it the leader also signs each Merkle root as CCF's
    /// COSE ledger signature ("Dual" signing), from which COSE receipts are made. Null: JSON
    /// receipts only.
    /// </summary>
    public System.Security.Cryptography.ECDsa? ServiceKey { get; init; }

    /// <summary>The CWT issuer (<c>iss</c>) of the COSE ledger signatures (CCF's <c>cose_signatures.issuer</c>).</summary>
    public string CoseIssuer { get; init; } = "confide.ledger";

    /// <summary>A signature transaction after this many transactions (CCF's ledger_signatures.tx_count)...</summary>
    public int SignatureTxInterval { get; init; } = 5000;

    /// <summary>...or this long after the first unsigned one (CCF's ledger_signatures.delay), whichever comes first.</summary>
    public TimeSpan SignatureDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Added to the consensus term to make the view: views start at 1, and a recovered service continues above the old ledger's.</summary>
    public long ViewOffset { get; init; } = 1;

    /// <summary>
    /// A recovered service's history: the entries of the restored ledger up to this seqno were
    /// committed by the previous service (its last signature) and count as applied and committed,
    /// though no consensus log replays them. 0 for a service's own nodes.
    /// </summary>
    public long RecoveredSeqno { get; init; }

    /// <summary>Identities of the service before its recoveries: their nodes' signatures in the ledger are accepted.</summary>
    public IReadOnlyList<X509Certificate2> PreviousServiceCertificates { get; init; } = [];

    /// <summary>
    /// CCF's service endorsements, parallel to <see cref="PreviousServiceCertificates"/> (the i-th
    /// certifies the i-th previous identity's key, issued by the next identity): receipts signed by
    /// nodes of a previous identity carry the chain up to the current one.
    /// </summary>
    public IReadOnlyList<X509Certificate2> ServiceEndorsements { get; init; } = [];

    /// <summary>Where the node writes its snapshots and starts from the latest one; null: no snapshots.</summary>
    public string? SnapshotDirectory { get; init; }

    /// <summary>A snapshot at the first committed signature this many transactions after the last one (CCF's snapshots.tx_count); 0: never.</summary>
    public long SnapshotTxInterval { get; init; } = 10_000;

    /// <summary>Chunk size of the ledger files.</summary>
    public long ChunkSize { get; init; } = 5 * 1024 * 1024;
}
